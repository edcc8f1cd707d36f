package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// windowValues is a filled-in one-off window form.
func windowValues(name string, monitorIDs ...int64) url.Values {
	v := url.Values{"name": {name}, "kind": {"once"}, "starts_at": {"2099-12-01T21:00"}, "ends_at": {"2099-12-01T23:00"},
		"timezone": {"UTC"}, "action": {"save"}}
	for _, id := range monitorIDs {
		v.Add("m", fmt.Sprint(id))
	}
	return v
}

func windowsOf(t *testing.T, e *testEnv) []*monitor.Window {
	t.Helper()
	ws, err := e.mons.Windows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestMaintenanceWindowsUI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { testMaintenanceWindowsUI(t, newTestEnvOn(t, db)) })
}

func testMaintenanceWindowsUI(t *testing.T, e *testEnv) {
	db1 := addMonitor(t, e, `{"name":"db1","type":"tcp","host":"db1.example.com","port":5432,"tags":["db"],"paused":true}`)
	web := addMonitor(t, e, `{"name":"web","type":"tcp","host":"web.example.com","port":443,"paused":true}`)
	op := signedIn(t, e, auth.RoleOperator)

	p := op.get("/maintenance")
	if p.status != http.StatusOK || !strings.Contains(p.body, "No maintenance windows yet.") || !strings.Contains(p.body, `href="/maintenance/new"`) {
		t.Fatalf("empty list: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `href="/maintenance" aria-current="page">Maintenance</a>`) {
		t.Error("navigation does not mark Maintenance")
	}

	p = op.get("/maintenance/new")
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="kind" value="once" checked`) || !strings.Contains(p.body, `name="m" value="`+fmt.Sprint(db1.ID)+`"`) {
		t.Fatalf("new form: %d\n%s", p.status, p.body)
	}

	// One-off, typed in Berlin time, stored in UTC.
	form := windowValues("db upgrade", db1.ID)
	form.Set("starts_at", "2026-12-01T22:00")
	form.Set("ends_at", "2026-12-02T00:00")
	form.Set("timezone", "Europe/Berlin")
	form.Set("description", "new disks")
	p = op.post("/maintenance/new", form)
	if p.status != http.StatusSeeOther || p.location() != "/maintenance?notice=maintenance-created" {
		t.Fatalf("create: %d %q\n%s", p.status, p.location(), p.body)
	}
	ws := windowsOf(t, e)
	if len(ws) != 1 || !ws[0].StartsAt.Equal(time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)) || ws[0].Timezone != "" ||
		fmt.Sprint(ws[0].MonitorIDs) != fmt.Sprint([]int64{db1.ID}) || ws[0].Description != "new disks" {
		t.Fatalf("stored %+v", ws)
	}
	once := ws[0]

	// Recurring, by tag.
	form = url.Values{"name": {"patch Sunday"}, "kind": {"recurring"}, "cron": {"0 3 * * 0"}, "duration": {"2h"}, "timezone": {"Europe/Berlin"},
		"tags": {"DB, prod"}, "starts_at": {"ignored"}, "action": {"save"}}
	if p = op.post("/maintenance/new", form); p.status != http.StatusSeeOther {
		t.Fatalf("create recurring: %d\n%s", p.status, p.body)
	}
	// Open now: covers web.
	now := time.Now().UTC()
	form = windowValues("emergency", web.ID)
	form.Set("starts_at", now.Add(-time.Hour).Format("2006-01-02T15:04"))
	form.Set("ends_at", now.Add(2*time.Hour).Format("2006-01-02T15:04"))
	if p = op.post("/maintenance/new", form); p.status != http.StatusSeeOther {
		t.Fatalf("create active: %d\n%s", p.status, p.body)
	}

	p = op.get("/maintenance?notice=maintenance-created")
	for _, want := range []string{
		"The maintenance window was added.",
		"once: 2026-12-01 21:00 → 23:00 UTC",
		"cron 0 3 * * 0 for 2h (Europe/Berlin)",
		fmt.Sprintf(`<a href="/monitors/%d">db1</a>`, db1.ID),
		`<a class="tag" href="/monitors?tag=db">db</a>`, `<a class="tag" href="/monitors?tag=prod">prod</a>`,
		`<span class="status status-info"><span class="status-mark" aria-hidden="true">◆</span> Active now</span>`,
		"new disks", "operator1",
		fmt.Sprintf(`<a class="strong" href="/maintenance/%d">db upgrade</a>`, once.ID),
		fmt.Sprintf(`action="/maintenance/%d/delete" data-confirm="Delete the maintenance window “db upgrade”?`, once.ID),
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}

	// Edit: the form shows what is stored, in UTC.
	p = op.get(maintenanceURL(once.ID))
	for _, want := range []string{`value="2026-12-01T21:00"`, `value="2026-12-01T23:00"`, `id="f-timezone" name="timezone" type="text" value="UTC"`,
		`name="m" value="` + fmt.Sprint(db1.ID) + `" checked`, "new disks</textarea>", "Delete window"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}
	form = url.Values{"name": {"db upgrade, part 2"}, "kind": {"recurring"}, "cron": {"30 1 * * *"}, "duration": {"90m"}, "timezone": {"UTC"},
		"m": {fmt.Sprint(db1.ID), fmt.Sprint(web.ID)}, "action": {"save"}}
	p = op.post(maintenanceURL(once.ID), form)
	if p.status != http.StatusSeeOther || p.location() != "/maintenance?notice=maintenance-saved" {
		t.Fatalf("save: %d %q\n%s", p.status, p.location(), p.body)
	}
	got, err := e.mons.Window(context.Background(), once.ID)
	if err != nil || got.Name != "db upgrade, part 2" || got.StartsAt != nil || got.Cron != "30 1 * * *" || got.Duration != "1h30m0s" || len(got.MonitorIDs) != 2 {
		t.Fatalf("saved %+v %v", got, err)
	}
	if p := op.get("/maintenance?notice=maintenance-saved"); !strings.Contains(p.body, "The maintenance window was saved.") || !strings.Contains(p.body, "cron 30 1 * * * for 1h30m (UTC)") {
		t.Error("list after save")
	}

	// Filter keeps what was typed and saves nothing.
	form.Set("action", "filter")
	form.Set("q", "WEB")
	form.Set("name", "typed but not saved")
	form.Del("m")
	p = op.post(maintenanceURL(once.ID), form)
	if p.status != http.StatusOK || !strings.Contains(p.body, `value="typed but not saved"`) || strings.Contains(p.body, `<span class="strong">db1</span>`) ||
		!strings.Contains(p.body, `<span class="strong">web</span>`) || !strings.Contains(p.body, "1 of 2 monitors hidden by the filter.") {
		t.Fatalf("filter: %d\n%s", p.status, p.body)
	}
	if got, _ := e.mons.Window(context.Background(), once.ID); got.Name != "db upgrade, part 2" {
		t.Error("filtering saved the form")
	}

	// Forged CSRF, then delete, twice.
	if p := op.post(maintenanceURL(once.ID)+"/delete", url.Values{"csrf_token": {"forged"}}); p.status != http.StatusForbidden {
		t.Errorf("forged delete: %d", p.status)
	}
	p = op.post(maintenanceURL(once.ID)+"/delete", nil)
	if p.status != http.StatusSeeOther || p.location() != "/maintenance?notice=maintenance-deleted" {
		t.Fatalf("delete: %d %q", p.status, p.location())
	}
	if p := op.get(p.location()); !strings.Contains(p.body, "The maintenance window was deleted") || strings.Contains(p.body, "db upgrade") {
		t.Error("list after delete")
	}
	if len(windowsOf(t, e)) != 2 {
		t.Error("the window is still stored")
	}
	for _, path := range []string{maintenanceURL(once.ID), "/maintenance/abc"} {
		if p := op.get(path); p.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, p.status)
		}
	}
	if p := op.post(maintenanceURL(once.ID)+"/delete", nil); p.status != http.StatusNotFound {
		t.Errorf("deleting twice: %d", p.status)
	}
}

