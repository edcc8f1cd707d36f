package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// dnsRecordTypes are the record types a dns check may ask for.
var dnsRecordTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR", "CAA"}

const (
	// dnsResolvConf is where the system resolver is read from when a check
	// names none.
	dnsResolvConf = "/etc/resolv.conf"
	// dnsFallbackResolver is used when resolv.conf names no nameserver, as
	// the C library does.
	dnsFallbackResolver = "127.0.0.1:53"
	// dnsMaxMessage and dnsMaxOutput cap the answers listed in a Result.
	dnsMaxMessage = 300
	dnsMaxOutput  = 8 << 10
	// dnsUDPSize is the EDNS0 buffer size advertised, the DNS Flag Day 2020
	// value that avoids IP fragmentation.
	dnsUDPSize = 1232
)

// DNSSettings are the settings of a dns check: one query for one name and
// record type to a resolver (or an authoritative server), with the response
// code and, optionally, the answers to expect.
type DNSSettings struct {
	// Name is the name to look up. For PTR it may be an IP address, which
	// is turned into its in-addr.arpa or ip6.arpa name.
	Name string `json:"query"`
	// RecordType is one of A AAAA CNAME MX TXT NS SOA SRV PTR CAA; A by
	// default.
	RecordType string `json:"record_type,omitempty"`
	// Resolver is the server asked, "host:port" (":53" may be left out).
	// Empty means the system's first nameserver in /etc/resolv.conf, read
	// at each probe so a changed resolv.conf is followed.
	Resolver string `json:"resolver,omitempty"`
	// Protocol is udp (the default) or tcp. A truncated UDP answer is
	// asked again over TCP, as a stub resolver does.
	Protocol string `json:"protocol,omitempty"`
	// Expect lists values that must all be among the answers: addresses
	// for A and AAAA, names for CNAME NS PTR (case and trailing dot do not
	// matter), "10 mail.example.com" or just the host for MX, the text for
	// TXT (exact), the target or "priority weight port target" for SRV, the
	// primary name server or the whole record for SOA, the value or
	// "flags tag value" for CAA.
	Expect []string `json:"expect,omitempty"`
	// ExpectRcode is the response code that counts as success: NOERROR by
	// default; NXDOMAIN checks that a name does not exist.
	ExpectRcode string `json:"expect_rcode,omitempty"`
}

// DNS is a validated dns check.
type DNS struct {
	settings   DNSSettings
	qname      string
	qtype      uint16
	rcode      int
	expect     []string // Expect as answerForms writes values
	resolvConf string
}

var _ Check = (*DNS)(nil)

// NewDNS decodes and validates the settings of a dns check. Errors name the
// offending field as a *valid.Error, except for malformed JSON.
func NewDNS(raw json.RawMessage) (*DNS, error) {
	d := &DNS{resolvConf: dnsResolvConf}
	if err := decodeSettings("dns", raw, &d.settings); err != nil {
		return nil, err
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// Settings returns the check's settings with defaults filled in.
func (d *DNS) Settings() DNSSettings { return d.settings }

func (d *DNS) validate() error {
	s := &d.settings
	s.RecordType = strings.ToUpper(strings.TrimSpace(s.RecordType))
	if s.RecordType == "" {
		s.RecordType = "A"
	}
	if !slices.Contains(dnsRecordTypes, s.RecordType) {
		return valid.Errorf("record_type", "must be one of %s", strings.Join(dnsRecordTypes, " "))
	}
	d.qtype = dns.StringToType[s.RecordType]

	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		return valid.Errorf("query", "is required")
	}
	if ip, err := netip.ParseAddr(s.Name); err == nil && d.qtype == dns.TypePTR {
		arpa, err := dns.ReverseAddr(ip.String())
		if err != nil {
			return valid.Errorf("query", "cannot be reversed: %v", err)
		}
		d.qname = arpa
	} else {
		if msg := checkDNSName(s.Name); msg != "" {
			return valid.Errorf("query", "%s", msg)
		}
		d.qname = dns.Fqdn(s.Name)
	}

	s.Protocol = strings.ToLower(strings.TrimSpace(s.Protocol))
	switch s.Protocol {
	case "":
		s.Protocol = "udp"
	case "udp", "tcp":
	default:
		return valid.Errorf("protocol", "must be udp or tcp")
	}

	if s.Resolver = strings.TrimSpace(s.Resolver); s.Resolver != "" {
		r, msg := normResolver(s.Resolver)
		if msg != "" {
			return valid.Errorf("resolver", "%s", msg)
		}
		s.Resolver = r
	}

	s.ExpectRcode = strings.ToUpper(strings.TrimSpace(s.ExpectRcode))
	if s.ExpectRcode == "" {
		s.ExpectRcode = "NOERROR"
	}
	rcode, ok := dns.StringToRcode[s.ExpectRcode]
	if !ok || rcode > 0xF {
		return valid.Errorf("expect_rcode", "must be a DNS response code such as NOERROR, NXDOMAIN, SERVFAIL or REFUSED")
	}
	d.rcode = rcode

	if len(s.Expect) > 32 {
		return valid.Errorf("expect", "has %d values, at most 32", len(s.Expect))
	}
	for _, e := range s.Expect {
		n, msg := normExpect(d.qtype, e)
		if msg != "" {
			return valid.Errorf("expect", "%q %s", e, msg)
		}
		d.expect = append(d.expect, n)
	}
	return nil
}

// checkDNSName returns why s is not a host or domain name, or "". It is
// stricter than the DNS itself: letters, digits, '-', '_' (SRV and DKIM
// labels) and a '*' label.
func checkDNSName(s string) string {
	name := strings.TrimSuffix(s, ".")
	if name == "" || len(name) > 253 {
		return "is not a valid DNS name (1 to 253 characters)"
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return "is not a valid DNS name (empty label or label over 63 characters)"
		}
		if label == "*" {
			continue
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			case c >= 0x80:
				return "is not a valid DNS name; write internationalised names in their xn-- form"
			default:
				return fmt.Sprintf("is not a valid DNS name (%q not allowed)", c)
			}
		}
	}
	return ""
}

