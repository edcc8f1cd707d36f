package probe

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Limits and defaults of the snmp check.
const (
	snmpDefaultPort      = 161
	snmpDefaultCommunity = "public"
	snmpDefaultRetries   = 1
	snmpMaxRetries       = 5
	// snmpMaxOIDs bounds one check; snmpChunkOIDs is how many go in one
	// GET, small enough for any agent's PDU size.
	snmpMaxOIDs   = 64
	snmpChunkOIDs = 32
	// snmpMaxSubIDs is the most sub-identifiers an OID may have (RFC 2578).
	snmpMaxSubIDs = 128
	// snmpMaxMessage caps Result.Message; snmpMaxValueText caps one value
	// in it (the whole value goes to Output).
	snmpMaxMessage   = 300
	snmpMaxValueText = 64
	// snmpMaxOutputValue caps one value in Output, which holds them all.
	snmpMaxOutputValue = 512
	snmpMaxName        = 100
	snmpMaxExpect      = 1024
	snmpMaxSecret      = 255
	// snmpMinPassword is the USM minimum passphrase length (RFC 3414
	// section 11.2; Net-SNMP refuses shorter ones).
	snmpMinPassword = 8
	// snmpMinRateInterval is the least time between two samples that
	// makes a rate; closer samples come from overlapping runs.
	snmpMinRateInterval = 500 * time.Millisecond
)

// The SNMPv3 security levels, as Net-SNMP spells them.
const (
	snmpNoAuthNoPriv = "noAuthNoPriv"
	snmpAuthNoPriv   = "authNoPriv"
	snmpAuthPriv     = "authPriv"
)

var (
	snmpAuthProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
		"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA256": gosnmp.SHA256, "SHA512": gosnmp.SHA512,
	}
	snmpPrivProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
		"DES": gosnmp.DES, "AES": gosnmp.AES, "AES256": gosnmp.AES256,
	}
)

// SNMPSettings are the settings of an snmp check: one GET of up to 64 OIDs
// from an agent over SNMP v2c or v3, with conditions on the values.
type SNMPSettings struct {
	Host string `json:"host"`
	// Port is 161 when unset.
	Port int `json:"port,omitempty"`
	// Version is "2c" (the default) or "3".
	Version string `json:"version,omitempty"`
	// Community is the v2c community, "public" when unset. It is a
	// password of sorts and never shown in results.
	Community string `json:"community,omitempty"`
	// Username, SecurityLevel (noAuthNoPriv, authNoPriv or authPriv), the
	// authentication protocol (MD5, SHA, SHA256, SHA512) and password, and
	// the privacy protocol (DES, AES, AES256) and password are SNMPv3's
	// user-based security. The passwords are never shown in results.
	Username      string `json:"username,omitempty"`
	SecurityLevel string `json:"security_level,omitempty"`
	AuthProtocol  string `json:"auth_protocol,omitempty"`
	AuthPassword  string `json:"auth_password,omitempty"`
	PrivProtocol  string `json:"priv_protocol,omitempty"`
	PrivPassword  string `json:"priv_password,omitempty"`
	// Retries is how often a request is sent again when no answer comes,
	// 1 when unset; the check's timeout is shared among the tries.
	Retries *int `json:"retries,omitempty"`
	// OIDs are read with one GET request (two beyond 32 OIDs).
	OIDs []SNMPOID `json:"oids"`
}

// SNMPOID is one value to read and the conditions it must meet.
type SNMPOID struct {
	// OID is numeric and dotted, e.g. "1.3.6.1.2.1.2.2.1.8.1" (no MIB
	// names: opsdeck loads no MIBs). A leading dot is allowed.
	OID string `json:"oid"`
	// Name labels the value in the message and names its metric; the OID
	// when unset.
	Name string `json:"name,omitempty"`
	// Expect is the value's text it must equal, e.g. "1" for an
	// ifOperStatus of up. Numbers also match numerically ("1.0" = 1);
	// binary strings read as colon-separated hex ("00:1a:2b").
	Expect *string `json:"expect,omitempty"`
	// Warn and Crit are Nagios threshold ranges ("10", "@5:10", "~:20")
	// on the numeric value, or on its rate when Rate is set.
	Warn string `json:"warn,omitempty"`
	Crit string `json:"crit,omitempty"`
	// Rate reports a counter (Counter32 or Counter64) as its increase per
	// second since the check's previous run. The first run has no rate.
	Rate bool `json:"rate,omitempty"`
}