func TestMaintenanceViewer(t *testing.T) {
	e := newTestEnv(t)
	m := addMonitor(t, e, `{"name":"db1","type":"tcp","host":"localhost","port":1,"paused":true}`)
	op := signedIn(t, e, auth.RoleOperator)
	op.get("/maintenance/new")
	if p := op.post("/maintenance/new", windowValues("night work", m.ID)); p.status != http.StatusSeeOther {
		t.Fatalf("create: %d", p.status)
	}
	id := windowsOf(t, e)[0].ID

	viewer := signedIn(t, e, auth.RoleViewer)
	p := viewer.get("/maintenance")
	if p.status != http.StatusOK || !strings.Contains(p.body, `<span class="strong">night work</span>`) || !strings.Contains(p.body, "Upcoming") {
		t.Fatalf("viewer's list: %d\n%s", p.status, p.body)
	}
	for _, bad := range []string{`href="/maintenance/new"`, `href="/maintenance/` + fmt.Sprint(id) + `"`, "/delete", "data-confirm"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("viewer's list has %q", bad)
		}
	}
	for _, path := range []string{"/maintenance/new", maintenanceURL(id)} {
		if p := viewer.get(path); p.status != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d", path, p.status)
		}
	}
	for _, path := range []string{"/maintenance/new", maintenanceURL(id), maintenanceURL(id) + "/delete"} {
		if p := viewer.post(path, windowValues("x", m.ID)); p.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", path, p.status)
		}
	}
	if len(windowsOf(t, e)) != 1 {
		t.Error("a viewer changed the windows")
	}
	if p := signedIn(t, e, auth.RoleRequester).get("/"); strings.Contains(p.body, `href="/maintenance"`) {
		t.Error("a requester is offered maintenance")
	}
}

