package notify

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Ntfy publishes to an ntfy topic (ntfy.sh or a self-hosted server) using
// ntfy's JSON publishing: title, message, priority, tags, click URL and
// "view" action buttons. JSON rather than headers keeps non-ASCII titles
// intact and leaves no header to inject into.
type Ntfy struct {
	set    ntfySettings
	server string // the topic URL without the topic
	topic  string
	env    env
}

var _ Channel = (*Ntfy)(nil)

type ntfySettings struct {
	URL      string `json:"url"`
	Token    string `json:"token"`
	Priority int    `json:"priority"`
}

var ntfyTopic = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func ntfyKind() Kind {
	return Kind{
		Name: "ntfy", Label: "ntfy", Help: "Publishes to an ntfy topic, for push notifications on phones and desktops.",
		Field: []SettingField{
			{Name: "url", Label: "Topic URL", Type: "url", Required: true, Hint: "The server and default topic, such as https://ntfy.sh/opsdeck-alerts."},
			{Name: "token", Label: "Access token", Type: "password", Secret: true, Hint: "Optional: a token for a protected topic (sent as Authorization: Bearer)."},
			{Name: "priority", Label: "Priority", Type: "number", Hint: "1 (min) to 5 (max); 0 or empty picks it from the severity (critical 5, error 4, warning 3, info 2)."},
		},
		AddressLabel: "Topic", AddressHint: "Optional: your own topic on the channel's server, letters, digits, - and _.",
		build: func(raw []byte, e env) (Channel, error) {
			var s ntfySettings
			if err := decodeSettings(raw, &s); err != nil {
				return nil, err
			}
			if err := checkHTTPURL("settings.url", s.URL); err != nil {
				return nil, err
			}
			u, _ := url.Parse(s.URL)
			path := strings.TrimSuffix(u.Path, "/")
			i := strings.LastIndexByte(path, '/')
			topic := path[i+1:]
			if !ntfyTopic.MatchString(topic) || u.RawQuery != "" || u.Fragment != "" {
				return nil, errSetting("settings.url", "must end in a topic name (letters, digits, - and _), such as https://ntfy.sh/opsdeck-alerts")
			}
			if s.Token != "" {
				if err := checkLine("settings.token", s.Token, true, 200); err != nil {
					return nil, err
				}
			}
			if s.Priority < 0 || s.Priority > 5 {
				return nil, errSetting("settings.priority", "must be from 1 to 5, or 0 for by severity")
			}
			u.Path = path[:i+1]
			return &Ntfy{set: s, server: u.String(), topic: topic, env: e}, nil
		},
		address: func(addr string) error {
			if addr != "" && !ntfyTopic.MatchString(addr) {
				return errSetting("address", "must be a topic name: 1 to 64 letters, digits, - and _")
			}
			return nil
		},
	}
}

func ntfyPriority(sev string) int {
	switch sev {
	case "critical":
		return 5
	case "error":
		return 4
	case "warning":
		return 3
	case "info":
		return 2
	}
	return 3
}

// Send implements Channel.
func (n *Ntfy) Send(ctx context.Context, d Delivery) error {
	m := d.Message
	topic := n.topic
	if d.Address != "" {
		topic = d.Address
	}
	prio := n.set.Priority
	if prio == 0 {
		prio = ntfyPriority(m.Severity)
	}
	body := map[string]any{"topic": topic, "title": m.Title, "message": clip(plainText(m, false), 4000), "priority": prio}
	if m.Severity != "" {
		body["tags"] = []string{m.Severity}
	}
	if m.URL != "" {
		body["click"] = m.URL
	}
	var actions []map[string]any
	for i, a := range m.Actions {
		if i == 3 { // ntfy allows three actions
			break
		}
		actions = append(actions, map[string]any{"action": "view", "label": a.Label, "url": a.URL, "clear": true})
	}
	if actions != nil {
		body["actions"] = actions
	}
	h := http.Header{}
	h.Set(HeaderIdempotencyKey, d.Key)
	if n.set.Token != "" {
		h.Set("Authorization", "Bearer "+n.set.Token)
	}
	return postJSON(ctx, n.env.http, n.server, h, body)
}