// SNMP is a validated snmp check. It keeps the last sample of each rate
// OID between runs, so one SNMP value is one check instance.
type SNMP struct {
	settings SNMPSettings
	oids     []snmpOID
	secrets  []string // redacted from Message and Output

	mu   sync.Mutex
	last []snmpSample // by OID index; only rate OIDs are used
}

// snmpOID is a validated SNMPOID.
type snmpOID struct {
	wire       string // with the leading dot, as agents answer
	name       string
	expect     *string
	warn, crit *Range
	rate       bool
}

// snmpSample is a counter's value at the time its answer came.
type snmpSample struct {
	typ   gosnmp.Asn1BER
	value uint64
	at    time.Time
}

var _ Check = (*SNMP)(nil)

// NewSNMP decodes and validates the settings of an snmp check. Errors name
// the offending field as a *valid.Error, except for malformed JSON. No
// message quotes a community or password.
func NewSNMP(raw json.RawMessage) (*SNMP, error) {
	c := &SNMP{}
	if err := decodeSettings("snmp", raw, &c.settings); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.last = make([]snmpSample, len(c.oids))
	return c, nil
}

// Settings returns the check's settings with defaults filled in.
func (c *SNMP) Settings() SNMPSettings { return c.settings }

// Target is host:port.
func (c *SNMP) Target() string {
	return net.JoinHostPort(c.settings.Host, strconv.Itoa(c.settings.Port))
}

func (c *SNMP) validate() error {
	s := &c.settings
	if err := checkHost("host", s.Host); err != nil {
		return err
	}
	if err := checkPort("port", s.Port, false); err != nil {
		return err
	}
	if s.Port == 0 {
		s.Port = snmpDefaultPort
	}
	if s.Retries == nil {
		s.Retries = new(snmpDefaultRetries)
	}
	if *s.Retries < 0 || *s.Retries > snmpMaxRetries {
		return valid.Errorf("retries", "must be from 0 to %d", snmpMaxRetries)
	}
	switch s.Version {
	case "", "2c":
		s.Version = "2c"
		if err := c.validateV2c(); err != nil {
			return err
		}
	case "3":
		if err := c.validateV3(); err != nil {
			return err
		}
	default:
		return valid.Errorf("version", `must be "2c" or "3"`)
	}
	return c.validateOIDs()
}

func (c *SNMP) validateV2c() error {
	s := &c.settings
	for _, f := range []struct{ name, value string }{
		{"username", s.Username}, {"security_level", s.SecurityLevel},
		{"auth_protocol", s.AuthProtocol}, {"auth_password", s.AuthPassword},
		{"priv_protocol", s.PrivProtocol}, {"priv_password", s.PrivPassword},
	} {
		if f.value != "" {
			return valid.Errorf(f.name, `only applies to version "3"`)
		}
	}
	if s.Community == "" {
		s.Community = snmpDefaultCommunity
	}
	if err := checkSNMPSecret("community", s.Community, 1); err != nil {
		return err
	}
	c.addSecret(s.Community)
	return nil
}