// TestMaintenanceFormErrorsBesideFields posts one mistake at a time and
// expects it explained beside its own input, nothing saved.
func TestMaintenanceFormErrorsBesideFields(t *testing.T) {
	e := newTestEnv(t)
	m := addMonitor(t, e, `{"name":"db1","type":"tcp","host":"localhost","port":1,"paused":true}`)
	b := signedIn(t, e, auth.RoleOperator)
	b.get("/maintenance/new")
	recurring := map[string]string{"kind": "recurring", "cron": "0 3 * * 0", "duration": "2h"}
	for _, c := range []struct {
		input, value, field string
		also                map[string]string
	}{
		{"name", "", "name", nil},
		{"name", strings.Repeat("n", 201), "name", nil},
		{"description", strings.Repeat("d", 2001), "description", nil},
		{"kind", "sometimes", "kind", nil},
		{"starts_at", "", "starts_at", nil},
		{"starts_at", "tomorrow", "starts_at", nil},
		{"ends_at", "", "ends_at", nil},
		{"ends_at", "2099-12-01T20:00", "ends_at", nil},
		{"ends_at", "2101-01-01T00:00", "ends_at", nil},
		{"timezone", "Mars/Olympus_Mons", "timezone", nil},
		{"cron", "", "cron", recurring},
		{"cron", "61 * * * *", "cron", recurring},
		{"cron", "0 0 30 2 *", "cron", recurring},
		{"duration", "", "duration", recurring},
		{"duration", "30s", "duration", recurring},
		{"duration", "8d", "duration", recurring},
		{"timezone", "Nowhere", "timezone", recurring},
		{"tags", "ok, " + strings.Repeat("t", 65), "tags", nil},
		{"tags", manyTags(33), "tags", nil},
		{"m", "", "monitor_ids", nil},
	} {
		t.Run(c.input+"="+fmt.Sprintf("%.20q", c.value), func(t *testing.T) {
			form := windowValues("w", m.ID)
			for k, v := range c.also {
				form.Set(k, v)
			}
			form.Set(c.input, c.value)
			p := b.post("/maintenance/new", form)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", p.status)
			}
			if p.fieldError(c.field) == "" {
				mm := regexp.MustCompile(`notice-error" role="alert">([^<]*)<`).FindStringSubmatch(p.body)
				t.Fatalf("no error beside %s (summary: %v)", c.field, mm)
			}
			if !strings.Contains(p.body, `aria-describedby="f-`+c.field+`-error`) {
				t.Errorf("the error is not tied to its input")
			}
			checkPage(t, c.input, p)
		})
	}
	t.Run("several mistakes at once", func(t *testing.T) {
		form := windowValues("", m.ID)
		form.Set("starts_at", "soon")
		form.Set("timezone", "Nowhere")
		form.Del("m")
		p := b.post("/maintenance/new", form)
		for _, f := range []string{"name", "starts_at", "timezone", "monitor_ids"} {
			if p.fieldError(f) == "" {
				t.Errorf("no error beside %s", f)
			}
		}
		if !strings.Contains(p.body, `value="soon"`) {
			t.Error("the form lost what was typed")
		}
	})
	if n := len(windowsOf(t, e)); n != 0 {
		t.Fatalf("refused forms saved %d windows", n)
	}
}

