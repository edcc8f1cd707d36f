package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// testZone answers the queries the DNS tests make, like a small
// authoritative server for example.test.
var testZone = func() map[string][]dns.RR {
	zone := map[string][]dns.RR{}
	for _, s := range []string{
		"www.example.test. 300 IN A 192.0.2.10",
		"www.example.test. 300 IN A 192.0.2.11",
		"www.example.test. 300 IN AAAA 2001:db8::10",
		"alias.example.test. 300 IN CNAME www.example.test.",
		"example.test. 300 IN MX 10 mail.example.test.",
		"example.test. 300 IN MX 20 MX2.Example.Test.",
		`example.test. 300 IN TXT "v=spf1 -all"`,
		`example.test. 300 IN TXT "part one, " "part two"`,
		"example.test. 300 IN NS ns1.example.test.",
		"example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300",
		"example.test. 300 IN CAA 0 issue \"letsencrypt.org\"",
		"_sip._tcp.example.test. 300 IN SRV 10 60 5060 sip.example.test.",
		"10.2.0.192.in-addr.arpa. 300 IN PTR www.example.test.",
	} {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		k := strings.ToLower(rr.Header().Name) + "/" + dns.TypeToString[rr.Header().Rrtype]
		zone[k] = append(zone[k], rr)
	}
	// Enough TXT records to overflow a UDP answer.
	for i := range 60 {
		rr, _ := dns.NewRR(fmt.Sprintf(`big.example.test. 300 IN TXT "record %02d %s"`, i, strings.Repeat("x", 40)))
		zone["big.example.test./TXT"] = append(zone["big.example.test./TXT"], rr)
	}
	return zone
}()

// testDNSServer is a miekg/dns server on loopback, UDP and TCP on the same
// port, that records the networks queries came over.
type testDNSServer struct {
	addr string
	mu   sync.Mutex
	nets []string
}

func startTestDNS(t *testing.T) *testDNSServer {
	t.Helper()
	s := &testDNSServer{}
	// The resolver is one address for UDP and TCP: take a free UDP port and
	// try the same TCP port, again with another port when something on
	// this shared machine holds that one over TCP.
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		s.addr = pc.LocalAddr().String()
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatalf("no port free for both UDP and TCP: %v", err)
		}
	}
	handler := dns.HandlerFunc(s.serve)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() {
			_ = srv.Shutdown()
			<-done
		})
	}
	return s
}

func (s *testDNSServer) serve(w dns.ResponseWriter, q *dns.Msg) {
	network := w.RemoteAddr().Network()
	s.mu.Lock()
	s.nets = append(s.nets, network)
	s.mu.Unlock()

	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	question := q.Question[0]
	name := strings.ToLower(question.Name)
	switch {
	case name == "refused.example.test.":
		m.Rcode = dns.RcodeRefused
	case name == "empty.example.test.":
		// exists, no records of the type: NOERROR with no answer
	case question.Qtype == dns.TypeA && name == "alias.example.test.":
		m.Answer = append(m.Answer, testZone["alias.example.test./CNAME"]...)
		m.Answer = append(m.Answer, testZone["www.example.test./A"]...)
	default:
		rrs, ok := testZone[name+"/"+dns.TypeToString[question.Qtype]]
		if !ok {
			m.Rcode = dns.RcodeNameError
			soa := testZone["example.test./SOA"][0]
			m.Ns = []dns.RR{soa}
		}
		m.Answer = rrs
	}
	if network == "udp" {
		size := dns.MinMsgSize
		if opt := q.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

func (s *testDNSServer) networks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.nets...)
}

func newDNST(t *testing.T, settings map[string]any) *DNS {
	t.Helper()
	raw, _ := json.Marshal(settings)
	d, err := NewDNS(raw)
	if err != nil {
		t.Fatalf("NewDNS(%s): %v", raw, err)
	}
	return d
}

