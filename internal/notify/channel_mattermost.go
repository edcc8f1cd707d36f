package notify

import "context"

// Mattermost posts to a Mattermost incoming webhook with a coloured
// attachment holding the text and facts, and the links as Markdown.
type Mattermost struct {
	set chatSettings
	env env
}

var _ Channel = (*Mattermost)(nil)

func mattermostKind() Kind {
	return Kind{
		Name: "mattermost", Label: "Mattermost", Help: "Posts to a Mattermost incoming webhook.",
		Field:        chatFields("The incoming webhook's URL, https://mattermost.example/hooks/…."),
		AddressLabel: "Webhook URL", AddressHint: "Optional: a webhook of your own instead of the channel's.",
		build: func(raw []byte, e env) (Channel, error) {
			s, err := parseChat(raw)
			if err != nil {
				return nil, err
			}
			return &Mattermost{set: s, env: e}, nil
		},
		address: optionalURL,
	}
}

// Send implements Channel.
func (c *Mattermost) Send(ctx context.Context, d Delivery) error {
	m := d.Message
	var fields []map[string]any
	for _, f := range m.Fields {
		fields = append(fields, map[string]any{"title": f.Name, "value": f.Value, "short": len(f.Value) < 40})
	}
	text := m.Text
	if links := markdownLinks(m); links != "" {
		text += "\n\n" + links
	}
	att := map[string]any{"fallback": m.Title, "color": hexColor(m.Severity), "title": m.Title, "text": clip(text, 7000), "fields": fields}
	if m.URL != "" {
		att["title_link"] = m.URL
	}
	body := map[string]any{"text": clip(m.Title, 4000), "attachments": []any{att}}
	if c.set.Username != "" {
		body["username"] = c.set.Username
	}
	return postJSON(ctx, c.env.http, chatTarget(c.set, d), nil, body)
}
