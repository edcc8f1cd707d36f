package incident

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParsePagerDuty(t *testing.T) {
	key, ev, err := ParsePagerDuty([]byte(`{"routing_key":"abc","event_action":"trigger","payload":{"summary":"CPU high","source":"db1",
		"severity":"critical","timestamp":"2026-12-01T10:00:00Z","component":"postgres","group":"prod","class":"cpu","custom_details":{"load":9}},
		"links":[{"href":"https://grafana.example/d/1","text":"dash"}],"images":[{"src":"https://img.example/a.png","alt":"graph"}]}`))
	if err != nil || key != "abc" || ev.Action != ActionTrigger || ev.Summary != "CPU high" || ev.Severity != SeverityCritical ||
		ev.Labels["component"] != "postgres" || len(ev.Links) != 2 || len(ev.DedupKey) != 32 || string(ev.Details) != `{"load":9}` {
		t.Fatalf("%q %+v %v", key, ev, err)
	}
	_, ev, err = ParsePagerDuty([]byte(`{"routing_key":"abc","event_action":"resolve","dedup_key":"k1"}`))
	if err != nil || ev.Action != ActionResolve || ev.DedupKey != "k1" {
		t.Fatalf("resolve: %+v %v", ev, err)
	}
	for name, tc := range map[string]struct{ body, want string }{
		"no action":       {`{"routing_key":"a"}`, "'event_action'"},
		"no key":          {`{"event_action":"resolve","dedup_key":"x"}`, "'routing_key'"},
		"no summary":      {`{"routing_key":"a","event_action":"trigger","payload":{"source":"s","severity":"info"}}`, "'payload.summary'"},
		"bad severity":    {`{"routing_key":"a","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"bad"}}`, "'payload.severity'"},
		"no payload":      {`{"routing_key":"a","event_action":"trigger"}`, "'payload' is missing"},
		"ack without key": {`{"routing_key":"a","event_action":"acknowledge"}`, "'dedup_key' is required"},
		"bad time":        {`{"routing_key":"a","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"info","timestamp":"yesterday"}}`, "'payload.timestamp'"},
		"js link":         {`{"routing_key":"a","event_action":"resolve","dedup_key":"x","links":[{"href":"javascript:alert(1)"}]}`, "'links[0].href'"},
		"long summary":    {`{"routing_key":"a","event_action":"trigger","payload":{"summary":"` + strings.Repeat("x", 1100) + `","source":"s","severity":"info"}}`, "'payload.summary'"},
		"not json":        {`{"routing_key":`, "malformed"},
		"array":           {`[1]`, "Body is not a JSON object"},
		"two objects":     {`{"routing_key":"a","event_action":"resolve","dedup_key":"x"} {}`, "exactly one"},
	} {
		_, _, err := ParsePagerDuty([]byte(tc.body))
		var ie *InvalidEvent
		if !errors.As(err, &ie) || !strings.Contains(strings.Join(ie.Errors, "|"), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %s", name, err, tc.want)
		}
	}
}

