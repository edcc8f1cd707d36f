package probe

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PluginOutput is the text a Nagios plugin printed, split the way the Nagios
// Plugin Development Guidelines define it:
//
//	TEXT OUTPUT | OPTIONAL PERFDATA
//	LONG TEXT LINE 1
//	LONG TEXT LINE N | PERFDATA LINE 2
//	PERFDATA LINE 3
//
// The first line is the short text and perhaps perfdata; the lines after it
// are long text until one holds a '|', whose right part and every later
// line are perfdata.
type PluginOutput struct {
	// Text is the first line's text, without perfdata.
	Text string
	// LongText is the text of the further lines, joined with newlines.
	LongText string
	// Metrics are the perfdata items that parsed. Items whose value is "U"
	// (undetermined) and malformed items are dropped: a series point needs a
	// number, and one bad item must not cost the others.
	Metrics []Metric
}

// ParsePluginOutput splits a plugin's output into text, long text and
// perfdata. It never fails: what does not parse is left out.
func ParsePluginOutput(out string) PluginOutput {
	var po PluginOutput
	var long, perf []string
	inPerf := false
	for i, line := range strings.Split(out, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if inPerf {
			perf = append(perf, line)
			continue
		}
		text, data, found := strings.Cut(line, "|")
		if i == 0 {
			po.Text = strings.TrimSpace(text)
			if found {
				perf = append(perf, data)
			}
			continue
		}
		long = append(long, strings.TrimRight(text, " \t"))
		if found {
			perf = append(perf, data)
			inPerf = true
		}
	}
	po.LongText = strings.Trim(strings.Join(long, "\n"), "\n")
	po.Metrics = ParsePerfdata(strings.Join(perf, " "))
	return po
}

// ParsePerfdata parses space-separated perfdata items of the form
//
//	'label'=value[UOM];[warn];[crit];[min];[max]
//
// Quoted labels may hold spaces, and a doubled quote stands for one quote.
// The unit is kept verbatim (s ms us % B KB MB GB TB c are the standard
// ones). Thresholds are kept raw when they parse as a Range and dropped
// otherwise; min and max are kept when numeric. A decimal comma, printed by
// plugins run under some locales, is read as a point. Malformed items and
// "U" values are skipped.
func ParsePerfdata(s string) []Metric {
	var out []Metric
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			break
		}
		var label, rest string
		var ok bool
		label, rest, s, ok = nextPerfItem(s)
		if !ok {
			continue
		}
		if m, ok := parsePerfValue(label, rest); ok {
			out = append(out, m)
		}
	}
	return out
}

// nextPerfItem splits the first item off s: its label, the text after '=' up
// to the next blank, and what is left of s. ok is false for a malformed item,
// which has still been consumed.
func nextPerfItem(s string) (label, value, rest string, ok bool) {
	if s[0] == '\'' {
		var b strings.Builder
		i := 1
		closed := false
		for i < len(s) {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				closed = true
				i++
				break
			}
			b.WriteByte(s[i])
			i++
		}
		if !closed {
			// Resynchronise at the next blank rather than lose the rest.
			_, rest = cutBlank(s)
			return "", "", rest, false
		}
		label = b.String()
		s = s[i:]
		if !strings.HasPrefix(s, "=") {
			_, rest = cutBlank(s)
			return "", "", rest, false
		}
		value, rest = cutBlank(s[1:])
		return label, value, rest, validLabel(label)
	}
	item, rest := cutBlank(s)
	label, value, found := strings.Cut(item, "=")
	if !found || strings.Contains(label, "'") {
		return "", "", rest, false
	}
	return label, value, rest, validLabel(label)
}

// maxLabelLen bounds a metric name; longer labels are treated as garbage.
const maxLabelLen = 200

