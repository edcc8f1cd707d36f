package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/opsdeck/opsdeck/internal/monitor"
)

// A monitor's stored settings are nested JSON objects; these read them for
// the monitor's page and reach into them by dotted keys for the form.

// secretHeader matches header and variable names whose values are likely
// credentials; the monitor page shows their names only.
var secretHeader = regexp.MustCompile(`(?i)auth|token|key|secret|cookie|session|passw|signature|credential`)

// settingFacts are a monitor's check settings as its page lists them, with
// secrets hidden: viewers see the page too.
func settingFacts(m monitor.WithStatus) []fact {
	var stored map[string]any
	if decodeUseNumber(m.Settings, &stored) != nil {
		return nil
	}
	sp := specFor(m.Type)
	var out []fact
	for _, in := range sp.Inputs {
		if in.Kind == inJSON {
			for _, k := range slices.Sorted(maps.Keys(stored)) {
				out = append(out, fact{Label: k, Value: hiddenIfSecret(k, settingText(inputSpec{}, stored[k])), Mono: true})
			}
			continue
		}
		v := getPath(stored, in.Key)
		var text string
		switch in.Kind {
		case inCheck:
			b, ok := v.(bool)
			if !ok && in.OnlyWith != "" && getPath(stored, in.OnlyWith) != true {
				continue
			}
			text = "no"
			if ok && b || !ok && in.DefaultOn {
				text = "yes"
			}
		case inSecret:
			if s, _ := v.(string); s != "" {
				text = "set (hidden)"
			}
		case inHeaders, inEnv:
			mv, _ := v.(map[string]any)
			var lines []string
			sep := ": "
			if in.Kind == inEnv {
				sep = "="
			}
			for _, k := range slices.Sorted(maps.Keys(mv)) {
				lines = append(lines, k+sep+hiddenIfSecret(k, settingText(inputSpec{}, mv[k])))
			}
			text = strings.Join(lines, "\n")
		default:
			text = settingText(in, v)
		}
		if text == "" {
			continue
		}
		out = append(out, fact{Label: in.Label, Value: text, Mono: in.Mono || in.Kind == inHeaders || in.Kind == inEnv})
	}
	for _, k := range keptSettings(sp, stored) {
		out = append(out, fact{Label: k, Value: hiddenIfSecret(k, settingText(inputSpec{}, getPath(stored, k))), Mono: true})
	}
	return out
}

func hiddenIfSecret(name, v string) string {
	if v != "" && secretHeader.MatchString(name) {
		return "•••••• (hidden)"
	}
	return v
}

// decodeUseNumber decodes JSON keeping numbers as written.
func decodeUseNumber(b []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(dst); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("web: trailing data after JSON value")
	}
	return nil
}

// getPath, setPath and deletePath reach into nested settings by a dotted key.
func getPath(m map[string]any, key string) any {
	var cur any = m
	for _, k := range strings.Split(key, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func setPath(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, k := range parts[:len(parts)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = v
}

// deletePath removes a key and then any object it leaves empty.
func deletePath(m map[string]any, key string) {
	parent, last, nested := cutLast(key)
	if !nested {
		delete(m, key)
		return
	}
	sub, ok := getPath(m, parent).(map[string]any)
	if !ok {
		return
	}
	delete(sub, last)
	if len(sub) == 0 {
		deletePath(m, parent)
	}
}

func cutLast(key string) (parent, last string, nested bool) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "", key, false
	}
	return key[:i], key[i+1:], true
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = deepCopy(sub)
		}
		out[k] = v
	}
	return out
}
