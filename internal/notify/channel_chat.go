package notify

import (
	"strings"
	"unicode/utf8"
)

// chatSettings are the settings of the chat services' incoming webhooks
// (Slack, Mattermost, Discord, Teams): the webhook URL, which holds the
// service's token and so is kept secret, and an optional sender name.
type chatSettings struct {
	URL      string `json:"url"`
	Username string `json:"username"`
}

func chatFields(urlHint string) []SettingField {
	return []SettingField{
		{Name: "url", Label: "Webhook URL", Type: "password", Required: true, Secret: true, Hint: urlHint + " It holds the service's token, so it is not shown again after saving."},
		{Name: "username", Label: "Sender name", Type: "text", Hint: "Optional: the name posts appear under, where the service allows it."},
	}
}

func parseChat(raw []byte) (chatSettings, error) {
	var s chatSettings
	if err := decodeSettings(raw, &s); err != nil {
		return s, err
	}
	if err := checkHTTPURL("settings.url", s.URL); err != nil {
		return s, err
	}
	if err := checkLine("settings.username", s.Username, false, 80); err != nil {
		return s, err
	}
	return s, nil
}

// chatTarget is the URL a chat delivery goes to: the user's own webhook
// if their contact method has one, else the channel's.
func chatTarget(s chatSettings, d Delivery) string {
	if d.Address != "" {
		return d.Address
	}
	return s.URL
}

// clip cuts s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// markdownLinks renders action links as Markdown, one per line.
func markdownLinks(m Message) string {
	var parts []string
	if m.URL != "" {
		parts = append(parts, "[Open in opsdeck]("+m.URL+")")
	}
	for _, a := range m.Actions {
		parts = append(parts, "["+mdEscape(a.Label)+"]("+a.URL+")")
	}
	return strings.Join(parts, " · ")
}

// mdEscape keeps a label from closing a Markdown link early.
func mdEscape(s string) string {
	return strings.NewReplacer("[", "(", "]", ")").Replace(s)
}
