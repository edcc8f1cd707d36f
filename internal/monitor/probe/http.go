package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Limits of the http check.
const (
	httpURLMaxLen      = 4096
	httpBodyMaxLen     = 64 << 10 // request body
	httpReadLimit      = 1 << 20  // response body read for conditions
	httpMaxRedirects   = 10
	httpMaxHeaders     = 50
	httpHeaderValueMax = 8 << 10
	httpUserAgent      = "opsdeck-monitor/1"
)

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// HTTPSettings are the settings of an http check, as the API and the YAML
// config write them.
type HTTPSettings struct {
	// URL is the http or https URL to request. Credentials go in BasicAuth,
	// not in the URL, so the URL can be shown everywhere.
	URL string `json:"url"`
	// Method is one of httpMethods; GET when empty.
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is sent as the request body, at most 64 KiB.
	Body        string         `json:"body,omitempty"`
	BasicAuth   *HTTPBasicAuth `json:"basic_auth,omitempty"`
	BearerToken string         `json:"bearer_token,omitempty"`
	// FollowRedirects follows up to 10 redirects; true when unset.
	FollowRedirects *bool `json:"follow_redirects,omitempty"`
	// TLSVerify checks the server's certificate chain and name; true when
	// unset.
	TLSVerify *bool      `json:"tls_verify,omitempty"`
	Expect    HTTPExpect `json:"expect,omitzero"`
}

// HTTPBasicAuth is a user name and password sent as HTTP basic auth.
type HTTPBasicAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// HTTPExpect are the conditions a response must meet to be up. All set
// conditions must hold.
type HTTPExpect struct {
	// Status lists the accepted status codes; 200-399 when empty.
	Status HTTPStatusRanges `json:"status,omitempty"`
	// MaxLatency, a duration such as "2s", makes a slower response degraded.
	MaxLatency   string `json:"max_latency,omitempty"`
	BodyContains string `json:"body_contains,omitempty"`
	BodyRegex    string `json:"body_regex,omitempty"`
	// JSONPath names a value in a JSON body ("data.items[0].status"); with
	// JSONValue it must equal that text, without it it must exist.
	JSONPath string `json:"json_path,omitempty"`
	// JSONValue is a string, number or boolean in JSON, compared as text.
	JSONValue json.RawMessage `json:"json_value,omitempty"`
	// Headers are response headers that must be present with these values.
	Headers map[string]string `json:"headers,omitempty"`
}

// HTTP is a validated http check.
type HTTP struct {
	settings   HTTPSettings
	url        *url.URL
	status     HTTPStatusRanges
	maxLatency time.Duration
	bodyRegex  *regexp.Regexp
	jsonPath   *jsonPath
	jsonValue  *string
	secrets    []string // redacted from Message and Output
}

var _ Check = (*HTTP)(nil)

// NewHTTP decodes and validates an http check's settings. Errors name the
// offending field as a *valid.Error, except for malformed JSON.
func NewHTTP(raw json.RawMessage) (*HTTP, error) {
	var s HTTPSettings
	if err := decodeSettings("http", raw, &s); err != nil {
		return nil, err
	}
	h := &HTTP{}
	var err error
	if h.url, err = checkHTTPURL(s.URL); err != nil {
		return nil, err
	}
	s.Method = strings.ToUpper(strings.TrimSpace(s.Method))
	if s.Method == "" {
		s.Method = http.MethodGet
	}
	if !slices.Contains(httpMethods, s.Method) {
		return nil, valid.Errorf("method", "must be one of %s", strings.Join(httpMethods, ", "))
	}
	if err := checkHTTPHeaders(s); err != nil {
		return nil, err
	}
	if len(s.Body) > httpBodyMaxLen {
		return nil, valid.Errorf("body", "is too long (%d bytes, at most %d)", len(s.Body), httpBodyMaxLen)
	}
	if err := h.checkAuth(s); err != nil {
		return nil, err
	}
	if s.FollowRedirects == nil {
		s.FollowRedirects = new(true)
	}
	if s.TLSVerify == nil {
		s.TLSVerify = new(true)
	}
	if err := h.compileExpect(&s); err != nil {
		return nil, err
	}
	h.settings = s
	return h, nil
}

