package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// monitorForm is the state of the add and edit monitor forms.
type monitorForm struct {
	// Editing is the stored monitor on the edit form, nil on the add form.
	Editing *monitor.WithStatus
	Action  string
	Type    string
	Types   []typeChoice
	// Values are the inputs' texts and Checked the checkboxes, by input
	// name; Stored marks secret inputs with a stored value.
	Values  map[string]string
	Checked map[string]bool
	Stored  map[string]bool
	Errors  fieldErrors
	// Kept lists stored settings the form has no input for; saving keeps
	// them as they are.
	Kept []string
	// Result is the outcome of the Test button.
	Result *testOutcome
	// stored are the editing monitor's settings.
	stored map[string]any
}

// formInput is what the page's "minput" template draws.
type formInput struct {
	Name, Label, Control, Value, Error, Hint, Placeholder string
	Needed, Required, Autofocus, Checked, Mono            bool
	Options                                               []typeChoice
	MaxLength                                             int
}

// formSection is one check type's inputs; More are folded.
type formSection struct {
	Type, Label, Help string
	Inputs, More      []formInput
	// MoreOpen unfolds More when one of them is set or has an error.
	MoreOpen bool
	Current  bool
}

// testOutcome is a Test run's result as the form shows it.
type testOutcome struct {
	Status           stateView
	Latency, Message string
	Output           string
	Phases, Metrics  []fact
}

func newMonitorForm() *monitorForm {
	f := &monitorForm{Type: "http", Values: map[string]string{}, Checked: map[string]bool{}, Stored: map[string]bool{}, Errors: fieldErrors{}, Action: "/monitors/new"}
	for _, t := range monitorTypes() {
		f.Types = append(f.Types, typeChoice{Value: t, Label: typeTitle(t), Help: specFor(t).Help})
	}
	for _, t := range monitorTypes() {
		for _, in := range specFor(t).Inputs {
			if in.DefaultOn {
				f.Checked[inputName(t, in)] = true
			}
		}
	}
	return f
}

// Basics and Schedule are the common inputs, split as the form shows them.
func (f *monitorForm) Basics() []formInput   { return f.inputs(commonInputs[:3], "") }
func (f *monitorForm) Schedule() []formInput { return f.inputs(commonInputs[3:], "") }

// Sections are the check types' inputs, the chosen type first.
func (f *monitorForm) Sections() []formSection {
	var out []formSection
	for _, t := range monitorTypes() {
		sp := specFor(t)
		sec := formSection{Type: t, Label: typeTitle(t), Help: sp.Help, Current: t == f.Type}
		for _, in := range sp.Inputs {
			fi := f.inputs([]inputSpec{in}, t)[0]
			if in.More {
				sec.More = append(sec.More, fi)
				if fi.Error != "" || (fi.Value != "" && fi.Control != "checkbox") || (in.Kind == inCheck && fi.Checked != in.DefaultOn) {
					sec.MoreOpen = true
				}
				continue
			}
			sec.Inputs = append(sec.Inputs, fi)
		}
		if sec.Current {
			out = append([]formSection{sec}, out...)
		} else {
			out = append(out, sec)
		}
	}
	return out
}

func (f *monitorForm) inputs(specs []inputSpec, typ string) []formInput {
	out := make([]formInput, 0, len(specs))
	for _, in := range specs {
		name := in.Key
		if typ != "" {
			name = inputName(typ, in)
		}
		ctl := in.Control
		if ctl == "" {
			ctl = "text"
		}
		fi := formInput{Name: name, Label: in.Label, Control: ctl, Value: f.Values[name], Error: f.Errors[name], Hint: in.Hint,
			Placeholder: in.Placeholder, Needed: in.Needed, Checked: f.Checked[name], Mono: in.Mono, Options: in.Options}
		if name == "name" {
			fi.Required, fi.MaxLength, fi.Autofocus = true, 200, f.Editing == nil
		}
		if in.Kind == inSecret {
			fi.Value = ""
			if f.Stored[name] {
				fi.Hint = "A password is stored; leave this empty to keep it."
			}
		}
		out = append(out, fi)
	}
	return out
}