// validLabel accepts non-empty UTF-8 labels without control characters, so
// names are safe to store and show.
func validLabel(s string) bool {
	if s == "" || len(s) > maxLabelLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// cutBlank splits s at its first space or tab.
func cutBlank(s string) (head, tail string) {
	if i := strings.IndexAny(s, " \t\r\n"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// parsePerfValue reads "value[UOM];warn;crit;min;max" for label.
func parsePerfValue(label, s string) (Metric, bool) {
	fields := strings.Split(s, ";")
	num, uom := splitNumber(fields[0])
	if num == "" {
		return Metric{}, false // empty, "U" or garbage
	}
	v, ok := perfNumber(num)
	if !ok || !validUOM(uom) {
		return Metric{}, false
	}
	m := Metric{Name: label, Value: v, Unit: uom}
	field := func(i int) string {
		if i < len(fields) {
			return strings.TrimSpace(fields[i])
		}
		return ""
	}
	if w := field(1); w != "" {
		if _, err := ParseRange(w); err == nil {
			m.Warn = w
		}
	}
	if c := field(2); c != "" {
		if _, err := ParseRange(c); err == nil {
			m.Crit = c
		}
	}
	for i, dst := range []**float64{&m.Min, &m.Max} {
		// Some plugins repeat the unit on min and max; accept that.
		if n, u := splitNumber(field(3 + i)); n != "" && (u == "" || u == uom) {
			if f, ok := perfNumber(n); ok {
				*dst = &f
			}
		}
	}
	return m, true
}

// splitNumber splits s into a leading decimal number
// ([+-]digits[.digits][e[+-]digits], with ',' allowed for '.') and the rest.
// num is empty when s does not start with one.
func splitNumber(s string) (num, rest string) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		j := i + 1
		frac := 0
		for j < len(s) && isDigit(s[j]) {
			j++
			frac++
		}
		if digits+frac > 0 {
			i = j
			digits += frac
		}
	}
	if digits == 0 {
		return "", s
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k > j {
			i = k
		}
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// perfNumber parses a whole decimal number as splitNumber finds them; it
// refuses infinities, NaN, hex floats and anything with trailing text.
func perfNumber(s string) (float64, bool) {
	num, rest := splitNumber(s)
	if num == "" || rest != "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.Replace(num, ",", ".", 1), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// validUOM accepts any unit that cannot be mistaken for part of a number:
// the standard ones and others ("dBm", "rpm", "MB/s") are kept verbatim.
func validUOM(u string) bool {
	if len(u) > 32 || !utf8.ValidString(u) {
		return false
	}
	if len(u) > 1 && (u[0] == 'x' || u[0] == 'X') && isDigit(u[1]) {
		return false // a hex literal such as 0x10, not a unit
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= ' ' || c == '\'' || c == '=' || c == 0x7f {
			return false
		}
		if i == 0 && (isDigit(c) || c == '.' || c == ',' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// Range is a Nagios threshold range: a value alerts when it falls outside
// [Start, End], or inside it when Inside is set (the '@' prefix). Start may
// be -Inf (written "~") and End +Inf (an empty end).
type Range struct {
	Start, End float64
	Inside     bool
}

// ParseRange parses a threshold range as the Nagios Plugin Development
// Guidelines define it: "10" (0 to 10), "10:" (10 to infinity), "~:10"
// (minus infinity to 10), "10:20", and any of them prefixed with '@' to
// alert inside the range instead of outside. An empty start means 0, as in
// the reference plugins.
func ParseRange(s string) (Range, error) {
	r := Range{Start: 0, End: math.Inf(1)}
	body, inside := strings.CutPrefix(s, "@")
	r.Inside = inside
	start, end, hasColon := strings.Cut(body, ":")
	if !hasColon {
		start, end = "", body
		if end == "" {
			return r, rangeError(s)
		}
	}
	switch start {
	case "~":
		r.Start = math.Inf(-1)
	case "":
	default:
		f, ok := perfNumber(start)
		if !ok {
			return r, rangeError(s)
		}
		r.Start = f
	}
	if end != "" {
		f, ok := perfNumber(end)
		if !ok {
			return r, rangeError(s)
		}
		r.End = f
	}
	if r.Start > r.End {
		return r, rangeError(s)
	}
	return r, nil
}

func rangeError(s string) error {
	return fmt.Errorf("probe: %q is not a Nagios range (want 10, 10:, ~:10, 10:20 or @10:20)", s)
}

// Alerts reports whether v breaches the range: outside [Start, End] for a
// plain range, inside it (ends included) for an '@' range.
func (r Range) Alerts(v float64) bool {
	in := v >= r.Start && v <= r.End
	if r.Inside {
		return in
	}
	return !in
}

// String writes the range in Nagios syntax; ParseRange reads it back.
func (r Range) String() string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start != 0 || math.IsInf(r.End, 1):
		b.WriteString(strconv.FormatFloat(r.Start, 'g', -1, 64))
		b.WriteByte(':')
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(strconv.FormatFloat(r.End, 'g', -1, 64))
	}
	return b.String()
}
