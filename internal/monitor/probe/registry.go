package probe

import (
	"encoding/json"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Types lists the check types New builds, for forms and help. The
// heartbeat type is not here: its verdict comes from pings, so the monitor
// package handles it itself.
func Types() []string { return []string{"http", "tcp", "tls", "dns", "ping", "snmp", "nagios"} }

// New builds a check of type typ from its settings, validating them. Errors
// are *valid.Error naming the field.
func New(typ string, raw json.RawMessage) (Check, error) {
	switch typ {
	case "http":
		return wrap(NewHTTP(raw))
	case "tcp":
		return wrap(NewTCP(raw))
	case "tls":
		return wrap(NewTLS(raw))
	case "dns":
		return wrap(NewDNS(raw))
	case "ping":
		return wrap(NewPing(raw))
	case "snmp":
		return wrap(NewSNMP(raw))
	case "nagios":
		return wrap(NewNagios(raw))
	}
	return nil, valid.Errorf("type", "unknown check type %q; one of %v", typ, Types())
}

// wrap turns a typed constructor's result into a Check, keeping a nil
// interface (not a typed nil) on error.
func wrap[T Check](c T, err error) (Check, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}
