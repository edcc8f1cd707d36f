package notify

import "context"

// Teams posts an Adaptive Card to a Microsoft Teams workflow ("Post to a
// channel when a webhook request is received") webhook.
type Teams struct {
	set chatSettings
	env env
}

var _ Channel = (*Teams)(nil)

func teamsKind() Kind {
	return Kind{
		Name: "teams", Label: "Microsoft Teams", Help: "Posts an Adaptive Card to a Teams workflow webhook (Workflows app: “Post to a channel when a webhook request is received”).",
		Field:        chatFields("The workflow's HTTP POST URL."),
		AddressLabel: "Webhook URL", AddressHint: "Optional: a workflow webhook of your own instead of the channel's.",
		build: func(raw []byte, e env) (Channel, error) {
			s, err := parseChat(raw)
			if err != nil {
				return nil, err
			}
			return &Teams{set: s, env: e}, nil
		},
		address: optionalURL,
	}
}

func teamsColor(sev string) string {
	switch sev {
	case "critical", "error":
		return "Attention"
	case "warning":
		return "Warning"
	case "info":
		return "Accent"
	}
	return "Default"
}

// Send implements Channel.
func (c *Teams) Send(ctx context.Context, d Delivery) error {
	m := d.Message
	body := []map[string]any{
		{"type": "TextBlock", "text": m.Title, "weight": "Bolder", "size": "Medium", "wrap": true, "color": teamsColor(m.Severity)},
	}
	if m.Text != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": m.Text, "wrap": true})
	}
	if len(m.Fields) > 0 {
		var facts []map[string]any
		for _, f := range m.Fields {
			facts = append(facts, map[string]any{"title": f.Name, "value": f.Value})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	var actions []map[string]any
	if m.URL != "" {
		actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": "Open in opsdeck", "url": m.URL})
	}
	for _, a := range m.Actions {
		actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": a.Label, "url": a.URL})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard", "version": "1.4", "body": body,
	}
	if actions != nil {
		card["actions"] = actions
	}
	payload := map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content":     card,
		}},
	}
	return postJSON(ctx, c.env.http, chatTarget(c.set, d), nil, payload)
}