func checkHTTPURL(raw string) (*url.URL, error) {
	const f = "url"
	if len(raw) > httpURLMaxLen {
		return nil, valid.Errorf(f, "is too long (%d bytes, at most %d)", len(raw), httpURLMaxLen)
	}
	if err := valid.Text(f, raw, true, httpURLMaxLen, false); err != nil {
		return nil, err
	}
	if raw != strings.TrimSpace(raw) {
		return nil, valid.Errorf(f, "must not start or end with spaces")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, valid.Errorf(f, "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, valid.Errorf(f, "must start with http:// or https://")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, valid.Errorf(f, "must name a host, like https://example.com/health")
	}
	if u.User != nil {
		return nil, valid.Errorf(f, "must not hold credentials; use basic_auth")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, valid.Errorf(f, "has an invalid port %q", p)
		}
	}
	return u, nil
}

// httpReservedHeaders are set by the transport from the request itself.
var httpReservedHeaders = []string{"Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer"}

func checkHTTPHeaders(s HTTPSettings) error {
	if err := checkHeaderMap("headers", s.Headers, true); err != nil {
		return err
	}
	for name := range s.Headers {
		if http.CanonicalHeaderKey(name) == "Authorization" && (s.BasicAuth != nil || s.BearerToken != "") {
			return valid.Errorf("headers."+name, "conflicts with basic_auth or bearer_token; use one of them")
		}
	}
	return nil
}

// checkHeaderMap validates header names and values. Names that differ only
// in case are refused, as only one of them could take effect.
func checkHeaderMap(field string, headers map[string]string, request bool) error {
	if len(headers) > httpMaxHeaders {
		return valid.Errorf(field, "has too many headers (%d, at most %d)", len(headers), httpMaxHeaders)
	}
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		f := field + "." + name
		if !validHeaderName(name) {
			return valid.Errorf(f, "is not a valid header name")
		}
		canon := http.CanonicalHeaderKey(name)
		if prev, ok := seen[canon]; ok {
			return valid.Errorf(f, "repeats header %s", prev)
		}
		seen[canon] = name
		if request && slices.Contains(httpReservedHeaders, canon) {
			return valid.Errorf(f, "is set by the check itself")
		}
		v := headers[name]
		if len(v) > httpHeaderValueMax {
			return valid.Errorf(f, "is too long (at most %d bytes)", httpHeaderValueMax)
		}
		for _, r := range v {
			if r < ' ' && r != '\t' || r == 0x7f {
				return valid.Errorf(f, "contains a control character")
			}
		}
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (h *HTTP) checkAuth(s HTTPSettings) error {
	if s.BasicAuth != nil {
		if err := valid.Text("basic_auth.username", s.BasicAuth.Username, true, 256, false); err != nil {
			return err
		}
		if strings.Contains(s.BasicAuth.Username, ":") {
			return valid.Errorf("basic_auth.username", "must not contain a colon")
		}
		if err := valid.Text("basic_auth.password", s.BasicAuth.Password, false, 1024, false); err != nil {
			return err
		}
		if s.BearerToken != "" {
			return valid.Errorf("bearer_token", "cannot be used together with basic_auth")
		}
		h.addSecret(s.BasicAuth.Password)
		h.addSecret(base64.StdEncoding.EncodeToString([]byte(s.BasicAuth.Username + ":" + s.BasicAuth.Password)))
	}
	if s.BearerToken != "" {
		if err := valid.Text("bearer_token", s.BearerToken, false, 8192, false); err != nil {
			return err
		}
		if strings.ContainsAny(s.BearerToken, " \t") {
			return valid.Errorf("bearer_token", "must not contain spaces")
		}
		h.addSecret(s.BearerToken)
	}
	for name, v := range s.Headers {
		if httpSecretHeader.MatchString(name) {
			h.addSecret(v)
		}
	}
	return nil
}

// httpSecretHeader matches request header names whose values are likely
// credentials, kept out of messages like passwords.
var httpSecretHeader = regexp.MustCompile(`(?i)auth|token|key|secret|cookie|session|passw|signature`)

// addSecret remembers a value to redact. Values shorter than 4 bytes are
// not worth protecting and would garble the output.
func (h *HTTP) addSecret(s string) {
	if len(s) >= 4 {
		h.secrets = append(h.secrets, s)
	}
}

func (h *HTTP) compileExpect(s *HTTPSettings) error {
	e := &s.Expect
	h.status = e.Status
	if len(h.status) == 0 {
		h.status = HTTPStatusRanges{{200, 399}}
	}
	if e.MaxLatency != "" {
		d, err := time.ParseDuration(e.MaxLatency)
		if err != nil || d <= 0 {
			return valid.Errorf("expect.max_latency", "must be a positive duration such as \"2s\" or \"500ms\"")
		}
		h.maxLatency = d
	}
	bodyless := s.Method == http.MethodHead
	if e.BodyContains != "" {
		if len(e.BodyContains) > 4096 {
			return valid.Errorf("expect.body_contains", "is too long (at most 4096 bytes)")
		}
		if bodyless {
			return valid.Errorf("expect.body_contains", "cannot be checked: HEAD responses have no body")
		}
	}
	if e.BodyRegex != "" {
		if len(e.BodyRegex) > 1024 {
			return valid.Errorf("expect.body_regex", "is too long (at most 1024 bytes)")
		}
		if bodyless {
			return valid.Errorf("expect.body_regex", "cannot be checked: HEAD responses have no body")
		}
		re, err := regexp.Compile(e.BodyRegex)
		if err != nil {
			return valid.Errorf("expect.body_regex", "is not a valid regular expression: %s", oneLine(strings.TrimPrefix(err.Error(), "error parsing regexp: ")))
		}
		h.bodyRegex = re
	}
	if e.JSONPath != "" {
		if bodyless {
			return valid.Errorf("expect.json_path", "cannot be checked: HEAD responses have no body")
		}
		p, err := parseJSONPath(e.JSONPath)
		if err != nil {
			return valid.Errorf("expect.json_path", "%s", err.Error())
		}
		h.jsonPath = &p
	}
	if len(e.JSONValue) > 0 && !isJSONNull(e.JSONValue) {
		var v any
		d := json.NewDecoder(bytes.NewReader(e.JSONValue))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return valid.Errorf("expect.json_value", "must be a string, number or true/false")
		}
		switch v.(type) {
		case string, json.Number, bool:
		default:
			return valid.Errorf("expect.json_value", "must be a string, number or true/false")
		}
		text := jsonText(v)
		if len(text) > 4096 {
			return valid.Errorf("expect.json_value", "is too long (at most 4096 bytes)")
		}
		if h.jsonPath == nil {
			return valid.Errorf("expect.json_value", "needs expect.json_path to say where the value is")
		}
		h.jsonValue = &text
	}
	return checkHeaderMap("expect.headers", e.Headers, false)
}