// manyTags is n different tags.
func manyTags(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "t%d ", i)
	}
	return b.String()
}

func TestMaintenanceFormHostileInput(t *testing.T) {
	e := newTestEnv(t)
	m := addMonitor(t, e, `{"name":"db1","type":"tcp","host":"localhost","port":1,"paused":true}`)
	b := signedIn(t, e, auth.RoleOperator)
	b.get("/maintenance/new")
	for name, bad := range hostileValues {
		t.Run(name, func(t *testing.T) {
			for _, input := range []string{"name", "description", "kind", "starts_at", "ends_at", "timezone", "cron", "duration", "tags", "q", "m"} {
				for _, kind := range []string{"once", "recurring"} {
					form := windowValues("hostile "+name+" "+input+" "+kind, m.ID)
					form.Set("cron", "0 3 * * 0")
					form.Set("duration", "1h")
					form.Set("kind", kind)
					form.Set(input, bad)
					p := b.post("/maintenance/new", form)
					what := input + " " + kind
					checkPage(t, what, p)
					checkRefused(t, what, p, input, "monitor_ids")
				}
			}
		})
	}
	ws := windowsOf(t, e)
	if len(ws) == 0 {
		t.Fatal("no hostile value was accepted anywhere; the test checks nothing")
	}
	checkPage(t, "list", b.get("/maintenance"))
	checkPage(t, "monitor", b.get(monitorURL(m.ID)))
	for _, w := range ws {
		checkPage(t, w.Name, b.get(maintenanceURL(w.ID)))
	}
}

func TestHeartbeatDetailPings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { testHeartbeatDetailPings(t, newTestEnvOn(t, db)) })
}