// normResolver turns "host:port", "host", "ip" or "[ipv6]:port" into a
// host:port address.
func normResolver(s string) (string, string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "53"
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", "has an invalid port (want host:port, port 1-65535)"
	}
	if _, err := netip.ParseAddr(host); err != nil {
		if msg := checkDNSName(host); msg != "" {
			return "", "must be an IP address or host name, with an optional :port"
		}
	}
	return net.JoinHostPort(host, port), ""
}

// systemResolver returns the first nameserver of a resolv.conf file.
func systemResolver(path string) string {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil || len(cfg.Servers) == 0 {
		return dnsFallbackResolver
	}
	port := cfg.Port
	if port == "" {
		port = "53"
	}
	return net.JoinHostPort(cfg.Servers[0], port)
}

// normName lower-cases a domain name and drops its trailing dot.
func normName(s string) string {
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

// normExpect brings an expected value into the form answerForms writes, or
// says why it cannot match a record of type qtype.
func normExpect(qtype uint16, s string) (string, string) {
	if qtype == dns.TypeTXT {
		if len(s) > 4096 {
			return "", "is too long"
		}
		return s, ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "is empty"
	}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		ip, err := netip.ParseAddr(s)
		if err != nil || (qtype == dns.TypeA) != ip.Is4() {
			return "", "is not an " + map[uint16]string{dns.TypeA: "IPv4", dns.TypeAAAA: "IPv6"}[qtype] + " address"
		}
		return ip.String(), ""
	}
	fields := strings.Fields(strings.ReplaceAll(s, `"`, ""))
	for i, f := range fields {
		fields[i] = normName(f)
	}
	return strings.Join(fields, " "), ""
}

// answerForms lists the ways an expected value may name rr: the whole
// record data and, for records with a target, the target alone.
func answerForms(rr dns.RR) []string {
	switch rr := rr.(type) {
	case *dns.A:
		if ip, ok := netip.AddrFromSlice(rr.A); ok {
			return []string{ip.Unmap().String()}
		}
	case *dns.AAAA:
		if ip, ok := netip.AddrFromSlice(rr.AAAA); ok {
			return []string{ip.String()}
		}
	case *dns.CNAME:
		return []string{normName(rr.Target)}
	case *dns.NS:
		return []string{normName(rr.Ns)}
	case *dns.PTR:
		return []string{normName(rr.Ptr)}
	case *dns.MX:
		return []string{fmt.Sprintf("%d %s", rr.Preference, normName(rr.Mx)), normName(rr.Mx)}
	case *dns.TXT:
		return []string{strings.Join(rr.Txt, "")}
	case *dns.SRV:
		t := normName(rr.Target)
		return []string{fmt.Sprintf("%d %d %d %s", rr.Priority, rr.Weight, rr.Port, t), t}
	case *dns.SOA:
		ns := normName(rr.Ns)
		return []string{fmt.Sprintf("%s %s %d %d %d %d %d", ns, normName(rr.Mbox), rr.Serial, rr.Refresh, rr.Retry, rr.Expire, rr.Minttl), ns}
	case *dns.CAA:
		v := strings.ToLower(rr.Value)
		return []string{fmt.Sprintf("%d %s %s", rr.Flag, strings.ToLower(rr.Tag), v), v}
	}
	return []string{strings.TrimSpace(strings.TrimPrefix(rr.String(), rr.Header().String()))}
}