func (c *SNMP) validateV3() error {
	s := &c.settings
	if s.Community != "" {
		return valid.Errorf("community", `only applies to version "2c"; version 3 uses username and passwords`)
	}
	if err := valid.Text("username", s.Username, true, 32, false); err != nil {
		return err
	}
	level := ""
	for _, l := range []string{snmpNoAuthNoPriv, snmpAuthNoPriv, snmpAuthPriv} {
		if strings.EqualFold(s.SecurityLevel, l) {
			level = l
		}
	}
	switch {
	case s.SecurityLevel == "":
		return valid.Errorf("security_level", "is required for version 3: noAuthNoPriv, authNoPriv or authPriv")
	case level == "":
		return valid.Errorf("security_level", "must be noAuthNoPriv, authNoPriv or authPriv")
	}
	s.SecurityLevel = level
	auth, priv := level != snmpNoAuthNoPriv, level == snmpAuthPriv

	s.AuthProtocol = strings.ToUpper(s.AuthProtocol)
	s.PrivProtocol = strings.ToUpper(s.PrivProtocol)
	if err := checkSNMPv3Pair(auth, level, "auth", s.AuthProtocol, s.AuthPassword, "MD5, SHA, SHA256 or SHA512", func(p string) bool {
		_, ok := snmpAuthProtocols[p]
		return ok
	}); err != nil {
		return err
	}
	if err := checkSNMPv3Pair(priv, level, "priv", s.PrivProtocol, s.PrivPassword, "DES, AES or AES256", func(p string) bool {
		_, ok := snmpPrivProtocols[p]
		return ok
	}); err != nil {
		return err
	}
	c.addSecret(s.AuthPassword)
	c.addSecret(s.PrivPassword)
	return nil
}

// checkSNMPv3Pair validates a protocol and its password ("auth" or "priv"),
// which are required when the level uses them and refused otherwise.
func checkSNMPv3Pair(used bool, level, kind, protocol, password, protocols string, known func(string) bool) error {
	pf, wf := kind+"_protocol", kind+"_password"
	if !used {
		if protocol != "" {
			return valid.Errorf(pf, "does not apply to security_level %s", level)
		}
		if password != "" {
			return valid.Errorf(wf, "does not apply to security_level %s", level)
		}
		return nil
	}
	switch {
	case protocol == "":
		return valid.Errorf(pf, "is required for security_level %s: %s", level, protocols)
	case !known(protocol):
		return valid.Errorf(pf, "must be %s", protocols)
	}
	return checkSNMPSecret(wf, password, snmpMinPassword)
}

// checkSNMPSecret validates a community or password without quoting it.
func checkSNMPSecret(field, s string, minLen int) error {
	switch {
	case s == "":
		return valid.Errorf(field, "is required")
	case len(s) < minLen:
		return valid.Errorf(field, "must be at least %d characters", minLen)
	case len(s) > snmpMaxSecret:
		return valid.Errorf(field, "is too long (at most %d bytes)", snmpMaxSecret)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl):
		return valid.Errorf(field, "contains a control character or invalid UTF-8")
	}
	return nil
}

func (c *SNMP) validateOIDs() error {
	s := &c.settings
	switch {
	case len(s.OIDs) == 0:
		return valid.Errorf("oids", "needs at least one OID to read")
	case len(s.OIDs) > snmpMaxOIDs:
		return valid.Errorf("oids", "has %d OIDs, at most %d", len(s.OIDs), snmpMaxOIDs)
	}
	names := make(map[string]int, len(s.OIDs))
	for i := range s.OIDs {
		o := &s.OIDs[i]
		field := func(f string) string { return fmt.Sprintf("oids[%d].%s", i, f) }
		norm, msg := normSNMPOID(o.OID)
		if msg != "" {
			return valid.Errorf(field("oid"), "%s", msg)
		}
		o.OID = norm
		if o.Name == "" {
			o.Name = norm
		}
		if msg := checkSNMPName(o.Name); msg != "" {
			return valid.Errorf(field("name"), "%s", msg)
		}
		if j, dup := names[o.Name]; dup {
			return valid.Errorf(field("name"), "%q is already the name of oids[%d]; names must differ", o.Name, j)
		}
		names[o.Name] = i
		co := snmpOID{wire: "." + norm, name: o.Name, expect: o.Expect, rate: o.Rate}
		if o.Expect != nil {
			if len(*o.Expect) > snmpMaxExpect || !utf8.ValidString(*o.Expect) {
				return valid.Errorf(field("expect"), "must be valid UTF-8 of at most %d bytes", snmpMaxExpect)
			}
			if o.Rate {
				return valid.Errorf(field("expect"), "cannot be combined with rate; use warn or crit ranges on the rate")
			}
		}
		for _, t := range []struct {
			name, raw string
			dst       **Range
		}{{"warn", o.Warn, &co.warn}, {"crit", o.Crit, &co.crit}} {
			if t.raw == "" {
				continue
			}
			r, err := ParseRange(t.raw)
			if err != nil {
				return valid.Errorf(field(t.name), "is not a Nagios range (want 10, 10:, ~:10, 10:20 or @10:20)")
			}
			*t.dst = &r
		}
		c.oids = append(c.oids, co)
	}
	return nil
}