// readMonitorForm reads a posted monitor form. Every section's inputs are
// read back, so a form that comes back with errors keeps what was typed in
// each.
func readMonitorForm(r *http.Request, editing *monitor.WithStatus) *monitorForm {
	f := newMonitorForm()
	if editing != nil {
		f.setEditing(editing)
	}
	f.Type = r.PostFormValue("type")
	for _, in := range commonInputs {
		f.Values[in.Key] = r.PostFormValue(in.Key)
	}
	for _, t := range monitorTypes() {
		for _, in := range specFor(t).Inputs {
			name := inputName(t, in)
			if in.Kind == inCheck {
				f.Checked[name] = r.PostFormValue(name) != ""
				continue
			}
			f.Values[name] = r.PostFormValue(name)
		}
	}
	return f
}

// setEditing remembers the stored monitor whose settings the form edits.
func (f *monitorForm) setEditing(m *monitor.WithStatus) {
	f.Editing = m
	f.Action = monitorURL(m.ID) + "/edit"
	f.stored = map[string]any{}
	_ = decodeUseNumber(m.Settings, &f.stored)
	for _, in := range specFor(m.Type).Inputs {
		if in.Kind == inSecret {
			if v, ok := getPath(f.stored, in.Key).(string); ok && v != "" {
				f.Stored[inputName(m.Type, in)] = true
			}
		}
	}
}

// editMonitorForm fills the form from a stored monitor.
func editMonitorForm(m monitor.WithStatus) *monitorForm {
	f := newMonitorForm()
	f.setEditing(&m)
	f.Type = m.Type
	f.Values["name"] = m.Name
	f.Values["description"] = m.Description
	f.Values["tags"] = strings.Join(m.Tags, ", ")
	f.Values["interval"] = shortDuration(m.Interval)
	f.Values["timeout"] = shortDuration(m.Timeout)
	f.Values["failure_threshold"] = strconv.Itoa(m.FailureThreshold)
	f.Values["success_threshold"] = strconv.Itoa(m.SuccessThreshold)
	sp := specFor(m.Type)
	for _, in := range sp.Inputs {
		name := inputName(m.Type, in)
		if in.Kind == inJSON {
			var buf bytes.Buffer
			if json.Indent(&buf, m.Settings, "", "  ") == nil {
				f.Values[name] = buf.String()
			}
			continue
		}
		v := getPath(f.stored, in.Key)
		if in.Kind == inCheck {
			b, ok := v.(bool)
			f.Checked[name] = ok && b || !ok && in.DefaultOn
			continue
		}
		f.Values[name] = settingText(in, v)
	}
	f.Kept = keptSettings(sp, f.stored)
	return f
}

// settingText writes a stored setting as its input shows it.
func settingText(in inputSpec, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if in.Kind == inEscaped {
			return escapeControls(x)
		}
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, settingText(inputSpec{}, e))
		}
		if in.Kind == inLines {
			return strings.Join(parts, "\n")
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		sep := ": "
		if in.Kind == inEnv {
			sep = "="
		}
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(x)) {
			lines = append(lines, k+sep+settingText(inputSpec{}, x[k]))
		}
		return strings.Join(lines, "\n")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// keptSettings lists the stored settings no input covers.
func keptSettings(sp typeSpec, stored map[string]any) []string {
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			covered := false
			for _, in := range sp.Inputs {
				if in.Kind == inJSON || in.Key == key || strings.HasPrefix(key, in.Key+".") {
					covered = true
				}
			}
			if covered {
				continue
			}
			if sub, ok := m[k].(map[string]any); ok && coversUnder(sp, key) {
				walk(key, sub)
				continue
			}
			out = append(out, key)
		}
	}
	walk("", stored)
	return out
}

// coversUnder reports whether some input fills a key under prefix.
func coversUnder(sp typeSpec, prefix string) bool {
	for _, in := range sp.Inputs {
		if strings.HasPrefix(in.Key, prefix+".") {
			return true
		}
	}
	return false
}