func TestParseAlertmanager(t *testing.T) {
	body := `{"version":"4","groupKey":"{}:{alertname=\"X\"}","status":"firing","receiver":"opsdeck","alerts":[
		{"status":"firing","labels":{"alertname":"HighLatency","severity":"page","instance":"web1"},"annotations":{"summary":"p99 over 1s"},
		 "startsAt":"2026-12-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom:9090/graph","fingerprint":"abc123"},
		{"status":"resolved","labels":{"alertname":"Other"},"annotations":{},"startsAt":"2026-12-01T09:00:00Z","endsAt":"2026-12-01T09:30:00Z"}]}`
	evs, err := ParseAlertmanager([]byte(body))
	if err != nil || len(evs) != 2 {
		t.Fatalf("%+v %v", evs, err)
	}
	if e := evs[0]; e.Action != ActionTrigger || e.DedupKey != "abc123" || e.Severity != SeverityCritical || e.Summary != "HighLatency: p99 over 1s" ||
		e.Source != "web1" || len(e.Links) != 1 {
		t.Fatalf("firing: %+v", e)
	}
	if e := evs[1]; e.Action != ActionResolve || len(e.DedupKey) != 32 || e.Summary != "Other" {
		t.Fatalf("resolved without fingerprint: %+v", e)
	}
	for name, b := range map[string]string{
		"empty":       `{"version":"4","alerts":[]}`,
		"version":     `{"version":"3","alerts":[{"status":"firing","labels":{}}]}`,
		"bad status":  `{"version":"4","alerts":[{"status":"weird","labels":{}}]}`,
		"labels type": `{"version":"4","alerts":[{"status":"firing","labels":{"a":1}}]}`,
		"garbage":     `not json`,
		"huge label":  `{"alerts":[{"status":"firing","labels":{"a":"` + strings.Repeat("x", 5000) + `"}}]}`,
	} {
		if _, err := ParseAlertmanager([]byte(b)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseGeneric(t *testing.T) {
	m := Mapping{Summary: "alert.title", DedupKey: "alert.id", Severity: "level", Status: "state", Source: "host", Labels: "tags",
		ResolveValues: []string{"OK"}, AcknowledgeValues: []string{"seen"}}
	ev, err := ParseGeneric([]byte(`{"alert":{"title":"Queue stuck","id":42},"level":"CRITICAL","state":"alerting","host":"mq1","tags":{"team":"ops","n":3}}`), m)
	if err != nil || ev.Action != ActionTrigger || ev.Summary != "Queue stuck" || ev.DedupKey != "42" || ev.Severity != SeverityCritical ||
		ev.Source != "mq1" || ev.Labels["team"] != "ops" || ev.Labels["n"] != "3" {
		t.Fatalf("%+v %v", ev, err)
	}
	if ev, _ := ParseGeneric([]byte(`{"alert":{"title":"Q","id":"x"},"state":"ok"}`), m); ev.Action != ActionResolve {
		t.Fatalf("resolve value: %+v", ev)
	}
	if ev, _ := ParseGeneric([]byte(`{"alert":{"title":"Q","id":"x"},"state":"SEEN"}`), m); ev.Action != ActionAcknowledge {
		t.Fatalf("ack value: %+v", ev)
	}
	if ev, _ := ParseGeneric([]byte(`{"items":[{"msg":"first"}]}`), Mapping{Summary: "items.0.msg"}); ev.Summary != "first" || ev.DedupKey != "first" {
		t.Fatalf("array path: %+v", ev)
	}
	for _, b := range []string{`{"alert":{}}`, `[]`, `"x"`, `{`, `{"alert":{"title":{"nested":1}}}`} {
		if _, err := ParseGeneric([]byte(b), m); err == nil {
			t.Errorf("%s accepted", b)
		}
	}
}

func FuzzParsePagerDuty(f *testing.F) {
	f.Add([]byte(`{"routing_key":"abc","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":{"a":[1,2]}},"links":[{"href":"https://x"}]}`))
	f.Add([]byte(`{"routing_key":"abc","event_action":"resolve","dedup_key":"k"}`))
	f.Add([]byte(`{"event_action":"trigger","payload":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, ev, err := ParsePagerDuty(b)
		if err != nil {
			var ie *InvalidEvent
			if !errors.As(err, &ie) || len(ie.Errors) == 0 {
				t.Fatalf("error is not an InvalidEvent with reasons: %v", err)
			}
			return
		}
		if key == "" || ev.DedupKey == "" || len(ev.DedupKey) > maxDedupKey {
			t.Fatalf("accepted event without key or dedup key: %q %+v", key, ev)
		}
		if ev.Action == ActionTrigger && (ev.Summary == "" && strings.TrimSpace(ev.Summary) == "") {
			t.Fatalf("trigger without summary accepted")
		}
		if len(ev.Details) > 0 && !json.Valid(ev.Details) {
			t.Fatalf("details not JSON: %q", ev.Details)
		}
		for _, l := range ev.Links {
			if !webURL(l.Href) {
				t.Fatalf("link %q", l.Href)
			}
		}
	})
}

func FuzzParseAlertmanager(f *testing.F) {
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"},"annotations":{"summary":"s"},"fingerprint":"f"}]}`))
	f.Add([]byte(`{"alerts":[{"status":"resolved","labels":{},"endsAt":"2026-01-01T00:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := ParseAlertmanager(b)
		if err != nil {
			return
		}
		if len(evs) == 0 || len(evs) > maxAlertsPerMessage {
			t.Fatalf("%d events", len(evs))
		}
		for _, ev := range evs {
			if ev.DedupKey == "" || len(ev.DedupKey) > maxDedupKey || ev.Summary == "" || (ev.Action != ActionTrigger && ev.Action != ActionResolve) {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}

func FuzzParseGeneric(f *testing.F) {
	f.Add([]byte(`{"alert":{"title":"t","id":1},"state":"ok"}`), "alert.title", "alert.id")
	f.Fuzz(func(t *testing.T, b []byte, summary, dedup string) {
		m := Mapping{Summary: summary, DedupKey: dedup, Status: "state"}
		if m.normalize() != nil {
			return
		}
		ev, err := ParseGeneric(b, m)
		if err != nil {
			return
		}
		if ev.Summary == "" || ev.DedupKey == "" || len(ev.DedupKey) > maxDedupKey {
			t.Fatalf("bad event %+v", ev)
		}
	})
}
