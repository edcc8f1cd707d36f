package probe

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// realPluginOutputs were printed by monitoring-plugins-basic 2.3.3 and
// other common plugins; they seed the fuzz targets too.
var realPluginOutputs = []string{
	"TCP OK - 0.000 second response time on 127.0.0.1 port 42205|time=0.000102s;;;0.000000;10.000000\n",
	"TCP WARNING - Unexpected response from host/socket: hello|time=0.000275s;;;0.000000;10.000000\n",
	"connect to address 127.0.0.1 and port 1: Connection refused\n",
	"LOAD OK - total load average: 0.40, 1.53, 1.86|load1=0.400;5.000;10.000;0; load5=1.530;4.000;8.000;0; load15=1.860;3.000;6.000;0; \n",
	"DISK OK - free space: / 78913MiB (84% inode=97%);| /=15046017024B;216442024755;243497277849;0;270552530944\n",
	"PROCS OK: 84 processes | procs=84;250;400;0;\n",
	"USERS OK - 0 users currently logged in |users=0;5;10;0\n",
	"SWAP CRITICAL - 0% free (0MB out of 0MB) - Swap is either disabled, not present, or of zero size. |swap=0B;0;0;0;0\n",
	"PING OK - Packet loss = 0%, RTA = 0.40 ms|rta=0.400000ms;100.000000;200.000000;0.000000 pl=0%;20;50;0;\n",
	"OK - 127.0.0.1: rta 0.009ms, lost 0%|rta=0.009ms;200.000;500.000;0; pl=0%;40;80;; rtmax=0.030ms;;;; rtmin=0.003ms;;;; \n",
	"HTTP OK: HTTP/1.1 200 OK - 412 bytes in 0.001 second response time |time=0.000905s;;;0.000000;10.000000 size=412B;;;0;\n",
	"WARNING: some text\n",
	// NSClient++ on Windows: quoted labels with spaces and backslashes.
	"OK: All drives within bounds.|'C:\\ used'=39.2GB;47.6;53.6;0;59.5 'C:\\ used %'=65%;80;90;0;100\n",
	// The multi-line example of the Nagios Plugin Development Guidelines.
	"DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;253414\n/var/log=818MB;970;975;0;980\n",
	// check_snmp with an undetermined value.
	"SNMP OK - 42 | iso.3.6.1.2.1.1.3.0=42c 'if in'=U;;;0;\n",
}

