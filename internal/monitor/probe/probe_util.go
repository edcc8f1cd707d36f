package probe

// Helpers shared by the http, tcp and tls checks: strict settings decoding,
// host validation, deadlines, measured dialing, error wording and output
// excerpts.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/valid"
)

const (
	// fallbackTimeout bounds a check whose caller set no deadline, so a
	// server that never answers cannot hold a check forever.
	fallbackTimeout = 60 * time.Second
	// outputLimit caps Result.Output.
	outputLimit = 2 << 10
	// messageLimit caps the part of Result.Message that comes from the peer.
	messageLimit = 200
	// metricCertExpiry is the metric name for days until a certificate expires.
	metricCertExpiry = "cert_expiry_days"
)

// decodeSettings decodes one check type's JSON settings into dst, a pointer
// to its settings struct. It is stricter than encoding/json: keys must match
// the JSON names exactly (encoding/json folds case), unknown keys are refused
// at any depth, and a wrong type is reported with the field's dotted path
// ("expect.status", "headers.X-Foo"). Every error is a *valid.Error; for
// malformed JSON, or settings that are not an object, its Field is empty and
// the error also unwraps to the *json.SyntaxError or *json.UnmarshalTypeError.
func decodeSettings(kind string, raw []byte, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, new(json.RawMessage)); err != nil {
		msg := kind + " settings are not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			msg += fmt.Sprintf(" (at byte %d)", syn.Offset)
		}
		return &settingsJSONError{&valid.Error{Msg: msg}, err}
	}
	t := reflect.TypeOf(dst).Elem()
	if !isJSONNull(raw) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			kindOf := jsonKindOf(raw)
			return &settingsJSONError{
				&valid.Error{Msg: fmt.Sprintf("%s settings must be a JSON object, not %s", kind, kindOf)},
				&json.UnmarshalTypeError{Value: kindOf, Type: t},
			}
		}
	}
	if err := checkSettingsJSON(raw, t, ""); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		// checkSettingsJSON accepted what json refuses: name no field
		// rather than guess one.
		return &settingsJSONError{&valid.Error{Msg: kind + " settings: " + err.Error()}, err}
	}
	return nil
}

// settingsJSONError is settings that do not decode as a whole: a
// *valid.Error with no field, which also unwraps to the JSON error.
type settingsJSONError struct {
	field *valid.Error
	json  error
}

func (e *settingsJSONError) Error() string   { return e.field.Msg }
func (e *settingsJSONError) Unwrap() []error { return []error{e.field, e.json} }

var jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkSettingsJSON walks raw beside the Go type t and returns a *valid.Error
// for the first unknown key or wrong type, in sorted key order so the same
// input always reports the same field.
func checkSettingsJSON(raw json.RawMessage, t reflect.Type, path string) error {
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			return valid.Errorf(path, "%s", err.Error())
		}
		return nil
	}
	if isJSONNull(raw) {
		return nil // leaves the zero value, as encoding/json does
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkSettingsJSON(raw, t.Elem(), path)
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return valid.Errorf(path, "must be an object")
		}
		fields, names := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			ft, ok := fields[k]
			if !ok {
				return valid.Errorf(joinField(path, k), "is not a known setting (known: %s)", strings.Join(names, ", "))
			}
			if err := checkSettingsJSON(obj[k], ft, joinField(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return valid.Errorf(path, "must be an object of %s", jsonKindName(t.Elem()))
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := checkSettingsJSON(obj[k], t.Elem(), joinField(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return valid.Errorf(path, "must be a list")
		}
		for _, item := range arr {
			if err := checkSettingsJSON(item, t.Elem(), path); err != nil {
				return err
			}
		}
		return nil
	}
	if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
		return valid.Errorf(path, "must be %s", jsonKindName(t))
	}
	return nil
}

// jsonFields maps a struct's JSON names to their field types.
func jsonFields(t reflect.Type) (map[string]reflect.Type, []string) {
	fields := make(map[string]reflect.Type, t.NumField())
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	return fields, names
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isJSONNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

func jsonKindOf(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func jsonKindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Pointer:
		return jsonKindName(t.Elem())
	}
	return "a " + t.Kind().String()
}