// Target names the query: "example.com MX" or "example.com MX @1.1.1.1:53".
func (d *DNS) Target() string {
	s := d.settings
	t := s.Name + " " + s.RecordType
	if s.Resolver != "" {
		t += " @" + s.Resolver
	}
	if s.Protocol == "tcp" {
		t += " (tcp)"
	}
	return t
}

// Probe sends the query once and judges the response.
func (d *DNS) Probe(ctx context.Context) Result {
	ctx, cancel, budget := withProbeDeadline(ctx)
	defer cancel()
	s := d.settings
	resolver := s.Resolver
	if resolver == "" {
		resolver = systemResolver(d.resolvConf)
	}
	q := new(dns.Msg)
	q.SetQuestion(d.qname, d.qtype)
	q.SetEdns0(dnsUDPSize, false)

	client := &dns.Client{Net: s.Protocol, UDPSize: dnsUDPSize}
	resp, rtt, err := exchangeDNS(ctx, client, q, resolver)
	if err == nil && resp.Truncated && s.Protocol == "udp" {
		var tcpRTT time.Duration
		client.Net = "tcp"
		resp, tcpRTT, err = exchangeDNS(ctx, client, q, resolver)
		rtt += tcpRTT
	}
	if err != nil {
		st, msg := failure(ctx, err, budget, "waiting for "+resolver)
		if st == StatusDown && !strings.HasPrefix(msg, "timeout") {
			msg = "query to " + resolver + " failed: " + msg
		}
		return Result{Status: st, Latency: rtt, Message: msg}
	}

	res := Result{Latency: rtt, Output: dnsOutput(resp)}
	if resp.Rcode != d.rcode {
		res.Status = StatusDown
		res.Message = fmt.Sprintf("%s from %s (want %s)", dns.RcodeToString[resp.Rcode], resolver, s.ExpectRcode)
		return res
	}
	forms := map[string]bool{}
	matching := 0
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == d.qtype {
			matching++
		}
		for _, f := range answerForms(rr) {
			forms[f] = true
		}
	}
	var missing []string
	for i, e := range d.expect {
		if !forms[e] {
			missing = append(missing, s.Expect[i])
		}
	}
	listed := d.listAnswers(resp.Answer)
	switch {
	case len(missing) > 0:
		res.Status = StatusDown
		res.Message = truncateText(fmt.Sprintf("missing %s; answers: %s", strings.Join(missing, ", "), listed), dnsMaxMessage)
	case len(d.expect) == 0 && d.rcode == dns.RcodeSuccess && matching == 0:
		res.Status = StatusDown
		res.Message = truncateText(fmt.Sprintf("no %s record for %s; answers: %s", s.RecordType, d.qname, listed), dnsMaxMessage)
	case d.rcode != dns.RcodeSuccess:
		res.Status = StatusUp
		res.Message = dns.RcodeToString[resp.Rcode] + " as expected"
	default:
		res.Status = StatusUp
		res.Message = listed
	}
	return res
}

// exchangeDNS sends q and returns the answer and the round-trip time, or on
// failure the time spent.
func exchangeDNS(ctx context.Context, c *dns.Client, q *dns.Msg, resolver string) (*dns.Msg, time.Duration, error) {
	start := time.Now()
	resp, rtt, err := c.ExchangeContext(ctx, q, resolver)
	if err != nil {
		return nil, time.Since(start), err
	}
	return resp, rtt, nil
}

// listAnswers writes the answers for Message, shortest form first, with the
// type in front of records of another type (a CNAME before the A records).
func (d *DNS) listAnswers(rrs []dns.RR) string {
	if len(rrs) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, rr := range rrs {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > dnsMaxMessage {
			fmt.Fprintf(&b, "… (%d answers)", len(rrs))
			break
		}
		if t := rr.Header().Rrtype; t != d.qtype {
			b.WriteString(dns.TypeToString[t] + " ")
		}
		v := answerForms(rr)[0]
		if _, ok := rr.(*dns.TXT); ok {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// dnsOutput keeps the answer and authority sections in zone-file form.
func dnsOutput(resp *dns.Msg) string {
	var b strings.Builder
	for _, rr := range resp.Answer {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	for _, rr := range resp.Ns {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return truncateText(strings.TrimSuffix(b.String(), "\n"), dnsMaxOutput)
}
