package notify

import "context"

// Discord posts to a Discord webhook with one embed: title, description,
// colour by severity, facts as fields and links as Markdown.
type Discord struct {
	set chatSettings
	env env
}

var _ Channel = (*Discord)(nil)

func discordKind() Kind {
	return Kind{
		Name: "discord", Label: "Discord", Help: "Posts to a Discord channel webhook.",
		Field:        chatFields("The webhook's URL, https://discord.com/api/webhooks/…."),
		AddressLabel: "Webhook URL", AddressHint: "Optional: a webhook of your own instead of the channel's.",
		build: func(raw []byte, e env) (Channel, error) {
			s, err := parseChat(raw)
			if err != nil {
				return nil, err
			}
			return &Discord{set: s, env: e}, nil
		},
		address: optionalURL,
	}
}

// Send implements Channel. Lengths are cut to Discord's limits (title 256,
// description 4096, 25 fields of 256/1024), which it otherwise refuses.
func (c *Discord) Send(ctx context.Context, d Delivery) error {
	m := d.Message
	desc := m.Text
	if links := markdownLinks(m); links != "" {
		desc += "\n\n" + links
	}
	embed := map[string]any{"title": clip(m.Title, 256), "description": clip(desc, 4096), "color": severityColor(m.Severity)}
	if m.URL != "" {
		embed["url"] = m.URL
	}
	var fields []map[string]any
	for i, f := range m.Fields {
		if i == 25 {
			break
		}
		fields = append(fields, map[string]any{"name": clip(f.Name, 256), "value": clip(orDash(f.Value), 1024), "inline": len(f.Value) < 40})
	}
	if fields != nil {
		embed["fields"] = fields
	}
	body := map[string]any{"content": clip(m.Title, 2000), "embeds": []any{embed}, "allowed_mentions": map[string]any{"parse": []string{}}}
	if c.set.Username != "" {
		body["username"] = c.set.Username
	}
	return postJSON(ctx, c.env.http, chatTarget(c.set, d), nil, body)
}

// orDash stands in for an empty value where a service refuses empty ones.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