// normSNMPOID checks a numeric OID and returns it without a leading dot, or
// says what is wrong with it.
func normSNMPOID(s string) (string, string) {
	if s == "" {
		return "", "is required"
	}
	if len(s) > snmpMaxSubIDs*11 {
		return "", "is too long"
	}
	body := strings.TrimPrefix(s, ".")
	arcs := strings.Split(body, ".")
	if len(arcs) < 2 || len(arcs) > snmpMaxSubIDs {
		return "", fmt.Sprintf("must be a numeric OID such as 1.3.6.1.2.1.1.3.0 (2 to %d numbers separated by dots; MIB names are not loaded)", snmpMaxSubIDs)
	}
	var first uint64
	for i, a := range arcs {
		if a == "" || strings.TrimLeft(a, "0123456789") != "" {
			return "", "must be a numeric OID such as 1.3.6.1.2.1.1.3.0 (digits and dots only; MIB names are not loaded)"
		}
		if len(a) > 1 && a[0] == '0' {
			return "", fmt.Sprintf("has a leading zero in %q", a)
		}
		n, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return "", fmt.Sprintf("has %s, over the largest sub-identifier 4294967295", a)
		}
		switch {
		case i == 0 && n > 2:
			return "", "must start with 0, 1 or 2"
		case i == 0:
			first = n
		case i == 1 && first < 2 && n > 39:
			return "", "cannot have a second number over 39 after 0 or 1"
		}
	}
	return body, ""
}

// checkSNMPName says what is wrong with a metric name, or returns "".
// Commas and '=' would make the message "a=1, b=2" ambiguous.
func checkSNMPName(s string) string {
	switch {
	case strings.TrimSpace(s) != s:
		return "must not start or end with a space"
	case len(s) > snmpMaxName:
		return fmt.Sprintf("is too long (at most %d bytes)", snmpMaxName)
	case !validLabel(s):
		return "contains a control character or invalid UTF-8"
	case strings.ContainsAny(s, "=,'"):
		return "must not contain =, comma or '"
	}
	return ""
}

// addSecret remembers a value to redact; values shorter than 4 bytes
// would garble the output and are not worth it.
func (c *SNMP) addSecret(s string) {
	if len(s) >= 4 {
		c.secrets = append(c.secrets, s)
	}
}

func (c *SNMP) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// client builds a fresh gosnmp client for one run, so that runs share no
// connection or v3 engine state.
func (c *SNMP) client(ctx context.Context) *gosnmp.GoSNMP {
	s := c.settings
	g := &gosnmp.GoSNMP{
		Target:    s.Host,
		Port:      uint16(s.Port), //nolint:gosec // validated 1-65535
		Transport: "udp",
		Context:   ctx,
		Retries:   *s.Retries,
		MaxOids:   snmpChunkOIDs,
		Version:   gosnmp.Version2c,
		Community: s.Community,
	}
	if s.Version == "3" {
		g.Version, g.Community = gosnmp.Version3, ""
		g.SecurityModel = gosnmp.UserSecurityModel
		usm := &gosnmp.UsmSecurityParameters{UserName: s.Username}
		switch s.SecurityLevel {
		case snmpNoAuthNoPriv:
			g.MsgFlags = gosnmp.NoAuthNoPriv
		case snmpAuthNoPriv:
			g.MsgFlags = gosnmp.AuthNoPriv
		case snmpAuthPriv:
			g.MsgFlags = gosnmp.AuthPriv
		}
		if s.SecurityLevel != snmpNoAuthNoPriv {
			usm.AuthenticationProtocol = snmpAuthProtocols[s.AuthProtocol]
			usm.AuthenticationPassphrase = s.AuthPassword
		}
		if s.SecurityLevel == snmpAuthPriv {
			usm.PrivacyProtocol = snmpPrivProtocols[s.PrivProtocol]
			usm.PrivacyPassphrase = s.PrivPassword
		}
		g.SecurityParameters = usm
	}
	return g
}

