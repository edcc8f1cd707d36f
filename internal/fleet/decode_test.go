package fleet

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func goodReport() []byte {
	ps := []wire.Package{{Name: "bash", Version: "5.2", Arch: "amd64", Source: "dpkg"}}
	r := wire.Report{Seq: 1, SentAt: time.Unix(1780000000, 0).UTC(), AgentVersion: "1.0", Facts: facts("web1", "m1", "S1"),
		Software: &wire.Software{Hash: wire.Hash(ps), Packages: ps},
		Metrics:  []wire.Sample{{T: 1780000000, Name: "disk.used_pct", Key: "/", Value: 42}},
		Files:    []wire.FileChange{{Path: "/etc/hosts", SHA256: strings.Repeat("0", 64), T: time.Unix(1780000000, 0)}}}
	b, _ := json.Marshal(r)
	return b
}

func TestDecodeReport(t *testing.T) {
	if _, err := DecodeReport(bytes.NewReader(gz(goodReport())), "gzip"); err != nil {
		t.Fatalf("good gzip report: %v", err)
	}
	if _, err := DecodeReport(bytes.NewReader(goodReport()), ""); err != nil {
		t.Fatalf("good plain report: %v", err)
	}
	// A gzip bomb: 64 MiB of zeros inflates past the cap and is refused
	// after reading at most the cap.
	bomb := gz(bytes.Repeat([]byte{' '}, 64<<20))
	if len(bomb) > wire.MaxCompressedBytes {
		t.Fatalf("bomb is %d bytes compressed; the test wants it under the wire cap", len(bomb))
	}
	if _, err := DecodeReport(bytes.NewReader(bomb), "gzip"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("gzip bomb: %v", err)
	}
	if _, err := DecodeReport(bytes.NewReader(bytes.Repeat([]byte{' '}, wire.MaxDecompressedBytes+1)), "identity"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize plain: %v", err)
	}
	for _, c := range []struct {
		name, body, enc, field string
	}{
		{"not gzip", "{}", "gzip", "body"},
		{"not json", "hello", "", "body"},
		{"empty", "", "", "body"},
		{"two documents", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z"} {}`, "", "body"},
		{"bad encoding", "{}", "br", "Content-Encoding"},
		{"seq zero", `{"seq":0,"sent_at":"2026-01-01T00:00:00Z"}`, "", "seq"},
		{"seq string", `{"seq":"1"}`, "", "seq"},
		{"seq negative", `{"seq":-1}`, "", "seq"},
		{"no sent_at", `{"seq":1}`, "", "sent_at"},
		{"metric type", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","metrics":[{"t":1780000000,"n":"x","v":"high"}]}`, "", "metrics.v"},
		{"metric name", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","metrics":[{"t":1780000000,"n":"<script>","v":1}]}`, "", "metrics[0].n"},
		{"metric time", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","metrics":[{"t":5,"n":"load.1","v":1}]}`, "", "metrics[0].t"},
		{"hash", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","software":{"hash":"zz"}}`, "", "software.hash"},
		{"hash mismatch", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","software":{"hash":"` + strings.Repeat("a", 64) + `","packages":[{"name":"a","source":"dpkg"}]}}`, "", "software.hash"},
		{"source", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","software":{"hash":"` + strings.Repeat("a", 64) + `","packages":[{"name":"a","source":"pip"}]}}`, "", "software.packages[0].source"},
		{"hostname", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","facts":{"hostname":""}}`, "", "facts.hostname"},
		{"control char", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","facts":{"hostname":"a\u0000b"}}`, "", "facts.hostname"},
		{"relative path", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","files":[{"path":"etc/x","t":"2026-01-01T00:00:00Z"}]}`, "", "files[0].path"},
		{"update name", `{"seq":1,"sent_at":"2026-01-01T00:00:00Z","updates":{"checked_at":"2026-01-01T00:00:00Z","pending":[{"name":""}]}}`, "", "updates.pending[0].name"},
	} {
		_, err := DecodeReport(strings.NewReader(c.body), c.enc)
		ve, ok := valid.As(err)
		if !ok || ve.Field != c.field {
			t.Errorf("%s: got %v, want an error naming %q", c.name, err, c.field)
		}
	}
}

// FuzzDecodeReport feeds the decoder arbitrary bodies, plain and gzipped:
// it must never panic, and whatever it accepts must validate and survive a
// round trip.
func FuzzDecodeReport(f *testing.F) {
	f.Add(goodReport(), false)
	f.Add(gz(goodReport()), true)
	f.Add([]byte(`{"seq":1,"sent_at":"2026-01-01T00:00:00Z","metrics":[{"t":1780000000,"n":"load.1","v":1e308}]}`), false)
	f.Add(gz(bytes.Repeat([]byte("{"), 1<<16)), true)
	f.Fuzz(func(t *testing.T, body []byte, zipped bool) {
		enc := ""
		if zipped {
			enc = "gzip"
		}
		rep, err := DecodeReport(bytes.NewReader(body), enc)
		if err != nil {
			if _, ok := valid.As(err); !ok && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of unknown kind: %v", err)
			}
			return
		}
		if err := rep.Validate(); err != nil {
			t.Fatalf("accepted report does not validate: %v", err)
		}
		b, _ := json.Marshal(rep)
		if _, err := DecodeReport(bytes.NewReader(b), ""); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}