// definition builds the monitor definition from the form: the common
// fields, then the chosen type's inputs, each only when filled in. On the
// edit form, stored settings without an input are kept, and an empty
// secret keeps the stored one. It reports false when an input could not
// be read (a number that is not one, a header line without a colon); those
// errors are in f.Errors.
func (f *monitorForm) definition() (monitor.Definition, bool) {
	def := monitor.Definition{}
	put := func(k string, v any) {
		b, err := json.Marshal(v)
		if err == nil {
			def[k] = b
		}
	}
	if !slices.Contains(monitorTypes(), f.Type) {
		f.Errors["type"] = "Choose what to check."
		return def, false
	}
	put("type", f.Type)
	for _, in := range commonInputs {
		raw := f.Values[in.Key]
		v := strings.TrimSpace(raw)
		switch {
		case v == "":
		case in.Kind == inNumber:
			n, err := strconv.Atoi(v)
			if err != nil {
				f.Errors[in.Key] = in.Label + " must be a whole number."
				continue
			}
			put(in.Key, n)
		case in.Key == "tags":
			put(in.Key, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }))
		case in.Key == "description":
			put(in.Key, strings.TrimRightFunc(raw, unicode.IsSpace))
		default:
			put(in.Key, v)
		}
	}
	if f.Editing != nil {
		put("paused", f.Editing.Paused)
	}
	settings := map[string]any{}
	sp := specFor(f.Type)
	if f.Editing != nil && f.Editing.Type == f.Type {
		settings = deepCopy(f.stored)
		for _, in := range sp.Inputs {
			deletePath(settings, in.Key)
		}
	}
	var secrets []inputSpec
	for _, in := range sp.Inputs {
		name := inputName(f.Type, in)
		raw := f.Values[name]
		switch in.Kind {
		case inJSON:
			if strings.TrimSpace(raw) == "" {
				continue
			}
			var obj map[string]any
			if err := decodeUseNumber([]byte(raw), &obj); err != nil || obj == nil {
				f.Errors[name] = "Settings must be a JSON object, such as {\"host\": \"example.com\"}."
				continue
			}
			for k, v := range obj {
				if isCommonKey(k) {
					f.Errors[name] = fmt.Sprintf("Settings: set %q in its own field above, not here.", k)
					continue
				}
				settings[k] = v
			}
		case inSecret:
			secrets = append(secrets, in)
		case inNumber:
			v := strings.TrimSpace(raw)
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				f.Errors[name] = in.Label + " must be a whole number."
				continue
			}
			setPath(settings, in.Key, n)
		case inCheck:
			on := f.Checked[name]
			if in.OnlyWith != "" && !f.Checked[f.Type+"-"+in.OnlyWith] {
				continue
			}
			if on != in.DefaultOn {
				setPath(settings, in.Key, on)
			}
		case inLines:
			var lines []string
			for _, l := range strings.Split(raw, "\n") {
				if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
			if len(lines) > 0 {
				setPath(settings, in.Key, lines)
			}
		case inHeaders, inEnv:
			m, err := parsePairs(raw, in.Kind)
			if err != "" {
				f.Errors[name] = in.Label + ": " + err
				continue
			}
			if len(m) > 0 {
				setPath(settings, in.Key, m)
			}
		case inEscaped:
			if raw != "" {
				setPath(settings, in.Key, unescapeControls(raw))
			}
		default:
			v := raw
			if in.Control != "textarea" {
				v = strings.TrimSpace(raw)
			}
			if v != "" && v != in.Default {
				setPath(settings, in.Key, v)
			}
		}
	}
	// A secret left empty keeps the stored one, as long as what it belongs
	// to (basic_auth and its user) is still there.
	for _, in := range secrets {
		name := inputName(f.Type, in)
		if v := f.Values[name]; v != "" {
			setPath(settings, in.Key, v)
			continue
		}
		old, _ := getPath(f.stored, in.Key).(string)
		parent, _, _ := cutLast(in.Key)
		if old != "" && f.Editing != nil && f.Editing.Type == f.Type && (parent == "" || getPath(settings, parent) != nil) {
			setPath(settings, in.Key, old)
		}
	}
	for k, v := range settings {
		put(k, v)
	}
	return def, len(f.Errors) == 0
}

// explain puts a validation error beside the input it names and reports
// whether err was one. Errors on settings the form has no input for are
// shown above the form.
func (f *monitorForm) explain(err error) bool {
	ve, ok := valid.As(err)
	if !ok {
		return false
	}
	name, label, rest := f.inputFor(ve.Field)
	if name == "" {
		if f.Errors[""] == "" {
			f.Errors[""] = sentence(strings.TrimPrefix(ve.Field+": ", ": ") + ve.Msg)
		}
		return true
	}
	if f.Errors[name] != "" {
		return true
	}
	msg := label + " " + ve.Msg
	if rest != "" {
		msg = label + ": " + rest + " " + ve.Msg
	}
	f.Errors[name] = sentence(msg)
	return true
}