// Probe sends the GET (in chunks of 32 OIDs) and judges the values.
func (c *SNMP) Probe(ctx context.Context) Result {
	ctx, cancel, budget := withProbeDeadline(ctx)
	defer cancel()
	start := time.Now()
	g := c.client(ctx)
	fail := func(err error) Result {
		st, msg := c.failure(ctx, err, budget)
		return Result{Status: st, Latency: time.Since(start), Message: msg}
	}
	if err := g.Connect(); err != nil {
		return fail(err)
	}
	defer g.Close()

	vars := make([]gosnmp.SnmpPDU, len(c.oids))
	at := make([]time.Time, len(c.oids))
	deadline, _ := ctx.Deadline()
	for from := 0; from < len(c.oids); from += snmpChunkOIDs {
		chunk := c.oids[from:min(from+snmpChunkOIDs, len(c.oids))]
		wire := make([]string, len(chunk))
		for i, o := range chunk {
			wire[i] = o.wire
		}
		// Each try may use its share of what is left; gosnmp cuts the last
		// one at ctx's deadline.
		g.Timeout = max(time.Until(deadline)/time.Duration(g.Retries+1), time.Millisecond)
		pkt, err := g.Get(wire)
		if err != nil {
			return fail(err)
		}
		now := time.Now()
		if pkt.Error != gosnmp.NoError {
			return Result{Status: StatusDown, Latency: time.Since(start), Message: c.redact(snmpErrorStatus(pkt, chunk))}
		}
		if len(pkt.Variables) != len(chunk) {
			msg := fmt.Sprintf("agent answered %d values for %d OIDs", len(pkt.Variables), len(chunk))
			return Result{Status: StatusDown, Latency: time.Since(start), Message: msg}
		}
		for i, o := range chunk {
			v := pkt.Variables[i]
			if v.Name != o.wire {
				// RFC 3416 keeps the order; find it anyway if an agent did not.
				v = gosnmp.SnmpPDU{Name: o.wire, Type: gosnmp.UnknownType}
				for _, w := range pkt.Variables {
					if w.Name == o.wire {
						v = w
					}
				}
			}
			vars[from+i], at[from+i] = v, now
		}
	}
	res := c.judge(vars, at)
	res.Latency = time.Since(start)
	return res
}

// failure words a failed exchange with the agent.
func (c *SNMP) failure(ctx context.Context, err error, budget time.Duration) (Status, string) {
	target := c.Target()
	st, msg := failure(ctx, err, budget, "")
	switch {
	case st == StatusUnknown:
		return st, msg
	case strings.HasPrefix(msg, "timeout") || errors.Is(err, gosnmp.ErrMaxRetriesExceeded):
		tries := *c.settings.Retries + 1
		// Agents drop requests with a wrong community or priv_password
		// without a word.
		hint := "agent down, port filtered, or the agent refuses our address or community"
		switch {
		case c.settings.SecurityLevel == snmpAuthPriv:
			hint = "agent down, port filtered, or the agent refuses our address or priv_password"
		case c.settings.Version == "3":
			hint = "agent down, port filtered, or the agent refuses our address"
		}
		return StatusDown, fmt.Sprintf("no answer from %s (timeout after %s, %d %s): %s",
			target, formatBudget(budget), tries, snmpPlural(tries, "try", "tries"), hint)
	}
	user := strconv.Quote(c.settings.Username)
	switch {
	case errors.Is(err, gosnmp.ErrWrongDigest):
		msg = "authentication failed for user " + user + ": wrong auth_password or auth_protocol"
	case strings.Contains(err.Error(), "not authentic"):
		// The agent rejected our credentials with an unauthenticated report
		// (wrongDigest, unknownUserName), which gosnmp discards unread.
		msg = "authentication failed for user " + user + ": check username, auth_protocol and auth_password"
	case errors.Is(err, gosnmp.ErrDecryption):
		msg = "decryption failed for user " + user + ": wrong priv_password or priv_protocol"
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		msg = "the agent does not know user " + user
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		msg = "the agent does not allow security_level " + c.settings.SecurityLevel + " for user " + user
	case errors.Is(err, gosnmp.ErrNotInTimeWindow):
		msg = "the agent refused the request as outside its time window"
	default:
		msg = "query to " + target + " failed: " + msg
	}
	return StatusDown, c.redact(msg)
}