// checkHost validates a host name or IP address to connect to (no port, no
// brackets, no scheme).
func checkHost(field, host string) error {
	if strings.TrimSpace(host) == "" {
		return valid.Errorf(field, "is required")
	}
	if len(host) > 253 {
		return valid.Errorf(field, "is too long (at most 253 characters)")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if strings.ContainsAny(host, "[]:/ ") {
		return valid.Errorf(field, "must be a host name or IP address without brackets or port")
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 {
			return valid.Errorf(field, "is not a valid host name")
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return valid.Errorf(field, "is not a valid host name (IDN names go in their xn-- form)")
			}
		}
	}
	return nil
}

// withProbeDeadline returns ctx with a deadline (the caller's, or
// fallbackTimeout) and the time budget it leaves, for "timeout after 5s".
func withProbeDeadline(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel := context.WithTimeout(ctx, fallbackTimeout)
		return ctx, cancel, fallbackTimeout
	}
	dl, _ := ctx.Deadline()
	ctx, cancel := context.WithCancel(ctx)
	return ctx, cancel, time.Until(dl)
}

// formatBudget rounds a timeout for messages: 4.9998s reads "5s". The
// budget is measured when the check starts, a few milliseconds after its
// deadline was set (more on a busy machine), so a configured 300ms must
// still read "300ms": sub-second budgets round to 50 ms.
func formatBudget(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return max(d.Round(50*time.Millisecond), time.Millisecond).String()
}

// failure words a failed connection or exchange. A deadline is a timeout
// (down); a cancellation from the caller, e.g. at shutdown, leaves the check
// undecided (unknown).
func failure(ctx context.Context, err error, budget time.Duration, doing string) (Status, string) {
	suffix := ""
	if doing != "" {
		suffix = " " + doing
	}
	// Past the deadline it is a timeout, whatever error the library chose to
	// report (under load some report a cancellation that raced the timer).
	dl, hasDeadline := ctx.Deadline()
	pastDeadline := hasDeadline && !time.Now().Before(dl)
	switch {
	case pastDeadline || errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return StatusDown, "timeout after " + formatBudget(budget) + suffix
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return StatusUnknown, "check canceled before it finished"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return StatusDown, "timeout after " + formatBudget(budget) + suffix
	}
	return StatusDown, describeNetError(err)
}

// describeNetError turns a dial, TLS or I/O error into a short message
// without the URL (which may carry a token in its query).
func describeNetError(err error) string {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		urlErr  *url.Error
	)
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "DNS: no such host " + oneLine(dnsErr.Name)
		}
		if dnsErr.IsTimeout {
			return "DNS: lookup of " + oneLine(dnsErr.Name) + " timed out"
		}
		return "DNS: lookup of " + oneLine(dnsErr.Name) + " failed: " + oneLine(dnsErr.Err)
	case errors.As(err, &certErr):
		return "certificate: " + oneLine(certErr.Err.Error())
	case errors.As(err, &unkAuth):
		return "certificate: " + oneLine(unkAuth.Error())
	case errors.As(err, &host):
		return "certificate: " + oneLine(host.Error())
	case errors.As(err, &invalid):
		return "certificate: " + oneLine(invalid.Error())
	case errors.As(err, &recErr):
		return "TLS handshake failed: the server did not answer with TLS"
	case errors.As(err, &alert):
		return "TLS handshake failed: " + oneLine(alert.Error())
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	case errors.As(err, &urlErr):
		return oneLine(urlErr.Err.Error())
	}
	return oneLine(err.Error())
}

// oneLine makes peer-provided text safe for a one-line message: valid UTF-8,
// control characters as spaces, at most messageLimit bytes.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > messageLimit {
		s = truncateUTF8(s, messageLimit) + "…"
	}
	return s
}