func TestDNSAgainstLoopbackServer(t *testing.T) {
	srv := startTestDNS(t)
	tests := []struct {
		name     string
		settings map[string]any
		status   Status
		message  string // substring
	}{
		{"A", map[string]any{"query": "www.example.test"}, StatusUp, "192.0.2.10, 192.0.2.11"},
		{"A expected", map[string]any{"query": "www.example.test.", "expect": []string{"192.0.2.11", "192.0.2.10"}}, StatusUp, "192.0.2.10"},
		{"A one missing", map[string]any{"query": "www.example.test", "expect": []string{"192.0.2.10", "192.0.2.99"}}, StatusDown, "missing 192.0.2.99; answers: 192.0.2.10, 192.0.2.11"},
		{"AAAA written long", map[string]any{"query": "www.example.test", "record_type": "aaaa", "expect": []string{"2001:0db8:0000::0010"}}, StatusUp, "2001:db8::10"},
		{"A through CNAME", map[string]any{"query": "alias.example.test", "expect": []string{"192.0.2.10"}}, StatusUp, "CNAME www.example.test, 192.0.2.10"},
		{"CNAME, case and dot", map[string]any{"query": "alias.example.test", "record_type": "CNAME", "expect": []string{"WWW.Example.TEST."}}, StatusUp, "www.example.test"},
		{"MX by host", map[string]any{"query": "example.test", "record_type": "MX", "expect": []string{"mx2.example.test", "10 mail.example.test."}}, StatusUp, "10 mail.example.test, 20 mx2.example.test"},
		{"MX wrong preference", map[string]any{"query": "example.test", "record_type": "MX", "expect": []string{"20 mail.example.test"}}, StatusDown, "missing 20 mail.example.test"},
		{"TXT joined strings", map[string]any{"query": "example.test", "record_type": "TXT", "expect": []string{"part one, part two", "v=spf1 -all"}}, StatusUp, `"v=spf1 -all"`},
		{"TXT is case-sensitive", map[string]any{"query": "example.test", "record_type": "TXT", "expect": []string{"V=SPF1 -all"}}, StatusDown, "missing V=SPF1 -all"},
		{"NS", map[string]any{"query": "example.test", "record_type": "NS", "expect": []string{"ns1.example.test"}}, StatusUp, "ns1.example.test"},
		{"SOA", map[string]any{"query": "example.test", "record_type": "SOA", "expect": []string{"ns1.example.test."}}, StatusUp, "2024010101"},
		{"SRV", map[string]any{"query": "_sip._tcp.example.test", "record_type": "SRV", "expect": []string{"10 60 5060 sip.example.test"}}, StatusUp, "sip.example.test"},
		{"PTR from an address", map[string]any{"query": "192.0.2.10", "record_type": "PTR", "expect": []string{"www.example.test"}}, StatusUp, "www.example.test"},
		{"CAA", map[string]any{"query": "example.test", "record_type": "CAA", "expect": []string{"letsencrypt.org"}}, StatusUp, "letsencrypt.org"},
		{"NXDOMAIN unexpected", map[string]any{"query": "nothing.example.test"}, StatusDown, "NXDOMAIN from " + srv.addr + " (want NOERROR)"},
		{"NXDOMAIN expected", map[string]any{"query": "nothing.example.test", "expect_rcode": "nxdomain"}, StatusUp, "NXDOMAIN as expected"},
		{"REFUSED", map[string]any{"query": "refused.example.test"}, StatusDown, "REFUSED"},
		{"no data", map[string]any{"query": "empty.example.test"}, StatusDown, "no A record for empty.example.test.; answers: none"},
		{"over TCP", map[string]any{"query": "www.example.test", "protocol": "tcp"}, StatusUp, "192.0.2.10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.settings["resolver"] = srv.addr
			d := newDNST(t, tt.settings)
			res, _ := timedProbe(t, d, 3*time.Second)
			if res.Status != tt.status || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("got %s %q, want %s with %q", res.Status, res.Message, tt.status, tt.message)
			}
			if res.Latency <= 0 {
				t.Fatalf("latency %v", res.Latency)
			}
			if res.Status == StatusUp && tt.settings["expect_rcode"] == nil && res.Output == "" {
				t.Fatal("no answers in Output")
			}
		})
	}
}