// snmpErrorHints explain the error statuses a GET commonly meets.
var snmpErrorHints = map[gosnmp.SNMPError]string{
	gosnmp.TooBig:             "the answer would be too big; read fewer OIDs",
	gosnmp.GenErr:             "the agent failed to read a value",
	gosnmp.NoAccess:           "access denied",
	gosnmp.AuthorizationError: "access denied to this user, security level or OID",
}

// snmpErrorStatus words a response's error status, e.g. "agent answered
// authorizationError (access denied …)", naming the OID it points at.
func snmpErrorStatus(pkt *gosnmp.SnmpPacket, chunk []snmpOID) string {
	name := pkt.Error.String()
	if name != "" {
		name = strings.ToLower(name[:1]) + name[1:] // tooBig, as RFC 3416 spells them
	}
	msg := "agent answered " + name
	if i := int(pkt.ErrorIndex) - 1; i >= 0 && i < len(chunk) {
		msg += " for " + chunk[i].name
	}
	if hint := snmpErrorHints[pkt.Error]; hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

func snmpPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// snmpVerdict is what one OID contributed to a result.
type snmpVerdict struct {
	status Status
	text   string // "name=value (crit 10)"
}

// judge turns the answered values into a result, updating the counter
// samples of rate OIDs.
func (c *SNMP) judge(vars []gosnmp.SnmpPDU, at []time.Time) Result {
	var res Result
	verdicts := make([]snmpVerdict, len(c.oids))
	var out strings.Builder
	for i, o := range c.oids {
		v := vars[i]
		text, binary := snmpValueText(v)
		fmt.Fprintf(&out, "%s (%s) %s: %s", o.name, o.wire[1:], snmpTypeName(v.Type),
			truncateText(strings.Map(controlToSpace, text), snmpMaxOutputValue))
		vd, metric, rateText := c.judgeOne(i, o, v, text, binary, at[i])
		if rateText != "" {
			out.WriteString(" → " + rateText)
		}
		out.WriteByte('\n')
		verdicts[i] = vd
		if metric != nil {
			res.Metrics = append(res.Metrics, *metric)
		}
	}
	res.Status = StatusUp
	for _, vd := range verdicts {
		res.Status = snmpWorse(res.Status, vd.status)
	}
	// The worst first, so a capped message still says what is wrong.
	slices.SortStableFunc(verdicts, func(a, b snmpVerdict) int { return snmpStatusRank(b.status) - snmpStatusRank(a.status) })
	texts := make([]string, len(verdicts))
	for i, vd := range verdicts {
		texts[i] = vd.text
	}
	res.Message = truncateText(c.redact(strings.Join(texts, ", ")), snmpMaxMessage)
	res.Output = c.redact(excerpt([]byte(out.String())))
	return res
}

// judgeOne checks one value's conditions. rateText is the rate for Output
// when there is one.
func (c *SNMP) judgeOne(i int, o snmpOID, v gosnmp.SnmpPDU, text string, binary bool, at time.Time) (vd snmpVerdict, metric *Metric, rateText string) {
	short := oneLine(truncateText(text, snmpMaxValueText))
	vd = snmpVerdict{status: StatusUp, text: o.name + "=" + short}
	switch v.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null, gosnmp.UnknownType:
		vd.status = StatusDown
		vd.text = o.name + ": " + snmpTypeName(v.Type)
		if o.rate {
			c.forget(i)
		}
		return vd, nil, ""
	}
	if o.expect != nil && !snmpValueEqual(v, text, binary, *o.expect) {
		// Still judged and kept as a metric below: an ifOperStatus of 2 is
		// worth a point on the chart.
		vd.status = StatusDown
		vd.text += fmt.Sprintf(" (want %s)", oneLine(truncateText(*o.expect, snmpMaxValueText)))
	}

	value, numeric := snmpNumber(v, text)
	if o.rate {
		cur, ok := snmpCounterValue(v)
		if !ok {
			vd.status = StatusDown
			vd.text += fmt.Sprintf(" (%s, not a counter: rate needs Counter32 or Counter64)", snmpTypeName(v.Type))
			c.forget(i)
			return vd, nil, ""
		}
		rate, note := c.rate(i, snmpSample{typ: v.Type, value: cur, at: at})
		if note != "" {
			vd.text = fmt.Sprintf("%s=%s (%s)", o.name, short, note)
			return vd, nil, ""
		}
		value, numeric = rate, true
		rateText = formatSNMPNumber(rate) + "/s"
		vd.text = o.name + "=" + rateText
	}
	if !numeric {
		if o.warn != nil || o.crit != nil {
			vd.status = StatusDown
			vd.text += " (not a number, cannot compare with warn/crit)"
		}
		return vd, nil, rateText
	}
	m := &Metric{Name: o.name, Value: value, Warn: c.settings.OIDs[i].Warn, Crit: c.settings.OIDs[i].Crit}
	if o.rate {
		m.Unit = "/s"
	}
	switch {
	case o.crit != nil && o.crit.Alerts(value):
		vd.status = StatusDown
		vd.text += " (crit " + m.Crit + ")"
	case o.warn != nil && o.warn.Alerts(value):
		vd.status = snmpWorse(vd.status, StatusDegraded)
		vd.text += " (warn " + m.Warn + ")"
	}
	return vd, m, rateText
}

