package web

import (
	"strings"

	"github.com/opsdeck/opsdeck/internal/fleet"
)

// The monitor form is described here as data: each check type's inputs,
// the settings key each one fills, and how its text becomes a JSON value.
// The form, the reading of a posted form, the mapping of validation errors
// back to inputs and the settings shown on a monitor's page all follow the
// same description, so a new setting is one line here.

// inputKind says how a form input becomes a JSON value and back.
type inputKind int

const (
	inText    inputKind = iota // a string, trimmed when on one line
	inSecret                   // a string never shown back; left empty, the stored one is kept
	inNumber                   // a whole number
	inCheck                    // true or false
	inLines                    // a list of strings, one per line
	inHeaders                  // an object of strings, "Name: value" per line
	inEnv                      // an object of strings, "NAME=value" per line
	inEscaped                  // a string in which \r, \n, \t and \\ stand for control characters
	inJSON                     // the whole settings object as JSON, for types without inputs of their own
)

// inputSpec is one input of the monitor form.
type inputSpec struct {
	// Key is the definition key the input fills, dotted when nested
	// ("expect.status"); the check's validation errors name it.
	Key   string
	Label string
	Kind  inputKind
	// Control is the HTML control: text, url, number, password, textarea,
	// select or checkbox.
	Control     string
	Hint        string
	Placeholder string
	// Needed marks what the check cannot do without. It drops the
	// "(optional)" mark but not the browser's required check, as the
	// sections of the other types are in the same form.
	Needed bool
	// Options are a select's choices; Default is the value that is the
	// same as leaving the setting out.
	Options []typeChoice
	Default string
	// DefaultOn is a checkbox whose setting is true when absent; OnlyWith
	// names the checkbox key without which this one is not sent.
	DefaultOn bool
	OnlyWith  string
	// More puts the input under "More options", folded unless in use.
	More bool
	Mono bool
}

// typeSpec is a check type's part of the form.
type typeSpec struct {
	Type   string
	Help   string
	Inputs []inputSpec
}

// commonInputs are the settings every monitor has, by input name (which is
// their definition key).
var commonInputs = []inputSpec{
	{Key: "name", Label: "Name", Needed: true, Hint: "How the monitor appears in lists, alerts and status pages."},
	{Key: "description", Label: "Description", Control: "textarea", Hint: "What it checks and what breaks when it is down."},
	{Key: "tags", Label: "Tags", Hint: "Separated by commas or spaces, such as prod, web. The list filters by them.", Placeholder: "prod, web"},
	{Key: "interval", Label: "Check every", Placeholder: "60s", Hint: "A duration such as 30s, 5m or 1h. Default 60s."},
	{Key: "timeout", Label: "Timeout", Placeholder: "10s", Hint: "A check slower than this fails. Default 10s, at most the interval."},
	{Key: "failure_threshold", Label: "Failed checks before down", Kind: inNumber, Control: "number", Placeholder: "3", Hint: "In a row, so one lost packet pages nobody. Default 3."},
	{Key: "success_threshold", Label: "Good checks before up", Kind: inNumber, Control: "number", Placeholder: "1", Hint: "In a row, after being down. Default 1."},
}

var httpMethodChoices = func() []typeChoice {
	var out []typeChoice
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		out = append(out, typeChoice{Value: m, Label: m})
	}
	return out
}()

