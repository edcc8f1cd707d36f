package web

import (
	"encoding/json"
	"regexp"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
)

// secretSetting matches check settings that hold credentials: passwords,
// tokens, SNMP communities, and headers or env entries named like them.
var secretSetting = regexp.MustCompile(`(?i)auth|token|key|secret|cookie|session|passw|signature|credential|community`)

// redactDefinition hides credentials in a definition from callers below
// operator: viewers may read what is monitored, not how to log in to it.
// Operators see everything, so a GET can be edited and PUT back.
func redactDefinition(role auth.Role, def monitor.Definition) monitor.Definition {
	if role.Allows(auth.RoleOperator) {
		return def
	}
	out := make(monitor.Definition, len(def))
	for k, raw := range def {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			out[k] = raw
			continue
		}
		b, err := json.Marshal(redactValue(k, v))
		if err != nil {
			continue
		}
		out[k] = b
	}
	return out
}

func redactValue(key string, v any) any {
	switch x := v.(type) {
	case string:
		if x != "" && secretSetting.MatchString(key) {
			return "[redacted]"
		}
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(k, e)
		}
	case []any:
		for i, e := range x {
			x[i] = redactValue(key, e)
		}
	}
	return v
}