// rate records sample as OID i's latest and returns the per-second
// increase since the previous one, or a note saying why there is none.
func (c *SNMP) rate(i int, sample snmpSample) (float64, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.last[i]
	if !prev.at.IsZero() && sample.at.Sub(prev.at) < snmpMinRateInterval {
		// An overlapping run (or one that answered earlier than the sample
		// kept): a rate over so short a time would be noise.
		return 0, "rate from the next check"
	}
	c.last[i] = sample
	switch {
	case prev.at.IsZero():
		return 0, "first sample, rate from the next check"
	case prev.typ != sample.typ:
		return 0, "counter type changed, rate from the next check"
	}
	delta, ok := snmpCounterDelta(sample.typ, prev.value, sample.value)
	if !ok {
		return 0, "counter reset, rate from the next check"
	}
	secs := sample.at.Sub(prev.at).Seconds()
	return float64(delta) / secs, ""
}

// forget drops OID i's sample, e.g. when it vanished from the agent.
func (c *SNMP) forget(i int) {
	c.mu.Lock()
	c.last[i] = snmpSample{}
	c.mu.Unlock()
}

// snmpCounterDelta is how far a counter advanced from prev to cur. A decrease
// is read as one wrap-around at 2^32 (Counter32) or 2^64 (Counter64),
// unless that would mean it advanced by more than half its range: then the
// counter was reset (the agent restarted) and ok is false.
func snmpCounterDelta(typ gosnmp.Asn1BER, prev, cur uint64) (delta uint64, ok bool) {
	half := uint64(1) << 63
	if typ == gosnmp.Counter32 {
		prev, cur = prev&math.MaxUint32, cur&math.MaxUint32
		half = 1 << 31
	}
	if cur >= prev {
		return cur - prev, true
	}
	if typ == gosnmp.Counter32 {
		delta = (cur - prev) & math.MaxUint32
	} else {
		delta = cur - prev // wraps modulo 2^64
	}
	if delta > half {
		return 0, false
	}
	return delta, true
}