func testHeartbeatDetailPings(t *testing.T, e *testEnv) {
	m := addMonitor(t, e, `{"name":"nightly backup","type":"heartbeat","period":"1h","grace":"5m"}`)
	key, err := e.mons.PingKey(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	pingURL := e.http.URL + "/ping/" + key
	viewer := signedIn(t, e, auth.RoleViewer)
	p := viewer.get(monitorURL(m.ID))
	for _, want := range []string{
		`id="ping-url" class="mono" type="text" value="` + pingURL + `"`, `data-copy="ping-url"`,
		"curl -fsS -m 10 --retry 3 " + pingURL + "</code>", pingURL + "/start</code>", pingURL + "/fail</code>", pingURL + "/$?</code>",
		"No pings yet.", "No maintenance window covers this monitor",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// A job's ping shows in the list.
	resp, err := http.Post(pingURL+"/3?rid=run-7", "text/plain", strings.NewReader("disk full <b>\nsecond line"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ping: %d", resp.StatusCode)
	}
	p = viewer.get(monitorURL(m.ID))
	for _, want := range []string{`<td data-label="Kind" class="nowrap"><span class="status status-down"><span class="status-mark" aria-hidden="true">▼</span> Fail</span></td>`,
		`<td data-label="Exit code" class="num">3</td>`, "run-7", "disk full &lt;b&gt;", "127.0.0.1"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("ping list lacks %q", want)
		}
	}
	if strings.Contains(p.body, "second line") || strings.Contains(p.body, "No pings yet.") {
		t.Error("the ping list shows more than the body's first line, or no ping")
	}
	// Pings of other monitors stay off the page; only the latest 20 show.
	for range pingsShown + 3 {
		resp, err := http.Get(pingURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := strings.Count(viewer.get(monitorURL(m.ID)).body, `<td data-label="Kind"`); n != pingsShown {
		t.Errorf("%d pings listed, want %d", n, pingsShown)
	}
	// Another type has no ping section.
	tcp := addMonitor(t, e, `{"name":"db","type":"tcp","host":"localhost","port":1,"paused":true}`)
	if p := viewer.get(monitorURL(tcp.ID)); strings.Contains(p.body, "Ping URL") || strings.Contains(p.body, "Latest pings") {
		t.Error("a tcp monitor shows a ping URL")
	}
}

func TestMonitorPageListsCoveringWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { testMonitorPageListsCoveringWindows(t, newTestEnvOn(t, db)) })
}

func testMonitorPageListsCoveringWindows(t *testing.T, e *testEnv) {
	m := addMonitor(t, e, `{"name":"nightly backup","type":"heartbeat","period":"1h","tags":["backup"]}`)
	other := addMonitor(t, e, `{"name":"web","type":"tcp","host":"localhost","port":1,"paused":true}`)
	ctx := auth.WithActor(context.Background(), auth.SystemActor())
	now := time.Now().UTC()
	at := func(d time.Duration) *time.Time { t := now.Add(d).Truncate(time.Minute); return &t }
	open, err := e.mons.SaveWindow(ctx, monitor.Window{Name: "backup <move>", StartsAt: at(-time.Hour), EndsAt: at(3 * time.Hour), Tags: []string{"backup"}})
	if err != nil {
		t.Fatal(err)
	}
	later, err := e.mons.SaveWindow(ctx, monitor.Window{Name: "patch Sunday", Cron: "0 3 * * 0", Duration: "2h", Timezone: "Europe/Berlin", MonitorIDs: []int64{m.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.mons.SaveWindow(ctx, monitor.Window{Name: "long gone", StartsAt: at(-48 * time.Hour), EndsAt: at(-47 * time.Hour), MonitorIDs: []int64{m.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mons.SaveWindow(ctx, monitor.Window{Name: "someone else's", StartsAt: at(time.Hour), EndsAt: at(2 * time.Hour), MonitorIDs: []int64{other.ID}}); err != nil {
		t.Fatal(err)
	}

	// A ping makes the heartbeat check run now, inside the open window.
	key, err := e.mons.PingKey(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(e.http.URL + "/ping/" + key); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if got, _ := e.mons.Get(context.Background(), m.ID); got.Status.State != monitor.StateMaintenance {
		t.Fatalf("state %s after a ping in a window", got.Status.State)
	}

	viewer := signedIn(t, e, auth.RoleViewer)
	p := viewer.get(monitorURL(m.ID))
	for _, want := range []string{
		fmt.Sprintf(`In maintenance:</span> <a href="/maintenance#window-%d">backup &lt;move&gt;</a> until <time datetime="%s"`, open.ID, isoTime(*open.EndsAt)),
		fmt.Sprintf(`<a class="strong" href="/maintenance#window-%d">backup &lt;move&gt;</a>`, open.ID),
		fmt.Sprintf(`<a class="strong" href="/maintenance#window-%d">patch Sunday</a>`, later.ID),
		"cron 0 3 * * 0 for 2h (Europe/Berlin)", "Active now", "Upcoming",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"long gone", "someone else"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("page lists %q", bad)
		}
	}
	if strings.Index(p.body, "backup &lt;move&gt;</a></td>") > strings.Index(p.body, "patch Sunday</a></td>") {
		t.Error("the open window is not listed first")
	}
	// The list the link leads to has the row.
	if p := viewer.get("/maintenance"); !strings.Contains(p.body, fmt.Sprintf(`<tr id="window-%d">`, open.ID)) {
		t.Error("the list has no anchor for the window")
	}
	// Operators are sent to the edit form.
	op := signedIn(t, e, auth.RoleOperator)
	if p := op.get(monitorURL(m.ID)); !strings.Contains(p.body, fmt.Sprintf(`href="/maintenance/%d">patch Sunday</a>`, later.ID)) {
		t.Error("operator's link does not lead to the form")
	}
}