// Settings returns the check's settings with defaults filled in.
func (h *HTTP) Settings() HTTPSettings { return h.settings }

// Target is the URL.
func (h *HTTP) Target() string { return h.settings.URL }

var errTooManyRedirects = fmt.Errorf("more than %d redirects", httpMaxRedirects)

// Probe sends the request once over a fresh connection and checks the
// response against the conditions.
func (h *HTTP) Probe(ctx context.Context) Result {
	ctx, cancel, budget := withProbeDeadline(ctx)
	defer cancel()
	var rec phaseRecorder
	ctx = httptrace.WithClientTrace(ctx, rec.trace())

	tr := h.transport()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: h.checkRedirect}
	req, err := h.request(ctx)
	if err != nil {
		return Result{Status: StatusUnknown, Message: "cannot build the request: " + h.redact(oneLine(err.Error()))}
	}

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res := Result{Latency: time.Since(start), Phases: rec.phases()}
		res.Status, res.Message = failure(ctx, err, budget, "")
		if errors.Is(err, errTooManyRedirects) {
			res.Message = "stopped after " + strconv.Itoa(httpMaxRedirects) + " redirects (a redirect loop?)"
		}
		if leaf := unverifiedLeaf(err); leaf != nil {
			res.Metrics = append(res.Metrics, certExpiryMetric(leaf, time.Now()))
		}
		res.Message = h.redact(res.Message)
		return res
	}
	defer resp.Body.Close()
	// One byte past the cap tells a cut body from one of exactly 1 MiB;
	// the rest is never read, and closing drops the connection.
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, httpReadLimit+1))
	truncated := len(body) > httpReadLimit
	if truncated {
		body = body[:httpReadLimit]
	}

	res := Result{
		Latency: time.Since(start),
		Phases:  rec.phases(),
		Output:  h.redact(excerpt(body)),
		Metrics: []Metric{{Name: "http_status", Value: float64(resp.StatusCode)}},
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		res.Metrics = append(res.Metrics, certExpiryMetric(resp.TLS.PeerCertificates[0], time.Now()))
	}
	if readErr != nil {
		res.Status, res.Message = failure(ctx, readErr, budget, fmt.Sprintf("reading the body (got %d bytes)", len(body)))
		res.Message = "HTTP " + strconv.Itoa(resp.StatusCode) + ", then " + res.Message
		return res
	}
	res.Status, res.Message = h.evaluate(resp, body, truncated, res.Latency)
	res.Message = h.redact(res.Message)
	return res
}

