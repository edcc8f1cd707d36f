package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

func TestSpoolCapAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 300)
	for seq := uint64(1); seq <= 5; seq++ {
		if _, err := s.add(seq, body); err != nil {
			t.Fatal(err)
		}
	}
	// 5 x 300 bytes over a 1000-byte cap: the oldest two went.
	n, size, last, dropped := s.stats()
	if n != 3 || size != 900 || last != 5 || dropped != 2 {
		t.Fatalf("stats %d %d %d %d", n, size, last, dropped)
	}
	if seq, b, ok, err := s.oldest(); !ok || err != nil || seq != 3 || !bytes.Equal(b, body) {
		t.Fatalf("oldest %d %v %v", seq, ok, err)
	}
	// A report larger than the cap alone is still kept.
	if _, err := s.add(6, bytes.Repeat([]byte("y"), 5000)); err != nil {
		t.Fatal(err)
	}
	if n, _, _, _ := s.stats(); n != 1 {
		t.Fatalf("after a huge report %d left", n)
	}
	for seq := uint64(7); seq <= 9; seq++ {
		s.add(seq, []byte("z"))
	}
	// Leftovers of a crash and foreign files.
	os.WriteFile(filepath.Join(dir, ".tmp-00000000000000000010.json.gz-123"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "00000000000000000000.json.gz"), []byte("seq 0"), 0o600)
	os.WriteFile(filepath.Join(dir, "12.json.gz"), []byte("short name"), 0o600)
	s2, err := openSpool(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, e := range s2.entries {
		seqs = append(seqs, e.seq)
	}
	if len(seqs) != 3 || seqs[0] != 7 || seqs[2] != 9 {
		t.Fatalf("reopened %v", seqs)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-00000000000000000010.json.gz-123")); err == nil {
		t.Error("temporary file left")
	}
	if n := s2.removeThrough(8); n != 2 {
		t.Errorf("removeThrough removed %d", n)
	}
	s2.remove(9)
	if _, _, ok, _ := s2.oldest(); ok {
		t.Error("spool not empty")
	}
	for _, e := range []string{"00000000000000000007.json.gz", "00000000000000000009.json.gz"} {
		if _, err := os.Stat(filepath.Join(dir, e)); err == nil {
			t.Errorf("%s not deleted", e)
		}
	}
}

func TestEncodeReportGzip(t *testing.T) {
	r := &wire.Report{Seq: 1, SentAt: testTime, AgentVersion: "t", Metrics: []wire.Sample{{T: 1, Name: "load.1", Value: 0.5}}}
	body, raw, err := encodeReport(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if len(plain) != raw {
		t.Fatalf("raw %d, decoded %d", raw, len(plain))
	}
	var back wire.Report
	if err := json.Unmarshal(plain, &back); err != nil || back.Seq != 1 || back.Metrics[0].Value != 0.5 {
		t.Fatalf("%+v %v", back, err)
	}
}

func randomText(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestEncodeOversize: a report over the server's limits is shrunk (diffs,
// then packages) rather than sent to be refused.
func TestEncodeOversize(t *testing.T) {
	// The server's limits scaled down 64 times keep the test quick.
	c := &collector{a: &agent{}, sentSoft: "x", maxRaw: maxBodyRaw / 64, maxGzip: maxBodyGzip / 64}
	r := &wire.Report{Seq: 1, SentAt: testTime, AgentVersion: "t"}
	for i := range 4 { // 4 x 60 KiB of incompressible diff
		r.Files = append(r.Files, wire.FileChange{
			Path: "/etc/f" + strings.Repeat("x", i%5) + hex.EncodeToString([]byte{byte(i)}), SHA256: strings.Repeat("a", 64),
			Diff: randomText(60 << 10), T: testTime,
		})
	}
	pkgs := []wire.Package{{Name: "a", Version: "1", Source: "dpkg"}}
	r.Software = &wire.Software{Hash: wire.Hash(pkgs), Packages: pkgs}
	body, err := c.encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > c.maxGzip {
		t.Fatalf("body %d", len(body))
	}
	for _, f := range r.Files {
		if f.Diff != "" || !f.Truncated {
			t.Fatal("diff kept")
		}
	}
	if len(r.Software.Packages) != 1 || c.sentSoft != "x" {
		t.Error("packages dropped although the diffs were enough")
	}

	// Packages with incompressible names over the raw limit: the list goes
	// and the next report sends it again.
	pkgs = make([]wire.Package, 2000)
	for i := range pkgs {
		pkgs[i] = wire.Package{Name: randomText(60), Version: randomText(20), Arch: "amd64", Source: "rpm"}
	}
	r = &wire.Report{Seq: 2, SentAt: testTime, AgentVersion: "t", Software: &wire.Software{Hash: wire.Hash(pkgs), Packages: pkgs}}
	body, err = c.encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Software.Packages != nil || c.sentSoft != "" || len(body) > c.maxGzip {
		t.Errorf("packages kept (%d bytes)", len(body))
	}

	// Metrics alone over the limit: the report is refused, not sent.
	r = &wire.Report{Seq: 3, SentAt: testTime, AgentVersion: "t"}
	for i := range 20000 {
		r.Metrics = append(r.Metrics, wire.Sample{T: int64(i + 1), Name: "net.rx_bps", Key: randomText(8), Value: float64(i)})
	}
	if _, err := c.encode(r); err == nil {
		t.Error("oversize metrics encoded")
	}

	// Invalid reports are not spooled.
	if _, err := c.encode(&wire.Report{SentAt: testTime, AgentVersion: "t"}); err == nil { // seq 0
		t.Error("invalid report encoded")
	}
}

func TestSecondAgentOnSameState(t *testing.T) {
	_, srv := newFakeFleet(t)
	cfg := testConfig(t, srv.URL)
	stop := runAgent(t, cfg)
	waitFor(t, "credential", func() bool {
		_, err := os.Stat(filepath.Join(cfg.StateDir, "credential"))
		return err == nil
	})
	err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "another agent") {
		t.Fatalf("second agent: %v", err)
	}
	stop()
}
