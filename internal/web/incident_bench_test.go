package web

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opsdeck/opsdeck/internal/incident"
)

// BenchmarkPagerDutyIntake is the whole HTTP path of /v2/enqueue in one
// process (router, middleware, parse, key, group commit): 1,000 dedup keys
// over 10 sources, many clients at once.
func BenchmarkPagerDutyIntake(b *testing.B) {
	e := newTestEnv(b)
	in := newIntegrationB(b, e)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := strconv.FormatInt(n.Add(1)%1000, 10)
			body := `{"routing_key":"` + in + `","event_action":"trigger","dedup_key":"k` + k + `","payload":{"summary":"load ` + k + `","source":"s` + k[len(k)-1:] + `","severity":"error"}}`
			resp, err := client.Post(e.http.URL+"/v2/enqueue", "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
			resp.Body.Close()
			if resp.StatusCode != 202 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func newIntegrationB(b *testing.B, e *testEnv) string {
	ctx := b.Context()
	ts, err := e.incs.CreateService(ctx, incident.ServiceInput{Name: "bench", GroupBy: []string{"source"}})
	if err != nil {
		b.Fatal(err)
	}
	_, key, err := e.incs.CreateIntegration(ctx, incident.IntegrationInput{ServiceID: ts.ID, Name: "pd", Kind: incident.KindPagerDuty})
	if err != nil {
		b.Fatal(err)
	}
	return key
}