func TestDNSTruncatedAnswerRetriedOverTCP(t *testing.T) {
	srv := startTestDNS(t)
	d := newDNST(t, map[string]any{"query": "big.example.test", "record_type": "TXT", "resolver": srv.addr,
		"expect": []string{"record 59 " + strings.Repeat("x", 40)}})
	res, _ := timedProbe(t, d, 3*time.Second)
	if res.Status != StatusUp {
		t.Fatalf("got %s %q, want up", res.Status, res.Message)
	}
	if got := strings.Join(srv.networks(), ","); got != "udp,tcp" {
		t.Fatalf("queries came over %s, want udp then tcp", got)
	}
	if !strings.Contains(res.Message, "… (60 answers)") || len(res.Message) > dnsMaxMessage+100 {
		t.Fatalf("message not capped: %d bytes %q", len(res.Message), res.Message)
	}
}

func TestDNSResolverNeverAnswers(t *testing.T) {
	// A UDP socket nobody reads from: the query goes out, nothing comes back.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d := newDNST(t, map[string]any{"query": "www.example.test", "resolver": pc.LocalAddr().String()})
	const timeout = 500 * time.Millisecond
	res, took := timedProbe(t, d, timeout)
	if want := "timeout after 500ms waiting for " + pc.LocalAddr().String(); res.Status != StatusDown || res.Message != want {
		t.Fatalf("got %s %q, want down %q", res.Status, res.Message, want)
	}
	if took < timeout-50*time.Millisecond || took > timeout+500*time.Millisecond {
		t.Fatalf("Probe took %v with a %v deadline", took, timeout)
	}
}