func TestParsePluginOutput(t *testing.T) {
	tests := []struct {
		name, in     string
		text, long   string
		metrics      string // name=value unit;warn;crit;min;max joined by spaces
		metricsCount int
	}{
		{
			name: "check_tcp", in: realPluginOutputs[0],
			text:    "TCP OK - 0.000 second response time on 127.0.0.1 port 42205",
			metrics: "time=0.000102 s;;;0;10",
		},
		{
			name: "no perfdata", in: realPluginOutputs[2],
			text: "connect to address 127.0.0.1 and port 1: Connection refused",
		},
		{
			name: "check_load with trailing blank", in: realPluginOutputs[3],
			text:    "LOAD OK - total load average: 0.40, 1.53, 1.86",
			metrics: "load1=0.4 ;5.000;10.000;0; load5=1.53 ;4.000;8.000;0; load15=1.86 ;3.000;6.000;0;",
		},
		{
			name: "check_disk bytes", in: realPluginOutputs[4],
			text:    "DISK OK - free space: / 78913MiB (84% inode=97%);",
			metrics: "/=1.5046017024e+10 B;216442024755;243497277849;0;2.70552530944e+11",
		},
		{
			name: "check_icmp empty fields", in: realPluginOutputs[9],
			text:    "OK - 127.0.0.1: rta 0.009ms, lost 0%",
			metrics: "rta=0.009 ms;200.000;500.000;0; pl=0 %;40;80;; rtmax=0.03 ms;;;; rtmin=0.003 ms;;;;",
		},
		{
			name: "quoted labels", in: realPluginOutputs[12],
			text:    "OK: All drives within bounds.",
			metrics: `C:\ used=39.2 GB;47.6;53.6;0;59.5 C:\ used %=65 %;80;90;0;100`,
		},
		{
			name: "multi-line guidelines example", in: realPluginOutputs[13],
			text:    "DISK OK - free space: / 3326 MB (56%);",
			long:    "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);",
			metrics: "/=2643 MB;5948;5958;0;5968 /boot=68 MB;88;93;0;98 /home=69357 MB;253404;253409;0;253414 /var/log=818 MB;970;975;0;980",
		},
		{
			name: "U value dropped", in: realPluginOutputs[14],
			text:    "SNMP OK - 42",
			metrics: "iso.3.6.1.2.1.1.3.0=42 c;;;;",
		},
		{
			name: "long text without perfdata, CRLF",
			in:   "OK - fine\r\nline one\r\n\r\nline three\r\n",
			text: "OK - fine", long: "line one\n\nline three",
		},
		{
			name: "perfdata only on a later line",
			in:   "OK - fine\ndetail | a=1\nb=2",
			text: "OK - fine", long: "detail", metrics: "a=1 ;;;; b=2 ;;;;",
		},
		{name: "empty", in: ""},
		{name: "only a pipe", in: "|", text: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			po := ParsePluginOutput(tt.in)
			if po.Text != tt.text {
				t.Errorf("text %q, want %q", po.Text, tt.text)
			}
			if po.LongText != tt.long {
				t.Errorf("long text %q, want %q", po.LongText, tt.long)
			}
			if got := formatMetrics(po.Metrics); got != tt.metrics {
				t.Errorf("metrics\n got %s\nwant %s", got, tt.metrics)
			}
		})
	}
}

func formatMetrics(ms []Metric) string {
	var parts []string
	for _, m := range ms {
		f := func(p *float64) string {
			if p == nil {
				return ""
			}
			return fmt.Sprint(*p)
		}
		parts = append(parts, fmt.Sprintf("%s=%v %s;%s;%s;%s;%s", m.Name, m.Value, m.Unit, m.Warn, m.Crit, f(m.Min), f(m.Max)))
	}
	return strings.Join(parts, " ")
}