// snmpCounterValue returns a Counter32's or Counter64's value.
func snmpCounterValue(v gosnmp.SnmpPDU) (uint64, bool) {
	if v.Type != gosnmp.Counter32 && v.Type != gosnmp.Counter64 {
		return 0, false
	}
	switch x := v.Value.(type) {
	case uint:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	}
	return 0, false
}

// snmpValueText writes a value the way expect compares it: numbers in
// decimal, OIDs without the leading dot, text strings as they are and
// binary strings as colon-separated hex (binary is then true).
func snmpValueText(v gosnmp.SnmpPDU) (text string, binary bool) {
	switch x := v.Value.(type) {
	case nil:
		return "", false
	case string:
		if v.Type == gosnmp.ObjectIdentifier {
			return strings.TrimPrefix(x, "."), false
		}
		return x, false
	case []byte:
		if v.Type == gosnmp.OctetString && utf8.Valid(x) && !strings.ContainsFunc(string(x), isControl) {
			return string(x), false
		}
		return snmpHex(x), true
	case int:
		return strconv.Itoa(x), false
	case uint:
		return strconv.FormatUint(uint64(x), 10), false
	case uint32:
		return strconv.FormatUint(uint64(x), 10), false
	case uint64:
		return strconv.FormatUint(x, 10), false
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), false
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), false
	}
	return fmt.Sprint(v.Value), false
}

func snmpHex(b []byte) string {
	h := hex.EncodeToString(b)
	var s strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(h[i : i+2])
	}
	return s.String()
}

// snmpNumber is the numeric value of v: numeric types, and strings that
// hold a number (UCD-SNMP's laLoad is "0.15").
func snmpNumber(v gosnmp.SnmpPDU, text string) (float64, bool) {
	switch v.Type {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64,
		gosnmp.Uinteger32, gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		f, err := strconv.ParseFloat(text, 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case gosnmp.OctetString:
		return perfNumber(strings.TrimSpace(text))
	}
	return 0, false
}

// snmpValueEqual compares a value with an expected text: as text, as
// numbers when both are, and case-insensitively as hex for binary strings.
func snmpValueEqual(v gosnmp.SnmpPDU, text string, binary bool, want string) bool {
	if text == want {
		return true
	}
	if binary {
		return strings.EqualFold(text, strings.NewReplacer(" ", ":", "-", ":").Replace(strings.TrimSpace(want)))
	}
	if v.Type == gosnmp.ObjectIdentifier {
		return text == strings.TrimPrefix(want, ".")
	}
	if got, ok := snmpNumber(v, text); ok {
		w, ok := perfNumber(strings.TrimSpace(want))
		return ok && w == got
	}
	return false
}

func formatSNMPNumber(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// snmpTypeName names a value type the way SNMP documents do.
func snmpTypeName(t gosnmp.Asn1BER) string {
	switch t {
	case gosnmp.NoSuchObject:
		return "noSuchObject"
	case gosnmp.NoSuchInstance:
		return "noSuchInstance"
	case gosnmp.EndOfMibView:
		return "endOfMibView"
	case gosnmp.Null:
		return "no value (Null)"
	case gosnmp.UnknownType:
		return "no value"
	case gosnmp.IPAddress:
		return "IpAddress"
	case gosnmp.ObjectIdentifier:
		return "OID"
	}
	return t.String()
}

func snmpStatusRank(s Status) int {
	switch s {
	case StatusDown:
		return 3
	case StatusUnknown:
		return 2
	case StatusDegraded:
		return 1
	}
	return 0
}

func snmpWorse(a, b Status) Status {
	if snmpStatusRank(b) > snmpStatusRank(a) {
		return b
	}
	return a
}