// excerpt returns the first outputLimit bytes of b as valid UTF-8 without
// NUL bytes (PostgreSQL text refuses them), for Result.Output.
func excerpt(b []byte) string {
	if len(b) > outputLimit {
		b = b[:outputLimit]
		// Drop a rune cut in half rather than show a replacement character.
		i := len(b) - 1
		for n := 1; i > 0 && n < utf8.UTFMax && !utf8.RuneStart(b[i]); n++ {
			i--
		}
		if !utf8.FullRune(b[i:]) {
			b = b[:i]
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	return truncateUTF8(s, outputLimit) // replacements may have grown it
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// phaseRecorder collects Phases from httptrace hooks, which net.Dialer also
// calls for DNS and connect. Hooks may run on other goroutines (parallel
// dials to IPv4 and IPv6) and even after the check gave up, hence the lock.
// Over redirects the phases add up, so they keep splitting Latency.
type phaseRecorder struct {
	mu                                       sync.Mutex
	dnsStart, connStart, tlsStart, connReady time.Time
	p                                        Phases
}

func (r *phaseRecorder) trace() *httptrace.ClientTrace {
	now := time.Now
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { r.mu.Lock(); r.dnsStart = now(); r.mu.Unlock() },
		DNSDone: func(httptrace.DNSDoneInfo) {
			r.mu.Lock()
			if !r.dnsStart.IsZero() {
				r.p.DNS += now().Sub(r.dnsStart)
				r.dnsStart = time.Time{}
			}
			r.mu.Unlock()
		},
		ConnectStart: func(string, string) {
			r.mu.Lock()
			if r.connStart.IsZero() {
				r.connStart = now()
			}
			r.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			r.mu.Lock()
			if err == nil && !r.connStart.IsZero() {
				r.p.Connect += now().Sub(r.connStart)
				r.connStart = time.Time{}
			}
			r.mu.Unlock()
		},
		TLSHandshakeStart: func() { r.mu.Lock(); r.tlsStart = now(); r.mu.Unlock() },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			r.mu.Lock()
			if !r.tlsStart.IsZero() {
				r.p.TLS += now().Sub(r.tlsStart)
				r.tlsStart = time.Time{}
			}
			r.mu.Unlock()
		},
		GotConn:              func(httptrace.GotConnInfo) { r.mu.Lock(); r.connReady = now(); r.mu.Unlock() },
		GotFirstResponseByte: func() { r.addFirstByte(now()) },
	}
}

func (r *phaseRecorder) addFirstByte(at time.Time) {
	r.mu.Lock()
	if !r.connReady.IsZero() {
		r.p.FirstByte += at.Sub(r.connReady)
		r.connReady = time.Time{}
	}
	r.mu.Unlock()
}

func (r *phaseRecorder) addTLS(d time.Duration) {
	r.mu.Lock()
	r.p.TLS += d
	r.mu.Unlock()
}

func (r *phaseRecorder) markReady(at time.Time) {
	r.mu.Lock()
	r.connReady = at
	r.mu.Unlock()
}

func (r *phaseRecorder) phases() Phases {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}

// dialMeasured opens a TCP connection to host:port, recording the DNS and
// connect phases in rec. The connection's deadline is ctx's, and a
// cancellation of ctx unblocks its reads and writes; call the returned stop
// before closing.
func dialMeasured(ctx context.Context, rec *phaseRecorder, host string, port int) (net.Conn, func() bool, error) {
	var d net.Dialer
	conn, err := d.DialContext(httptrace.WithClientTrace(ctx, rec.trace()), "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return conn, stop, nil
}

// certExpiryDays is the fractional number of days until cert expires,
// negative once it has.
func certExpiryDays(cert *x509.Certificate, now time.Time) float64 {
	return cert.NotAfter.Sub(now).Hours() / 24
}

// certIssuer names a certificate's issuer the way people refer to it.
func certIssuer(cert *x509.Certificate) string {
	switch {
	case cert.Issuer.CommonName != "":
		return oneLine(cert.Issuer.CommonName)
	case len(cert.Issuer.Organization) > 0:
		return oneLine(cert.Issuer.Organization[0])
	}
	return oneLine(cert.Issuer.String())
}

// certExpiryMetric is the cert_expiry_days metric, rounded to hundredths.
func certExpiryMetric(cert *x509.Certificate, now time.Time) Metric {
	days := certExpiryDays(cert, now)
	return Metric{Name: metricCertExpiry, Value: float64(int64(days*100)) / 100, Unit: "d"}
}

// unverifiedLeaf returns the leaf certificate a TLS verification error carries.
func unverifiedLeaf(err error) *x509.Certificate {
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) && len(certErr.UnverifiedCertificates) > 0 {
		return certErr.UnverifiedCertificates[0]
	}
	return nil
}

// jsonPath is a simple path into a JSON document: keys joined by dots, with
// [n] list indexes, e.g. "data.items[0].status" or "[2].name". A leading "$"
// or "$." is allowed for those used to JSONPath.
type jsonPath struct {
	text  string
	steps []jsonPathStep
}

type jsonPathStep struct {
	key   string
	index int // used when key is ""
}

const (
	jsonPathMaxLen   = 512
	jsonPathMaxSteps = 64
)

func parseJSONPath(s string) (jsonPath, error) {
	p := jsonPath{text: s}
	if len(s) > jsonPathMaxLen {
		return p, fmt.Errorf("is too long (at most %d characters)", jsonPathMaxLen)
	}
	rest := s
	if strings.HasPrefix(rest, "$") {
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "$"), ".")
	}
	if rest == "" {
		return p, errors.New("must name a key or index, like data.items[0].status")
	}
	first := true
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return p, errors.New("has a [ without its ]")
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 || n > 1<<24 || rest[1] == '+' {
				return p, fmt.Errorf("has %q where a list index like [0] belongs", rest[:end+1])
			}
			p.steps = append(p.steps, jsonPathStep{index: n})
			rest = rest[end+1:]
			if rest != "" && rest[0] != '.' && rest[0] != '[' {
				return p, errors.New("needs a dot between ] and the next key")
			}
		case rest[0] == '.' && !first:
			rest = rest[1:]
			if rest == "" || rest[0] == '.' || rest[0] == '[' {
				return p, errors.New("has an empty key (two dots, or a dot before [ or at the end)")
			}
			fallthrough
		default:
			if rest[0] == '.' {
				return p, errors.New("must not start with a dot")
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			key := rest[:end]
			if strings.ContainsAny(key, "]") || !utf8.ValidString(key) {
				return p, fmt.Errorf("has an invalid key %q", key)
			}
			p.steps = append(p.steps, jsonPathStep{key: key})
			rest = rest[end:]
		}
		first = false
		if len(p.steps) > jsonPathMaxSteps {
			return p, fmt.Errorf("has more than %d steps", jsonPathMaxSteps)
		}
	}
	return p, nil
}

func (p jsonPath) String() string { return p.text }

// lookup follows the path in a document decoded with UseNumber.
func (p jsonPath) lookup(doc any) (any, bool) {
	v := doc
	for _, st := range p.steps {
		if st.key != "" {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = obj[st.key]; !ok {
				return nil, false
			}
			continue
		}
		arr, ok := v.([]any)
		if !ok || st.index >= len(arr) {
			return nil, false
		}
		v = arr[st.index]
	}
	return v, true
}

// jsonText is the string a JSON value is compared as: a string's own text, a
// number as written, true, false, null, or compact JSON for objects and lists.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// jsonValueEqual compares a found value with the wanted text: as text, and
// as numbers when both are numbers, so 1.0 matches 1.
func jsonValueEqual(got any, want string) bool {
	text := jsonText(got)
	if text == want {
		return true
	}
	if n, ok := got.(json.Number); ok {
		a, err1 := strconv.ParseFloat(string(n), 64)
		b, err2 := strconv.ParseFloat(want, 64)
		return err1 == nil && err2 == nil && a == b
	}
	return false
}