// transport is a fresh transport per check, so each check measures a real
// DNS lookup, connect and handshake, with no connection kept afterwards.
func (h *HTTP) transport() *http.Transport {
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{KeepAlive: -1}).DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: !*h.settings.TLSVerify}, //nolint:gosec // the user's choice, default on
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 256 << 10,
	}
}

func (h *HTTP) checkRedirect(_ *http.Request, via []*http.Request) error {
	if !*h.settings.FollowRedirects {
		return http.ErrUseLastResponse
	}
	if len(via) > httpMaxRedirects {
		return errTooManyRedirects
	}
	return nil
}

func (h *HTTP) request(ctx context.Context) (*http.Request, error) {
	s := h.settings
	var body io.Reader
	if s.Body != "" {
		body = strings.NewReader(s.Body)
	}
	req, err := http.NewRequestWithContext(ctx, s.Method, h.url.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", httpUserAgent)
	for name, v := range s.Headers {
		if http.CanonicalHeaderKey(name) == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(name, v)
	}
	switch {
	case s.BasicAuth != nil:
		req.SetBasicAuth(s.BasicAuth.Username, s.BasicAuth.Password)
	case s.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+s.BearerToken)
	}
	return req, nil
}

// evaluate checks the conditions in a fixed order and reports the first
// that fails; latency over max_latency only degrades.
func (h *HTTP) evaluate(resp *http.Response, body []byte, truncated bool, latency time.Duration) (Status, string) {
	e := h.settings.Expect
	status := "HTTP " + strconv.Itoa(resp.StatusCode)
	if !h.status.Contains(resp.StatusCode) {
		return StatusDown, status + ", want " + h.status.String()
	}
	for _, name := range slices.Sorted(maps.Keys(e.Headers)) {
		want := e.Headers[name]
		got, ok := resp.Header[http.CanonicalHeaderKey(name)]
		switch {
		case !ok:
			return StatusDown, fmt.Sprintf("header %s is missing, want %q", name, want)
		case !slices.Contains(got, want) && strings.Join(got, ", ") != want:
			return StatusDown, fmt.Sprintf("header %s is %q, want %q", name, oneLine(strings.Join(got, ", ")), want)
		}
	}
	within := ""
	if truncated {
		within = fmt.Sprintf(" in its first %d KiB", httpReadLimit>>10)
	}
	if e.BodyContains != "" && !bytes.Contains(body, []byte(e.BodyContains)) {
		return StatusDown, fmt.Sprintf("body does not contain %q%s", e.BodyContains, within)
	}
	if h.bodyRegex != nil && !h.bodyRegex.Match(body) {
		return StatusDown, fmt.Sprintf("body does not match /%s/%s", e.BodyRegex, within)
	}
	if h.jsonPath != nil {
		if st, msg := h.checkJSON(body, truncated); st != StatusUp {
			return st, msg
		}
	}
	if text := http.StatusText(resp.StatusCode); text != "" {
		status += " " + text
	}
	if h.maxLatency > 0 && latency > h.maxLatency {
		return StatusDegraded, fmt.Sprintf("%s, but slow: %s, want at most %s", status, latency.Round(time.Millisecond), h.maxLatency)
	}
	return StatusUp, status
}

func (h *HTTP) checkJSON(body []byte, truncated bool) (Status, string) {
	var doc any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		if truncated {
			return StatusDown, fmt.Sprintf("body is not JSON that fits in %d KiB", httpReadLimit>>10)
		}
		return StatusDown, "body is not JSON: " + oneLine(err.Error())
	}
	got, ok := h.jsonPath.lookup(doc)
	if !ok {
		return StatusDown, fmt.Sprintf("JSON path %s not found in the body", h.jsonPath)
	}
	if h.jsonValue != nil && !jsonValueEqual(got, *h.jsonValue) {
		return StatusDown, fmt.Sprintf("JSON %s is %s, want %q", h.jsonPath, oneLine(strconv.Quote(truncateUTF8(jsonText(got), 100))), *h.jsonValue)
	}
	return StatusUp, ""
}

