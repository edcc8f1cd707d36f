package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
)

// TestSIGKILLDuringAlertStormLosesNoAcknowledgedEvent runs the real
// `opsdeck serve` binary, sends a storm of PagerDuty events from many
// clients, kills the process with SIGKILL in the middle, restarts it, and
// checks that every event that was answered 202 is in the database.
func TestSIGKILLDuringAlertStormLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real server; skipped in -short mode")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "opsdeck")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/opsdeck/opsdeck/cmd/opsdeck").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := testConfig(t)
	cfg.DataDir = filepath.Join(dir, "data")

	// An integration made before the first start, straight in the database.
	db, err := OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	incs, err := incident.Open(context.Background(), db, incident.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithActor(context.Background(), auth.CLIActor("test"))
	svc, err := incs.CreateService(ctx, incident.ServiceInput{Name: "Storm", GroupBy: []string{"source"}})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := incs.CreateIntegration(ctx, incident.IntegrationInput{ServiceID: svc.ID, Name: "pd", Kind: incident.KindPagerDuty})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	start := func() (*exec.Cmd, string) {
		addr := freePort(t)
		cmd := exec.Command(bin, "serve", "--data", cfg.DataDir, "--addr", addr, "--log-level", "warn")
		cmd.Env = append(os.Environ(), "OPSDECK_ADMIN_PASSWORD=a fine admin password")
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitFor(t, "the server to listen", 30*time.Second, func() bool {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		return cmd, addr
	}
	cmd, addr := start()

	var mu sync.Mutex
	acked := map[string]bool{}
	var okCount atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for g := range 48 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				dedup := fmt.Sprintf("g%d-n%d", g, n)
				body := `{"routing_key":"` + key + `","event_action":"trigger","dedup_key":"` + dedup +
					`","payload":{"summary":"storm ` + dedup + `","source":"host-` + fmt.Sprint(g%5) + `","severity":"error"}}`
				resp, err := client.Post("http://"+addr+"/v2/enqueue", "application/json", strings.NewReader(body))
				if err != nil {
					continue // the server is gone; keep trying until told to stop
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					acked[dedup] = true
					mu.Unlock()
					okCount.Add(1)
				}
			}
		})
	}
	waitFor(t, "2,000 acknowledged events", 60*time.Second, func() bool { return okCount.Load() >= 2000 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	time.Sleep(200 * time.Millisecond) // let in-flight clients see the dead server
	close(stop)
	wg.Wait()

	// Restart on the same data: it must come up, and every 202 be there.
	cmd2, addr2 := start()
	resp, err := http.Get("http://" + addr2 + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_ = cmd2.Process.Signal(syscall.SIGTERM)
	_ = cmd2.Wait()

	db, err = OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.R.Query(`SELECT dedup_key FROM alerts`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		stored[k] = true
	}
	rows.Close()
	var lost []string
	for k := range acked {
		if !stored[k] {
			lost = append(lost, k)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d acknowledged events lost after SIGKILL, such as %v", len(lost), len(acked), lost[:min(5, len(lost))])
	}
	var incidents int
	if err := db.R.QueryRow(`SELECT COUNT(*) FROM incidents`).Scan(&incidents); err != nil {
		t.Fatal(err)
	}
	if incidents == 0 || incidents > 5 {
		t.Fatalf("%d incidents for alerts from 5 sources", incidents)
	}
	t.Logf("%d events acknowledged before SIGKILL, %d alerts stored (events committed as the process died may be stored without an answer), %d incidents", len(acked), len(stored), incidents)
}