func TestParsePerfdata(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"a=1", "a=1 ;;;;"},
		{"'with space'=2s", "with space=2 s;;;;"},
		{"'it''s'=3", "it's=3 ;;;;"},
		{"''''=4", "'=4 ;;;;"},
		{"'a=b'=5", "a=b=5 ;;;;"},
		{"a=-1.5e3ms;~:10;@5:10;-2000;0", "a=-1500 ms;~:10;@5:10;-2000;0"},
		{"a=+.5 b=5. c=1e d=1e+", "a=0.5 ;;;; b=5 ;;;; c=1 e;;;; d=1 e+;;;;"},
		{"a=0,75;1,5;2", "a=0.75 ;1,5;2;;"},
		{"temp=21.5dBm;;;", "temp=21.5 dBm;;;;"},
		{"bw=12MB/s", "bw=12 MB/s;;;;"},
		{"a=1KB;;;0KB;100KB", "a=1 KB;;;0;100"},
		{"a=1;foo;10:5;x;", "a=1 ;;;;"},
		{"a=U b=2", "b=2 ;;;;"},
		{"a=U;1;2;0;10", ""},
		{"a= b=2", "b=2 ;;;;"},
		{"=1 b=2", "b=2 ;;;;"},
		{"a b=2", "b=2 ;;;;"},
		{"a=1=2", ""},
		{"a=.;1", ""},
		{"a=1.2.3", ""},
		{"a=NaN b=Inf c=0x10 d=1e999", ""},
		{"'unclosed=1 b=2", "b=2 ;;;;"},
		{"'x'y=1 b=2", "b=2 ;;;;"},
		{"''=1 b=2", "b=2 ;;;;"},
		{"a=1;;;;;extra", "a=1 ;;;;"},
		{"   \t a=1 \t ", "a=1 ;;;;"},
		{"a\x01b=1 é=2", "é=2 ;;;;"},
		{"a=1\xff", ""},
	}
	for _, tt := range tests {
		if got := formatMetrics(ParsePerfdata(tt.in)); got != tt.want {
			t.Errorf("ParsePerfdata(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestParseRange(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		in         string
		start, end float64
		inside     bool
		// alerting and quiet values, per the guidelines' table
		alert, quiet []float64
	}{
		{"10", 0, 10, false, []float64{-1, 10.1, 11}, []float64{0, 5, 10}},
		{"10:", 10, inf, false, []float64{9.99, -5}, []float64{10, 1e9}},
		{"~:10", -inf, 10, false, []float64{10.5}, []float64{-1e9, 10}},
		{"10:20", 10, 20, false, []float64{9, 21}, []float64{10, 15, 20}},
		{"@10:20", 10, 20, true, []float64{10, 15, 20}, []float64{9, 21}},
		{"@10", 0, 10, true, []float64{0, 10}, []float64{-1, 11}},
		{"-5:-1", -5, -1, false, []float64{0, -6}, []float64{-3}},
		{"~:", -inf, inf, false, nil, []float64{-1e300, 0, 1e300}},
		{":5", 0, 5, false, []float64{-1}, []float64{0, 5}},
		{"1.5e1:2e1", 15, 20, false, []float64{14}, []float64{15}},
		{"0,5:1", 0.5, 1, false, []float64{0.4}, []float64{0.75}},
	}
	for _, tt := range tests {
		r, err := ParseRange(tt.in)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tt.in, err)
			continue
		}
		if r.Start != tt.start || r.End != tt.end || r.Inside != tt.inside {
			t.Errorf("ParseRange(%q) = %+v, want %v:%v inside=%v", tt.in, r, tt.start, tt.end, tt.inside)
		}
		for _, v := range tt.alert {
			if !r.Alerts(v) {
				t.Errorf("%q: %v does not alert, want it to", tt.in, v)
			}
		}
		for _, v := range tt.quiet {
			if r.Alerts(v) {
				t.Errorf("%q: %v alerts, want quiet", tt.in, v)
			}
		}
		back, err := ParseRange(r.String())
		if err != nil || back != r {
			t.Errorf("%q: String() = %q reads back as %+v, %v", tt.in, r.String(), back, err)
		}
	}
	for _, bad := range []string{"", "@", "20:10", "-1", "abc", "1:x", "~", "~:~", "10:20:30", "@@1", "inf", "1e999", " 10", "NaN:1"} {
		if r, err := ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q) = %+v, want an error", bad, r)
		}
	}
}

func FuzzParsePerfdata(f *testing.F) {
	for _, s := range realPluginOutputs {
		f.Add(s)
	}
	f.Add("OK | 'a''b'=1;2;3;4;5 'x y'=U c=1,5e3KB;@1:2;~:3;;")
	f.Fuzz(func(t *testing.T, out string) {
		po := ParsePluginOutput(out)
		if strings.Contains(po.Text, "\n") {
			t.Fatalf("text %q spans lines", po.Text)
		}
		check := func(ms []Metric) {
			for _, m := range ms {
				if m.Name == "" || !utf8.ValidString(m.Name) || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
					t.Fatalf("bad metric %+v", m)
				}
				for _, th := range []string{m.Warn, m.Crit} {
					if th == "" {
						continue
					}
					if _, err := ParseRange(th); err != nil {
						t.Fatalf("kept threshold %q that does not parse: %v", th, err)
					}
				}
			}
		}
		check(po.Metrics)
		check(ParsePerfdata(out))
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:0", "0.000000", "200.000", "1e3:", ":", "-1:-0.5", "0,5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		if math.IsNaN(r.Start) || math.IsNaN(r.End) || r.Start > r.End {
			t.Fatalf("ParseRange(%q) = %+v", s, r)
		}
		back, err := ParseRange(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRange(%q) = %+v; String() %q reads back as %+v, %v", s, r, r.String(), back, err)
		}
		_ = r.Alerts(0)
	})
}
