package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/oncall"
)

// TestSIGKILLDuringAlertStormLosesNoAcknowledgedEvent runs the real
// `opsdeck serve` binary, sends a storm of PagerDuty events from many
// clients, kills the process with SIGKILL in the middle, restarts it, and
// checks that every event that was answered 202 is in the database — and
// that every page the storm caused is delivered after the restart: the
// on-call user's webhook refuses everything until the kill, so at that
// moment every page is queued and waiting for a retry.
func TestSIGKILLDuringAlertStormLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real server; skipped in -short mode")
	}
	dir := t.TempDir()
	bin := buildOpsdeck(t, dir)
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
	var receiverUp atomic.Bool
	var recvMu sync.Mutex
	received := map[string]bool{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !receiverUp.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		recvMu.Lock()
		received[r.Header.Get("Idempotency-Key")] = true
		recvMu.Unlock()
	}))
	defer rcv.Close()
	u, err := NewAuth(db, cfg, nil).CreateUser(ctx, auth.NewUser{Username: "oncall", Name: "On call", Role: auth.RoleOperator, Password: "a long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	notes := notify.NewService(db, notify.Options{})
	ch, err := notes.SaveChannel(ctx, 0, notify.ChannelInput{Name: "hook", Kind: "webhook",
		Settings: json.RawMessage(`{"url":"` + rcv.URL + `/x","secret":"a signing secret of some length"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notes.AddContactMethod(ctx, u.ID, notify.ContactMethod{ChannelID: ch.ID, Address: rcv.URL + "/oncall"}); err != nil {
		t.Fatal(err)
	}
	pol, err := oncall.NewService(db, oncall.Options{}).SavePolicy(ctx, oncall.Policy{Name: "Storm",
		Levels: []oncall.Level{{DelayMinutes: 30, Targets: []oncall.Target{{Type: "user", ID: u.ID}}}}})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := incs.CreateService(ctx, incident.ServiceInput{Name: "Storm", GroupBy: []string{"source"}, EscalationPolicyID: &pol.ID})
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
		cmd.Env = append(os.Environ(), "OPSDECK_ADMIN_PASSWORD=a fine admin password",
			"OPSDECK_NOTIFY_BACKOFF_BASE=200ms", "OPSDECK_NOTIFY_BACKOFF_MAX=1s")
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

	// Restart on the same data with the receiver back: it must come up,
	// every 202 be there, and every queued page be delivered.
	receiverUp.Store(true)
	cmd2, addr2 := start()
	resp, err := http.Get("http://" + addr2 + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	db, err = OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages int
	waitFor(t, "every queued page to be delivered after the restart", 60*time.Second, func() bool {
		var undelivered int
		if err := db.R.QueryRow(`SELECT COUNT(*) FILTER (WHERE status <> 'delivered'), COUNT(*) FROM notifications`).Scan(&undelivered, &pages); err != nil {
			t.Fatal(err)
		}
		return pages > 0 && undelivered == 0
	})
	_ = cmd2.Process.Signal(syscall.SIGTERM)
	_ = cmd2.Wait()
	var keys []string
	krows, err := db.R.Query(`SELECT idem_key FROM notifications`)
	if err != nil {
		t.Fatal(err)
	}
	for krows.Next() {
		var k string
		if err := krows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	krows.Close()
	recvMu.Lock()
	for _, k := range keys {
		if !received[k] {
			t.Errorf("page %s is marked delivered but the receiver never got it", k)
		}
	}
	recvMu.Unlock()
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
	var escalations int
	if err := db.R.QueryRow(`SELECT COUNT(*) FROM escalations`).Scan(&escalations); err != nil {
		t.Fatal(err)
	}
	if pages != incidents || escalations != incidents {
		t.Errorf("%d incidents, %d escalations, %d pages: want one page per incident", incidents, escalations, pages)
	}
	t.Logf("%d events acknowledged before SIGKILL, %d alerts stored (events committed as the process died may be stored without an answer), %d incidents, %d pages all delivered after the restart", len(acked), len(stored), incidents, pages)
}