// inputFor finds the input of a definition key named by a validation error
// ("url", "expect.status", "headers.X-Token"); rest is the part of the key
// below the input's own.
func (f *monitorForm) inputFor(field string) (name, label, rest string) {
	if field == "type" {
		return "type", "Type", ""
	}
	for _, in := range commonInputs {
		if in.Key == field {
			return in.Key, in.Label, ""
		}
	}
	for _, in := range specFor(f.Type).Inputs {
		switch {
		case in.Kind == inJSON:
			return inputName(f.Type, in), in.Label, field
		case in.Key == field:
			return inputName(f.Type, in), in.Label, ""
		case strings.HasPrefix(field, in.Key+"."):
			return inputName(f.Type, in), in.Label, strings.TrimPrefix(field, in.Key+".")
		}
	}
	return "", "", ""
}

// moreErrors looks for further mistakes after the first, so one answer
// lists as many as it can: validation stops at the first, so each found
// one is taken out of a copy of the definition and the rest validated
// again. It validates with the standard check types, as the service does.
func (f *monitorForm) moreErrors(def monitor.Definition, first error) {
	d := maps.Clone(def)
	err := first
	for range 10 {
		ve, ok := valid.As(err)
		if !ok {
			return
		}
		top, _, _ := strings.Cut(ve.Field, ".")
		switch {
		case top == "type" || top == "":
			return
		case top == "name":
			d["name"] = json.RawMessage(`"placeholder"`)
		default:
			delete(d, top)
		}
		_, _, err = monitor.Parse(d, probe.New)
		ve, ok = valid.As(err)
		if !ok {
			return
		}
		if name, _, _ := f.inputFor(ve.Field); name == "" || f.Errors[name] != "" {
			return
		}
		f.explain(err)
	}
}

// findErrors validates what could be read of a form whose other inputs
// could not, so the answer lists those mistakes too.
func (f *monitorForm) findErrors(def monitor.Definition) {
	if f.Errors["type"] != "" {
		return // without a type, every other message would mislead
	}
	if _, _, err := monitor.Parse(def, probe.New); f.explain(err) {
		f.moreErrors(def, err)
	}
}

// outcomeOf shows a Test run's result.
func outcomeOf(res probe.Result) *testOutcome {
	v := viewResult(res)
	o := &testOutcome{Status: checkStatusOf(string(v.Status)), Latency: formatMeasure(v.LatencyMS, "ms"), Message: v.Message, Output: strings.TrimSpace(v.Output)}
	for _, ph := range []struct{ key, label string }{{"dns_ms", "DNS lookup"}, {"connect_ms", "Connect"}, {"tls_ms", "TLS handshake"}, {"first_byte_ms", "First byte"}} {
		if ms, ok := v.Phases[ph.key].(float64); ok {
			o.Phases = append(o.Phases, fact{Label: ph.label, Value: formatMeasure(ms, "ms")})
		}
	}
	for _, m := range v.Metrics {
		o.Metrics = append(o.Metrics, fact{Label: m.Name, Value: formatMeasure(m.Value, m.Unit)})
	}
	return o
}

// parsePairs reads "Name: value" (headers) or "NAME=value" (environment)
// lines; it returns a message naming the first line it cannot read.
func parsePairs(raw string, kind inputKind) (map[string]string, string) {
	sep, shape := ":", "Name: value"
	if kind == inEnv {
		sep, shape = "=", "NAME=value"
	}
	out := map[string]string{}
	for i, line := range strings.Split(raw, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, sep)
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Sprintf("line %d is not %s.", i+1, shape)
		}
		if kind == inHeaders {
			v = strings.TrimSpace(v)
		}
		out[k] = v
	}
	return out, ""
}

// escapeControls and unescapeControls let a one-line input carry the
// line breaks of a protocol exchange ("QUIT\r\n").
func escapeControls(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\r", `\r`, "\n", `\n`, "\t", `\t`).Replace(s)
}

func unescapeControls(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// echoForm prepares the form's texts for showing back after a refusal:
// valid UTF-8 and no control characters except, in text areas, line
// breaks and tabs. Nothing is cut, so a long request body survives a
// mistake elsewhere on the form.
func (f *monitorForm) echoForm() {
	multiline := map[string]bool{"description": true}
	for _, t := range monitorTypes() {
		for _, in := range specFor(t).Inputs {
			if in.Control == "textarea" {
				multiline[inputName(t, in)] = true
			}
		}
	}
	for k, v := range f.Values {
		v = strings.ToValidUTF8(v, "\uFFFD")
		f.Values[k] = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) && !(multiline[k] && (r == '\n' || r == '\t')) {
				if r == '\r' && multiline[k] {
					return -1
				}
				return '\uFFFD'
			}
			return r
		}, v)
	}
}