// redact replaces the check's credentials in text shown to users: a server
// may echo the request headers in its body.
func (h *HTTP) redact(s string) string {
	for _, secret := range h.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// HTTPStatusRanges is a set of accepted HTTP status codes. In JSON it is a
// list whose items are codes (200), ranges ("200-299") or classes ("2xx");
// a single item may stand alone, and a string may list items separated by
// commas ("200-299,401").
type HTTPStatusRanges []HTTPStatusRange

// HTTPStatusRange is an inclusive range of HTTP status codes.
type HTTPStatusRange struct{ Min, Max int }

const httpStatusMaxItems = 50

// UnmarshalJSON parses codes, ranges and classes; errors are worded to follow
// the field name.
func (r *HTTPStatusRanges) UnmarshalJSON(b []byte) error {
	if isJSONNull(b) {
		return nil
	}
	var items []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		if err := json.Unmarshal(b, &items); err != nil {
			return errors.New("must be a list of status codes or ranges like \"200-299\"")
		}
	} else {
		items = []json.RawMessage{b}
	}
	var out HTTPStatusRanges
	for _, item := range items {
		var s string
		var n json.Number
		switch {
		case json.Unmarshal(item, &n) == nil:
			s = n.String()
		case json.Unmarshal(item, &s) == nil:
		default:
			return errors.New("must list status codes (200), ranges (\"200-299\") or classes (\"2xx\")")
		}
		for part := range strings.SplitSeq(s, ",") {
			rg, err := parseStatusRange(strings.TrimSpace(part))
			if err != nil {
				return err
			}
			out = append(out, rg)
			if len(out) > httpStatusMaxItems {
				return fmt.Errorf("has too many items (at most %d)", httpStatusMaxItems)
			}
		}
	}
	*r = out
	return nil
}

func parseStatusRange(s string) (HTTPStatusRange, error) {
	bad := fmt.Errorf("has %q, which is not a status code (200), range (\"200-299\") or class (\"2xx\")", truncateUTF8(s, 20))
	code := func(t string) (int, error) {
		t = strings.TrimSpace(t)
		n, err := strconv.Atoi(t)
		if err != nil || len(t) != 3 {
			return 0, bad
		}
		if n < 100 || n > 599 {
			return 0, fmt.Errorf("has %d; status codes run from 100 to 599", n)
		}
		return n, nil
	}
	if len(s) == 3 && (strings.HasSuffix(s, "xx") || strings.HasSuffix(s, "XX")) && s[0] >= '1' && s[0] <= '5' {
		lo := int(s[0]-'0') * 100
		return HTTPStatusRange{lo, lo + 99}, nil
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err := code(lo)
		if err != nil {
			return HTTPStatusRange{}, err
		}
		b, err := code(hi)
		if err != nil {
			return HTTPStatusRange{}, err
		}
		if a > b {
			return HTTPStatusRange{}, fmt.Errorf("has the range %q, which runs backwards", s)
		}
		return HTTPStatusRange{a, b}, nil
	}
	n, err := code(s)
	return HTTPStatusRange{n, n}, err
}

// MarshalJSON writes the ranges as a list of strings ("200", "200-299").
func (r HTTPStatusRanges) MarshalJSON() ([]byte, error) {
	items := make([]string, len(r))
	for i, rg := range r {
		items[i] = rg.String()
	}
	return json.Marshal(items)
}

// Contains reports whether code is in one of the ranges.
func (r HTTPStatusRanges) Contains(code int) bool {
	return slices.ContainsFunc(r, func(rg HTTPStatusRange) bool { return code >= rg.Min && code <= rg.Max })
}

// String lists the ranges as a user writes them: "200-299,404".
func (r HTTPStatusRanges) String() string {
	items := make([]string, len(r))
	for i, rg := range r {
		items[i] = rg.String()
	}
	return strings.Join(items, ",")
}

// String is "200" for one code and "200-299" for a range.
func (rg HTTPStatusRange) String() string {
	if rg.Min == rg.Max {
		return strconv.Itoa(rg.Min)
	}
	return strconv.Itoa(rg.Min) + "-" + strconv.Itoa(rg.Max)
}