// typeSpecs are the check types with inputs of their own; any other type
// the registry offers gets a JSON settings box.
var typeSpecs = map[string]typeSpec{
	fleet.CheckType: agentMetricSpec,
	"http": {Type: "http", Help: "A web page or an API answers with the status and content you expect.", Inputs: []inputSpec{
		{Key: "url", Label: "URL", Control: "url", Needed: true, Placeholder: "https://example.com/health", Hint: "The page or endpoint to request, with http:// or https://.", Mono: true},
		{Key: "method", Label: "Method", Control: "select", Options: httpMethodChoices, Default: "GET"},
		{Key: "expect.status", Label: "Expected status", Placeholder: "200-399", Hint: "Codes, ranges or classes, separated by commas: 200, 301-302, 2xx. Default 200-399."},
		{Key: "expect.body_contains", Label: "Body contains", Hint: "Text the response body must contain, such as \"ok\"."},
		{Key: "expect.max_latency", Label: "Slow after", Placeholder: "2s", Hint: "A slower answer makes the monitor degraded.", More: true},
		{Key: "headers", Label: "Request headers", Kind: inHeaders, Control: "textarea", Hint: "One per line, as Name: value.", Placeholder: "Accept: application/json", More: true, Mono: true},
		{Key: "body", Label: "Request body", Control: "textarea", Hint: "Sent with the request, at most 64 KiB.", More: true, Mono: true},
		{Key: "basic_auth.username", Label: "Basic auth user", More: true},
		{Key: "basic_auth.password", Label: "Basic auth password", Kind: inSecret, Control: "password", More: true},
		{Key: "follow_redirects", Label: "Follow redirects (up to 10)", Kind: inCheck, Control: "checkbox", DefaultOn: true, More: true},
		{Key: "tls_verify", Label: "Verify the TLS certificate", Kind: inCheck, Control: "checkbox", DefaultOn: true, Hint: "Untick only for a self-signed certificate you trust.", More: true},
	}},
	"tcp": {Type: "tcp", Help: "A port accepts connections, and optionally answers what you expect.", Inputs: []inputSpec{
		{Key: "host", Label: "Host", Needed: true, Placeholder: "db1.example.com", Hint: "A host name or IP address, without the port.", Mono: true},
		{Key: "port", Label: "Port", Kind: inNumber, Control: "number", Needed: true, Placeholder: "5432"},
		{Key: "expect", Label: "Expect in the reply", Kind: inEscaped, Hint: "Text that must appear in what the server sends, such as SSH-2.0.", Mono: true},
		{Key: "send", Label: "Send", Kind: inEscaped, Hint: "Sent once connected. Write \\r\\n for a line break.", More: true, Mono: true},
		{Key: "tls", Label: "Connect with TLS (IMAPS, LDAPS…)", Kind: inCheck, Control: "checkbox", More: true},
		{Key: "tls_verify", Label: "Verify the certificate when connecting with TLS", Kind: inCheck, Control: "checkbox", DefaultOn: true, OnlyWith: "tls", More: true},
	}},
	"tls": {Type: "tls", Help: "A certificate is valid, trusted and not about to expire.", Inputs: []inputSpec{
		{Key: "host", Label: "Host", Needed: true, Placeholder: "example.com", Mono: true},
		{Key: "port", Label: "Port", Kind: inNumber, Control: "number", Placeholder: "443", Hint: "Default 443."},
		{Key: "warn_days", Label: "Degraded when fewer days remain", Kind: inNumber, Control: "number", Placeholder: "21", Hint: "Default 21."},
		{Key: "crit_days", Label: "Down when fewer days remain", Kind: inNumber, Control: "number", Placeholder: "7", Hint: "Default 7; below the degraded threshold."},
		{Key: "starttls", Label: "STARTTLS", Control: "select", Options: []typeChoice{{Value: "", Label: "None: TLS from the first byte"}, {Value: "smtp", Label: "SMTP (ports 25 and 587)"}}, More: true},
		{Key: "server_name", Label: "Server name (SNI)", Hint: "The name the certificate must carry, when not the host.", More: true, Mono: true},
		{Key: "ca_file", Label: "Trusted CA file", Hint: "Absolute path of a PEM file on the opsdeck server, for a private CA.", More: true, Mono: true},
	}},
	"nagios": {Type: "nagios", Help: "A Nagios-compatible plugin runs and says OK, WARNING or CRITICAL.", Inputs: []inputSpec{
		{Key: "command", Label: "Plugin", Needed: true, Placeholder: "/usr/lib/nagios/plugins/check_disk", Hint: "The absolute path of the plugin on the opsdeck server.", Mono: true},
		{Key: "args", Label: "Arguments", Kind: inLines, Control: "textarea", Placeholder: "-w\n20%\n-c\n10%", Hint: "One per line. No shell is used, so nothing needs quoting.", Mono: true},
		{Key: "env", Label: "Environment", Kind: inEnv, Control: "textarea", Placeholder: "NAME=value", Hint: "Extra variables, one per line as NAME=value.", More: true, Mono: true},
	}},
	"heartbeat": {Type: "heartbeat", Help: "A cron job or a backup script pings opsdeck when it runs; a missing ping is an alert.", Inputs: []inputSpec{
		{Key: "period", Label: "Expect a ping every", Placeholder: "1h", Hint: "A duration such as 15m, 1h or 24h. Or give a cron schedule instead."},
		{Key: "cron", Label: "Or on a cron schedule", Placeholder: "0 3 * * *", Hint: "Five fields, as in crontab.", Mono: true},
		{Key: "timezone", Label: "Time zone of the schedule", Placeholder: "Europe/Berlin", Hint: "Default UTC.", More: true},
		{Key: "grace", Label: "Grace time", Placeholder: "5m", Hint: "How late a ping may be. Default 5m."},
	}},
}

// typeHelp says what the types without inputs of their own check.
var typeHelp = map[string]string{
	"dns":  "A name resolves, and optionally to the records you expect.",
	"ping": "A host answers ICMP echo requests without too much loss or delay.",
	"snmp": "A device answers an SNMP GET with the values you expect.",
}

// specFor returns a type's inputs; types without their own get one JSON box.
func specFor(typ string) typeSpec {
	if sp, ok := typeSpecs[typ]; ok {
		return sp
	}
	help := typeHelp[typ]
	if help == "" {
		help = "Settings of the " + typeLabel(typ) + " check."
	}
	return typeSpec{Type: typ, Help: help, Inputs: []inputSpec{
		{Key: "", Label: "Settings", Kind: inJSON, Control: "textarea", Placeholder: "{\n  \"host\": \"example.com\"\n}", Hint: "A JSON object with the check's settings.", Mono: true},
	}}
}

// inputName is the form name of a type's input: the type and the key, so
// the sections of several types can share one form.
func inputName(typ string, in inputSpec) string {
	if in.Kind == inJSON {
		return typ + "-settings"
	}
	return typ + "-" + strings.ReplaceAll(in.Key, ".", "-")
}

// isCommonKey reports whether a definition key is one of every monitor's.
func isCommonKey(k string) bool {
	if k == "type" || k == "paused" {
		return true
	}
	for _, in := range commonInputs {
		if in.Key == k {
			return true
		}
	}
	return false
}
