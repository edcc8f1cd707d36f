package notify

import (
	"context"
	"strings"
)

// Slack posts to a Slack incoming webhook (and anything that speaks its
// format) with Block Kit: the title, the text, the facts and link buttons.
type Slack struct {
	set chatSettings
	env env
}

var _ Channel = (*Slack)(nil)

func slackKind() Kind {
	return Kind{
		Name: "slack", Label: "Slack", Help: "Posts to a Slack incoming webhook, or any service that accepts Slack's format.",
		Field:        chatFields("The incoming webhook's URL, https://hooks.slack.com/services/…."),
		AddressLabel: "Webhook URL", AddressHint: "Optional: a webhook to your own Slack channel instead of the channel's.",
		build: func(raw []byte, e env) (Channel, error) {
			s, err := parseChat(raw)
			if err != nil {
				return nil, err
			}
			return &Slack{set: s, env: e}, nil
		},
		address: optionalURL,
	}
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Send implements Channel.
func (s *Slack) Send(ctx context.Context, d Delivery) error {
	m := d.Message
	title := slackEscape(m.Title)
	if m.URL != "" {
		title = "<" + m.URL + "|" + title + ">"
	}
	blocks := []map[string]any{
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": clip("*"+title+"*\n"+slackEscape(m.Text), 3000)}},
	}
	if len(m.Fields) > 0 {
		var fs []map[string]any
		for i, f := range m.Fields {
			if i == 10 { // Slack's limit per section
				break
			}
			fs = append(fs, map[string]any{"type": "mrkdwn", "text": clip("*"+slackEscape(f.Name)+"*\n"+slackEscape(f.Value), 2000)})
		}
		blocks = append(blocks, map[string]any{"type": "section", "fields": fs})
	}
	if len(m.Actions) > 0 {
		var els []map[string]any
		for _, a := range m.Actions {
			els = append(els, map[string]any{"type": "button", "text": map[string]any{"type": "plain_text", "text": clip(a.Label, 75)}, "url": a.URL})
		}
		blocks = append(blocks, map[string]any{"type": "actions", "elements": els})
	}
	body := map[string]any{"text": clip(m.Title, 3000), "blocks": blocks}
	if s.set.Username != "" {
		body["username"] = s.set.Username
	}
	return postJSON(ctx, s.env.http, chatTarget(s.set, d), nil, body)
}
