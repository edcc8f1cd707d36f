package fleet

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func TestMetricCheckSettings(t *testing.T) {
	for _, c := range []struct{ raw, field string }{
		{`{"metric":"load.1"}`, "host"},
		{`{"host":"web1"}`, "metric"},
		{`{"host":"web1","metric":"load.1","comparison":"=="}`, "comparison"},
		{`{"host":"web1","metric":"load.1","for":"forever"}`, "for"},
		{`{"host":"web1","metric":"load.1","threshold":"high"}`, "threshold"},
		{`{"host":"web1","metric":"load.1","colour":"red"}`, "colour"},
		{`[1]`, "settings"},
	} {
		_, err := NewMetricCheck(nil, json.RawMessage(c.raw), time.Now)
		if ve, ok := valid.As(err); !ok || ve.Field != c.field {
			t.Errorf("%s: %v, want field %s", c.raw, err, c.field)
		}
	}
	c, err := NewMetricCheck(nil, json.RawMessage(`{"host":"web1","metric":"disk.used_pct","key":"/","threshold":90,"for":"5m"}`), time.Now)
	if err != nil || c.Target() != "web1 disk.used_pct{/} > 90 for 5m0s" {
		t.Fatalf("%v %q", err, c.Target())
	}
}

func TestMetricCheckGoesDownAndUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		now := e.clock.Now()
		chk, err := NewMetricCheck(db, json.RawMessage(`{"host":"WEB1","metric":"disk.used_pct","key":"/","comparison":">","threshold":90,"for":"5m"}`), e.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if r := chk.Probe(ctx); r.Status != probe.StatusDown || !strings.Contains(r.Message, `no agent "WEB1"`) {
			t.Fatalf("unknown host: %+v", r)
		}
		a := e.enroll(t, "web1", "m1")
		seq := uint64(0)
		send := func(ago time.Duration, v float64) {
			seq++
			r := report(seq)
			r.Metrics = []wire.Sample{{T: now.Add(-ago).Unix(), Name: "disk.used_pct", Key: "/", Value: v}}
			if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
				t.Fatal(err)
			}
		}
		send(20*time.Minute, 50)
		if r := chk.Probe(ctx); r.Status != probe.StatusDown || !strings.Contains(r.Message, "no data") {
			t.Fatalf("stale data: %+v", r)
		}
		send(7*time.Minute, 50)
		for ago := 6 * time.Minute; ago >= 3*time.Minute; ago -= 30 * time.Second {
			send(ago, 95)
		}
		if r := chk.Probe(ctx); r.Status != probe.StatusDegraded || !strings.Contains(r.Message, "down after 5m") {
			t.Fatalf("breach of 3m: %+v", r)
		}
		for ago := 150 * time.Second; ago >= 0; ago -= 30 * time.Second {
			send(ago, 96)
		}
		r := chk.Probe(ctx)
		if r.Status != probe.StatusDown || r.Message != "disk.used_pct{/} = 96 > 90 for 6m" || len(r.Metrics) != 1 {
			t.Fatalf("breach of 6m: %+v", r)
		}
		e.clock.Add(30 * time.Second)
		now = e.clock.Now()
		send(0, 40)
		if r := chk.Probe(ctx); r.Status != probe.StatusUp || !strings.Contains(r.Message, "= 40") {
			t.Fatalf("recovered: %+v", r)
		}

		// Through the monitor service: the wrapped factory builds the type.
		mons := monitor.NewService(db, monitor.Options{Checks: Checks(db, probe.New)})
		def := monitor.Definition{}
		for k, v := range map[string]any{"name": "web1 disk", "type": CheckType, "host": "nohost", "metric": "disk.used_pct", "key": "/", "threshold": 90} {
			def[k], _ = json.Marshal(v)
		}
		_, res, err := mons.TestNow(ctx, def)
		if err != nil || res.Status != probe.StatusDown || !strings.Contains(res.Message, "no agent") {
			t.Fatalf("monitor test: %+v %v", res, err)
		}
		if _, err := mons.Create(ctx, def); err != nil {
			t.Fatalf("create agent_metric monitor: %v", err)
		}
	})
}
