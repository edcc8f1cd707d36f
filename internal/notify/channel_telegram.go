package notify

import (
	"context"
	"errors"
	"html"
	"regexp"
	"strings"
)

// Telegram sends through a bot (sendMessage) as HTML, with the links as
// inline keyboard buttons.
type Telegram struct {
	set telegramSettings
	env env
}

var _ Channel = (*Telegram)(nil)

type telegramSettings struct {
	BotToken string `json:"bot_token"`
	ChatID   string `json:"chat_id"`
	BaseURL  string `json:"base_url"`
}

var (
	telegramToken = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$`)
	telegramChat  = regexp.MustCompile(`^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,64})$`)
)

func telegramKind() Kind {
	return Kind{
		Name: "telegram", Label: "Telegram", Help: "Sends through a Telegram bot; each user gives their chat id, or the channel posts to one group.",
		Field: []SettingField{
			{Name: "bot_token", Label: "Bot token", Type: "password", Required: true, Secret: true, Hint: "From @BotFather, such as 123456:ABC-DEF…; not shown again after saving."},
			{Name: "chat_id", Label: "Default chat id", Type: "text", Hint: "Optional: the group or channel team messages go to (a number, or @channelname)."},
			{Name: "base_url", Label: "API base URL", Type: "url", Hint: "Optional: another Bot API server; https://api.telegram.org when empty."},
		},
		AddressLabel: "Chat id", AddressHint: "Your chat id with the bot (a number; send /start to the bot, then ask an admin), or @channelname.", AddressRequired: true,
		build: func(raw []byte, e env) (Channel, error) {
			var s telegramSettings
			if err := decodeSettings(raw, &s); err != nil {
				return nil, err
			}
			if !telegramToken.MatchString(s.BotToken) {
				return nil, errSetting("settings.bot_token", "must look like 123456:ABC-DEF… as @BotFather gives it")
			}
			if s.ChatID != "" && !telegramChat.MatchString(s.ChatID) {
				return nil, errSetting("settings.chat_id", "must be a number or @channelname")
			}
			if s.BaseURL == "" {
				s.BaseURL = "https://api.telegram.org"
			} else if err := checkHTTPURL("settings.base_url", s.BaseURL); err != nil {
				return nil, err
			}
			s.BaseURL = strings.TrimSuffix(s.BaseURL, "/")
			return &Telegram{set: s, env: e}, nil
		},
		address: func(addr string) error {
			if !telegramChat.MatchString(addr) {
				return errSetting("address", "must be a chat id (a number) or @channelname")
			}
			return nil
		},
	}
}

// Send implements Channel.
func (t *Telegram) Send(ctx context.Context, d Delivery) error {
	m := d.Message
	chat := t.set.ChatID
	if d.Address != "" {
		chat = d.Address
	}
	if chat == "" {
		return permanent("notify: telegram: no chat id: give the channel a default chat id or the contact method one")
	}
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(m.Title) + "</b>")
	if m.Text != "" {
		b.WriteString("\n" + html.EscapeString(m.Text))
	}
	for _, f := range m.Fields {
		b.WriteString("\n<b>" + html.EscapeString(f.Name) + ":</b> " + html.EscapeString(f.Value))
	}
	var row []map[string]any
	if m.URL != "" {
		row = append(row, map[string]any{"text": "Open", "url": m.URL})
	}
	for _, a := range m.Actions {
		row = append(row, map[string]any{"text": a.Label, "url": a.URL})
	}
	body := map[string]any{"chat_id": chat, "text": clip(b.String(), 4096), "parse_mode": "HTML", "link_preview_options": map[string]any{"is_disabled": true}}
	if row != nil {
		body["reply_markup"] = map[string]any{"inline_keyboard": [][]map[string]any{row}}
	}
	err := postJSON(ctx, t.env.http, t.set.BaseURL+"/bot"+t.set.BotToken+"/sendMessage", nil, body)
	if err != nil {
		// The token is part of the URL: keep it out of logs and the outbox.
		msg := strings.ReplaceAll(err.Error(), t.set.BotToken, "(bot token)")
		var pe *PermanentError
		if errors.As(err, &pe) {
			return permanent("%s", msg)
		}
		return errors.New(msg)
	}
	return nil
}