func TestDNSSystemResolver(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(conf, []byte("# test\nsearch example.test\nnameserver 127.0.0.2\nnameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := systemResolver(conf); got != "127.0.0.2:53" {
		t.Fatalf("systemResolver = %q, want 127.0.0.2:53", got)
	}
	v6 := filepath.Join(dir, "resolv6.conf")
	if err := os.WriteFile(v6, []byte("nameserver ::1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := systemResolver(v6); got != "[::1]:53" {
		t.Fatalf("systemResolver = %q, want [::1]:53", got)
	}
	if got := systemResolver(filepath.Join(dir, "missing")); got != dnsFallbackResolver {
		t.Fatalf("systemResolver(missing) = %q, want %s", got, dnsFallbackResolver)
	}

	// A check without a resolver asks the one resolv.conf names; nothing
	// listens on 127.0.0.2:53, so the answer is a refusal naming it.
	d := newDNST(t, map[string]any{"query": "www.example.test"})
	d.resolvConf = conf
	if d.Target() != "www.example.test A" {
		t.Fatalf("Target() = %q", d.Target())
	}
	res, _ := timedProbe(t, d, time.Second)
	if res.Status != StatusDown || !strings.Contains(res.Message, "127.0.0.2:53") {
		t.Fatalf("got %s %q, want down naming 127.0.0.2:53", res.Status, res.Message)
	}
}

func TestNewDNSSettings(t *testing.T) {
	tests := []struct {
		raw       string
		wantField string
	}{
		{`{"query":"example.com"}`, ""},
		{`{"query":"_dmarc.example.com.","record_type":"txt","protocol":"TCP","resolver":"1.1.1.1"}`, ""},
		{`{"query":"example.com","resolver":"[2606:4700:4700::1111]:53"}`, ""},
		{`{"query":"example.com","resolver":"2606:4700:4700::1111"}`, ""},
		{`{"query":"example.com","resolver":"dns.example.net:5353"}`, ""},
		{`{"query":"*.example.com","expect_rcode":"servfail"}`, ""},
		{`{"query":"2001:db8::1","record_type":"PTR"}`, ""},
		{`{"query":"example.com","record_type":"MX","expect":["10 mx.example.com","mx.example.com."]}`, ""},
		{`{}`, "query"},
		{`{"query":"  "}`, "query"},
		{`{"query":"exa mple.com"}`, "query"},
		{`{"query":"a..b"}`, "query"},
		{`{"query":"bücher.de"}`, "query"},
		{`{"query":"` + strings.Repeat("a", 64) + `.com"}`, "query"},
		{`{"query":"192.0.2.1/24"}`, "query"},
		{`{"query":"example.com","record_type":"ANY"}`, "record_type"},
		{`{"query":"example.com","record_type":5}`, "record_type"},
		{`{"query":"example.com","protocol":"doh"}`, "protocol"},
		{`{"query":"example.com","resolver":"1.1.1.1:0"}`, "resolver"},
		{`{"query":"example.com","resolver":"1.1.1.1:99999"}`, "resolver"},
		{`{"query":"example.com","resolver":"not a host"}`, "resolver"},
		{`{"query":"example.com","expect_rcode":"FINE"}`, "expect_rcode"},
		{`{"query":"example.com","expect":["2001:db8::1"]}`, "expect"},
		{`{"query":"example.com","record_type":"AAAA","expect":["192.0.2.1"]}`, "expect"},
		{`{"query":"example.com","expect":[""]}`, "expect"},
		{`{"query":"example.com","expect":"192.0.2.1"}`, "expect"},
		{`{"query":"example.com","type":"dns"}`, "type"},
	}
	for _, tt := range tests {
		d, err := NewDNS(json.RawMessage(tt.raw))
		if tt.wantField == "" {
			if err != nil {
				t.Errorf("NewDNS(%s): %v", tt.raw, err)
			} else if st := d.Settings(); st.RecordType == "" || st.Protocol == "" || st.ExpectRcode == "" {
				t.Errorf("NewDNS(%s): defaults not filled in: %+v", tt.raw, d)
			}
			continue
		}
		ve, ok := valid.As(err)
		if !ok || ve.Field != tt.wantField {
			t.Errorf("NewDNS(%s) = %v, want a *valid.Error for %q", tt.raw, err, tt.wantField)
		}
	}
}

func TestDNSTarget(t *testing.T) {
	d := newDNST(t, map[string]any{"query": "example.com", "record_type": "mx", "resolver": "9.9.9.9", "protocol": "tcp"})
	if got, want := d.Target(), "example.com MX @9.9.9.9:53 (tcp)"; got != want {
		t.Fatalf("Target() = %q, want %q", got, want)
	}
}

func TestDNSCanceledContext(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d := newDNST(t, map[string]any{"query": "example.com", "resolver": pc.LocalAddr().String()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A canceled check (shutdown) decides nothing.
	if res := d.Probe(ctx); res.Status != StatusUnknown {
		t.Fatalf("got %s %q, want unknown", res.Status, res.Message)
	}
}

func FuzzNewDNS(f *testing.F) {
	for _, s := range []string{
		`{"query":"example.com","record_type":"MX","expect":["10 mx.example.com"]}`,
		`{"query":"192.0.2.1","record_type":"PTR","resolver":"[::1]:53","protocol":"tcp"}`,
		`{"query":"a.b","expect_rcode":"NXDOMAIN","expect":[""]}`,
		`{"query":null,"record_type":null}`, `[]`, `0`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := NewDNS(raw)
		if err != nil {
			if _, ok := valid.As(err); !ok && !malformedSettingsJSON(err) {
				t.Fatalf("NewDNS error %v is neither a *valid.Error nor a JSON error", err)
			}
			return
		}
		if d.qname == "" || !dns.IsFqdn(d.qname) || d.qtype == 0 {
			t.Fatalf("accepted %s with qname %q qtype %d", raw, d.qname, d.qtype)
		}
		if _, ok := dns.IsDomainName(d.qname); !ok {
			t.Fatalf("accepted %s with qname %q", raw, d.qname)
		}
		_ = d.Target()
	})
}
