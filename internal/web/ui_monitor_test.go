package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// addMonitor creates a monitor through the service from a JSON definition.
func addMonitor(t testing.TB, e *testEnv, def string) monitor.WithStatus {
	t.Helper()
	var d monitor.Definition
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		t.Fatal(err)
	}
	m, err := e.mons.Create(context.Background(), d)
	if err != nil {
		t.Fatalf("create %s: %v", def, err)
	}
	return m
}

// addResults stores check results of a monitor, as the scheduler would.
func addResults(t testing.TB, e *testEnv, id int64, statuses ...string) {
	t.Helper()
	now := time.Now().UTC()
	var rows [][]any
	for i, st := range statuses {
		rows = append(rows, []any{id, now.Add(-time.Duration(len(statuses)-i) * time.Minute), st, int64(12000 + i*1000), "result " + st})
	}
	if err := e.db.InsertMany(context.Background(), e.db.W, "check_results", []string{"monitor_id", "at", "status", "latency_us", "message"}, rows); err != nil {
		t.Fatal(err)
	}
}

// okServer is a web service that is up.
func okServer(t testing.TB) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "all systems go")
	}))
	t.Cleanup(s.Close)
	return s
}

// rows returns the list's rows as their texts, by monitor name.
func listedNames(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<a class="strong" href="/monitors/\d+">([^<]*)</a>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestMonitorListEmpty(t *testing.T) {
	e := newTestEnv(t)
	p := signedIn(t, e, auth.RoleOperator).get("/monitors")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Nothing is monitored yet") || !strings.Contains(p.body, `<a class="btn btn-primary" href="/monitors/new">Add a monitor</a>`) {
		t.Fatalf("operator's empty list: %d\n%s", p.status, p.body)
	}
	p = signedIn(t, e, auth.RoleViewer).get("/monitors")
	if !strings.Contains(p.body, "Nothing is monitored yet") || strings.Contains(p.body, `href="/monitors/new"`) {
		t.Fatal("viewer's empty list offers to add a monitor")
	}
	if !strings.Contains(p.body, `href="/monitors" aria-current="page">Monitors</a>`) {
		t.Error("navigation does not mark Monitors")
	}
	if p := signedIn(t, e, auth.RoleRequester).get("/"); strings.Contains(p.body, `href="/monitors"`) {
		t.Error("a requester is offered the monitors")
	}
}

func TestMonitorListFiltersAndBars(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { testMonitorListFiltersAndBars(t, newTestEnvOn(t, db)) })
}

func testMonitorListFiltersAndBars(t *testing.T, e *testEnv) {
	web := addMonitor(t, e, `{"name":"Web shop","type":"http","url":"https://shop.example.com/health","tags":["prod","web"],"paused":true}`)
	db := addMonitor(t, e, `{"name":"Database","type":"tcp","host":"db1.example.com","port":5432,"tags":["prod"],"paused":true,"description":"orders database"}`)
	addMonitor(t, e, `{"name":"Certificate","type":"tls","host":"example.com","tags":["staging"],"paused":true}`)
	addResults(t, e, web.ID, "up", "up", "up", "down")
	b := signedIn(t, e, auth.RoleViewer)

	p := b.get("/monitors")
	if got := listedNames(p.body); len(got) != 3 {
		t.Fatalf("list shows %v", got)
	}
	for _, want := range []string{
		"https://shop.example.com/health", "db1.example.com:5432", "example.com:443", // targets
		`<span class="status status-off"><span class="status-mark" aria-hidden="true">‖</span> Paused</span>`, // state with a mark and a word
		`<span class="uptime uptime-bad">75.00 %</span>`,                                                      // 24-hour uptime
		`<svg class="uptime-bar"`, `<svg class="spark`,
		">" + time.Now().UTC().Format(time.DateOnly) + ": 75.00 % (1 of 4 checks failed)</title>",
		`href="/monitors?state=paused"`, // the summary by state
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	if n := strings.Count(p.body, `class="ub-`); n != 3*90 {
		t.Errorf("%d bars, want 90 per monitor", n)
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"q=DATA", []string{"Database"}},
		{"q=orders", []string{"Database"}},
		{"tag=prod", []string{"Web shop", "Database"}},
		{"tag=PROD", []string{"Web shop", "Database"}},
		{"type=tls", []string{"Certificate"}},
		{"state=paused&type=http", []string{"Web shop"}},
		{"state=down", nil},
	} {
		p := b.get("/monitors?" + c.query)
		if got := listedNames(p.body); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: list shows %v, want %v", c.query, got, c.want)
		}
		if len(c.want) == 0 && !strings.Contains(p.body, "No monitor matches these filters.") {
			t.Errorf("%s: no empty-filter text", c.query)
		}
	}
	for _, c := range []struct{ query, field string }{{"state=melted", "state"}, {"type=gopher", "type"}, {"q=" + url.QueryEscape(strings.Repeat("x", 201)), "q"}} {
		p := b.get("/monitors?" + c.query)
		if p.status != http.StatusBadRequest || p.fieldError(c.field) == "" {
			t.Errorf("%s: status %d, error %q", c.query, p.status, p.fieldError(c.field))
		}
	}
	if p := b.get("/monitors?cursor=bogus"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "start again from the first page") {
		t.Errorf("bad cursor: %d", p.status)
	}
	_ = db
}

func TestMonitorListPages(t *testing.T) {
	e := newTestEnv(t)
	ids := seedMonitors(t, e.db, "svc", monitorsPerPage*3/2+10, time.Now())
	b := signedIn(t, e, auth.RoleViewer)
	p := b.get("/monitors?tag=web")
	first := listedNames(p.body)
	if len(first) != monitorsPerPage {
		t.Fatalf("first page shows %d", len(first))
	}
	m := regexp.MustCompile(`<a class="btn" href="([^"]+)" rel="next">Next`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no Next link")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(next, "tag=web") {
		t.Errorf("Next drops the filter: %s", next)
	}
	p = b.get(next)
	rest := listedNames(p.body)
	if len(rest) == 0 || rest[0] == first[0] || !strings.Contains(p.body, "First page") || strings.Contains(p.body, `rel="next"`) {
		t.Fatalf("second page: %v", rest)
	}
	// Every web-tagged monitor once, over the two pages.
	want := 0
	for i := range ids {
		if i%3 != 0 {
			want++
		}
	}
	if len(first)+len(rest) != want {
		t.Errorf("%d + %d listed, want %d", len(first), len(rest), want)
	}
}

func TestMonitorDetailPage(t *testing.T) {
	e := newTestEnv(t)
	m := addMonitor(t, e, `{"name":"API","type":"http","url":"https://api.example.com/health","method":"POST",
		"headers":{"X-Api-Key":"very-secret-key","Accept":"application/json"},"basic_auth":{"username":"probe","password":"hunter2hunter2"},
		"expect":{"status":"200-204","body_regex":"ok|fine"},"interval":"30s","tags":["prod"],"paused":true}`)
	addResults(t, e, m.ID, "up", "up", "degraded", "down", "up")
	viewer := signedIn(t, e, auth.RoleViewer)
	p := viewer.get(monitorURL(m.ID))
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	for _, want := range []string{
		"<h1>API</h1>", "https://api.example.com/health", "Paused</span>", "since <time",
		"200-204", "POST", "Checked every</dt><dd>30s", "3 failed checks in a row",
		"Accept: application/json", "X-Api-Key: •••••• (hidden)", "set (hidden)", // secrets hidden
		"expect.body_regex", // a setting the form has no input for is still listed
		`<svg class="uptime-bar"`, `<svg class="chart"`, `aria-current="page">24h</a>`,
		"No state changes yet.", "result degraded", "80.00 %",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, leak := range []string{"hunter2hunter2", "very-secret-key"} {
		if strings.Contains(p.body, leak) {
			t.Errorf("page shows the secret %q", leak)
		}
	}
	for _, action := range []string{"/edit", "/pause", "/resume", "/delete"} {
		if strings.Contains(p.body, monitorURL(m.ID)+action) {
			t.Errorf("viewer sees %s", action)
		}
	}
	if n := strings.Count(p.body, `<td data-label="Result">`); n != 5 {
		t.Errorf("%d results listed, want 5", n)
	}

	op := signedIn(t, e, auth.RoleOperator)
	p = op.get(monitorURL(m.ID) + "?range=7d")
	for _, want := range []string{`action="/monitors/` + fmt.Sprint(m.ID) + `/resume"`, `href="/monitors/` + fmt.Sprint(m.ID) + `/edit"`,
		`data-confirm="Delete the monitor “API” and all its history? This cannot be undone."`, `aria-current="page">7d</a>`, "Latency, last 7 days"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("operator's page lacks %q", want)
		}
	}
	for _, bad := range []string{"/monitors/999999", "/monitors/abc", "/monitors/999999/edit"} {
		if p := op.get(bad); p.status != http.StatusNotFound {
			t.Errorf("%s: status %d", bad, p.status)
		}
	}
}

func TestMonitorEventsPaged(t *testing.T) {
	e := newTestEnv(t)
	m := addMonitor(t, e, `{"name":"flappy","type":"tcp","host":"localhost","port":1,"paused":true}`)
	var rows [][]any
	now := time.Now().UTC()
	for i := range eventsPerPage + 5 {
		from, to := "up", "down"
		if i%2 == 1 {
			from, to = to, from
		}
		rows = append(rows, []any{m.ID, now.Add(time.Duration(i-100) * time.Minute), from, to, fmt.Sprintf("change %d", i)})
	}
	if err := e.db.InsertMany(context.Background(), e.db.W, "monitor_events", []string{"monitor_id", "at", "from_state", "to_state", "message"}, rows); err != nil {
		t.Fatal(err)
	}
	b := signedIn(t, e, auth.RoleViewer)
	p := b.get(monitorURL(m.ID))
	mm := regexp.MustCompile(`href="([^"]+)" rel="next">Older`).FindStringSubmatch(p.body)
	if mm == nil || !strings.Contains(p.body, "change 24") || strings.Contains(p.body, "change 4<") {
		t.Fatal("first page of the history is wrong")
	}
	p = b.get(strings.ReplaceAll(mm[1], "&amp;", "&"))
	if !strings.Contains(p.body, "change 4<") || !strings.Contains(p.body, "← Newest") && !strings.Contains(p.body, "Newest</a>") {
		t.Fatal("second page of the history is wrong")
	}
}

// monitorForm is a filled-in add form for an http monitor.
func monitorFormValues(name, target string) url.Values {
	return url.Values{"type": {"http"}, "name": {name}, "http-url": {target}, "http-follow_redirects": {"1"}, "http-tls_verify": {"1"}}
}

func countMonitors(t *testing.T, e *testEnv) int {
	t.Helper()
	counts, err := e.mons.StateCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func TestMonitorFormTestThenSave(t *testing.T) {
	e := newTestEnv(t)
	target := okServer(t)
	b := signedIn(t, e, auth.RoleOperator)
	p := b.get("/monitors/new")
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="type" value="http" checked`) {
		t.Fatalf("form: %d", p.status)
	}
	for _, typ := range []string{"http", "tcp", "tls", "nagios"} {
		if !strings.Contains(p.body, `data-type-section="`+typ+`"`) {
			t.Errorf("no %s section", typ)
		}
	}

	form := monitorFormValues("Shop", target.URL+"/health")
	form.Set("http-expect-body_contains", "systems go")
	form.Set("action", "test")
	p = b.post("/monitors/new", form)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Test result") || !strings.Contains(p.body, "Up</span>") || !strings.Contains(p.body, "Nothing was saved.") {
		t.Fatalf("test: status %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, "Connect</dt>") || !strings.Contains(p.body, "all systems go") {
		t.Error("test result lacks phases or output")
	}
	if !strings.Contains(p.body, `value="`+target.URL+`/health"`) {
		t.Error("test result page lost the URL")
	}
	if n := countMonitors(t, e); n != 0 {
		t.Fatalf("testing saved %d monitors", n)
	}
	form.Set("http-expect-body_contains", "not there")
	if p := b.post("/monitors/new", form); !strings.Contains(p.body, "Down</span>") {
		t.Errorf("a failing test does not say down")
	}

	form.Set("http-expect-body_contains", "systems go")
	form.Set("action", "save")
	form.Set("tags", "prod, web shop")
	form.Set("interval", "30s")
	form.Set("http-headers", "Accept: text/html\r\nX-Trace: 1\r\n")
	p = b.post("/monitors/new", form)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?notice=monitor-created") {
		t.Fatalf("save: status %d location %q\n%s", p.status, p.location(), p.body)
	}
	p = b.get(p.location())
	if !strings.Contains(p.body, "The monitor was added.") || !strings.Contains(p.body, "<h1>Shop</h1>") {
		t.Fatal("detail page after save")
	}
	ms, _, err := e.mons.List(context.Background(), monitor.ListFilter{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("%v %v", ms, err)
	}
	def := ms[0].Definition()
	for k, want := range map[string]string{"url": `"` + target.URL + `/health"`, "tags": `["prod","shop","web"]`, "interval": `"30s"`,
		"expect": `{"body_contains":"systems go"}`, "headers": `{"Accept":"text/html","X-Trace":"1"}`} {
		if string(def[k]) != want {
			t.Errorf("%s = %s, want %s", k, def[k], want)
		}
	}
	for _, k := range []string{"method", "follow_redirects", "tls_verify", "basic_auth", "body"} {
		if _, ok := def[k]; ok {
			t.Errorf("empty or default input %s was stored: %s", k, def[k])
		}
	}
}

func TestMonitorEditKeepsWhatTheFormDoesNotShow(t *testing.T) {
	e := newTestEnv(t)
	m := addMonitor(t, e, `{"name":"API","type":"http","url":"https://api.example.com/","basic_auth":{"username":"probe","password":"hunter2hunter2"},
		"bearer_token":"","expect":{"status":"200","body_regex":"ok|fine"},"tls_verify":false,"paused":true,"failure_threshold":5}`)
	b := signedIn(t, e, auth.RoleOperator)
	p := b.get(monitorURL(m.ID) + "/edit")
	for _, want := range []string{`value="https://api.example.com/"`, `id="f-http-expect-status" name="http-expect-status" type="text" value="200"`,
		`value="probe"`, "A password is stored; leave this empty to keep it.", "<code>expect.body_regex</code>", `id="f-failure_threshold" name="failure_threshold" type="number" value="5"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}
	if strings.Contains(p.body, "hunter2") {
		t.Fatal("the edit form shows the stored password")
	}
	if regexp.MustCompile(`name="http-tls_verify" value="1" checked`).MatchString(p.body) {
		t.Error("tls_verify false shows ticked")
	}
	form := url.Values{"type": {"http"}, "name": {"API v2"}, "http-url": {"https://api.example.com/v2"}, "http-expect-status": {"200-299"},
		"http-basic_auth-username": {"probe"}, "http-follow_redirects": {"1"}, "failure_threshold": {"5"}, "action": {"save"}}
	p = b.post(monitorURL(m.ID)+"/edit", form)
	if p.status != http.StatusSeeOther || p.location() != monitorURL(m.ID)+"?notice=monitor-saved" {
		t.Fatalf("save: %d %q\n%s", p.status, p.location(), p.body)
	}
	got, err := e.mons.Get(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	def := got.Definition()
	for k, want := range map[string]string{"name": `"API v2"`, "url": `"https://api.example.com/v2"`, "paused": "true",
		"basic_auth": `{"password":"hunter2hunter2","username":"probe"}`, "expect": `{"body_regex":"ok|fine","status":"200-299"}`, "tls_verify": "false"} {
		if string(def[k]) != want {
			t.Errorf("%s = %s, want %s", k, def[k], want)
		}
	}
	// Clearing the user removes basic auth, stored password and all.
	form.Set("http-basic_auth-username", "")
	b.post(monitorURL(m.ID)+"/edit", form)
	got, _ = e.mons.Get(context.Background(), m.ID)
	if _, ok := got.Definition()["basic_auth"]; ok {
		t.Error("basic auth kept after clearing its user")
	}
}

// TestMonitorFormErrorsBesideFields posts one mistake at a time and
// expects it explained beside its own input, nothing saved.
func TestMonitorFormErrorsBesideFields(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleOperator)
	b.get("/monitors/new")
	addMonitor(t, e, `{"name":"taken","type":"tcp","host":"localhost","port":1,"paused":true}`)
	base := func(typ string) url.Values {
		v := url.Values{"type": {typ}, "name": {"m"}, "action": {"save"}, "http-url": {"https://example.com/"}, "tcp-host": {"localhost"}, "tcp-port": {"22"},
			"tls-host": {"example.com"}, "nagios-command": {"/usr/lib/nagios/plugins/check_dummy"}, "heartbeat-period": {"1h"}}
		return v
	}
	for _, c := range []struct {
		typ, input, value, field string
		also                     map[string]string
	}{
		{"http", "name", "", "name", nil},
		{"http", "name", "taken", "name", nil},
		{"http", "name", strings.Repeat("n", 201), "name", nil},
		{"http", "type", "gopher", "type", nil},
		{"http", "tags", "ok, " + strings.Repeat("t", 65), "tags", nil},
		{"http", "description", strings.Repeat("d", 2001), "description", nil},
		{"http", "interval", "soon", "interval", nil},
		{"http", "interval", "48h", "interval", nil},
		{"http", "timeout", "2m", "timeout", map[string]string{"interval": "1m"}},
		{"http", "failure_threshold", "three", "failure_threshold", nil},
		{"http", "failure_threshold", "0", "failure_threshold", nil},
		{"http", "success_threshold", "101", "success_threshold", nil},
		{"http", "http-url", "", "http-url", nil},
		{"http", "http-url", "ftp://example.com/", "http-url", nil},
		{"http", "http-url", "https://user:pw@example.com/", "http-url", nil},
		{"http", "http-method", "BREW", "http-method", nil},
		{"http", "http-expect-status", "abc", "http-expect-status", nil},
		{"http", "http-expect-body_contains", "x", "http-expect-body_contains", map[string]string{"http-method": "HEAD"}},
		{"http", "http-expect-max_latency", "-1s", "http-expect-max_latency", nil},
		{"http", "http-headers", "no colon here", "http-headers", nil},
		{"http", "http-headers", "Bad Name: x", "http-headers", nil},
		{"http", "http-headers", "Content-Length: 5", "http-headers", nil},
		{"http", "http-body", strings.Repeat("b", 65<<10), "http-body", nil},
		{"http", "http-basic_auth-password", "secret", "http-basic_auth-username", nil},
		{"http", "http-basic_auth-username", "a:b", "http-basic_auth-username", nil},
		{"tcp", "tcp-host", "", "tcp-host", nil},
		{"tcp", "tcp-host", "bad host!", "tcp-host", nil},
		{"tcp", "tcp-port", "70000", "tcp-port", nil},
		{"tcp", "tcp-port", "ssh", "tcp-port", nil},
		{"tls", "tls-host", "", "tls-host", nil},
		{"tls", "tls-port", "-1", "tls-port", nil},
		{"tls", "tls-warn_days", "0", "tls-warn_days", nil},
		{"tls", "tls-crit_days", "30", "tls-crit_days", nil},
		{"tls", "tls-starttls", "imap", "tls-starttls", nil},
		{"tls", "tls-server_name", "not a name", "tls-server_name", nil},
		{"tls", "tls-ca_file", "relative.pem", "tls-ca_file", nil},
		{"nagios", "nagios-command", "", "nagios-command", nil},
		{"nagios", "nagios-command", "check_disk", "nagios-command", nil},
		{"nagios", "nagios-env", "NOT A PAIR", "nagios-env", nil},
		{"nagios", "nagios-env", "1BAD=x", "nagios-env", nil},
		{"heartbeat", "heartbeat-grace", "forever", "heartbeat-grace", nil},
	} {
		t.Run(c.input+"="+fmt.Sprintf("%.20q", c.value), func(t *testing.T) {
			form := base(c.typ)
			form.Set(c.input, c.value)
			for k, v := range c.also {
				form.Set(k, v)
			}
			p := b.post("/monitors/new", form)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", p.status)
			}
			msg := p.fieldError(c.field)
			if msg == "" {
				m := regexp.MustCompile(`notice-error" role="alert">([^<]*)<`).FindStringSubmatch(p.body)
				t.Fatalf("no error beside %s (summary: %v)", c.field, m)
			}
			if !strings.Contains(p.body, `aria-describedby="f-`+c.field+`-error`) {
				t.Errorf("the error is not tied to its input")
			}
			checkPage(t, c.input, p)
		})
	}
	if n := countMonitors(t, e); n != 1 {
		t.Fatalf("refused forms saved monitors: %d", n)
	}
	t.Run("several mistakes at once", func(t *testing.T) {
		form := base("http")
		form.Set("interval", "soon")
		form.Set("failure_threshold", "x")
		form.Set("http-url", "ftp://nope")
		p := b.post("/monitors/new", form)
		for _, f := range []string{"interval", "failure_threshold", "http-url"} {
			if p.fieldError(f) == "" {
				t.Errorf("no error beside %s", f)
			}
		}
	})
	t.Run("every section keeps what was typed", func(t *testing.T) {
		form := base("tcp")
		form.Set("tcp-port", "99999")
		form.Set("http-url", "https://typed.example.com/")
		form.Set("nagios-args", "-w\n20%")
		p := b.post("/monitors/new", form)
		if !strings.Contains(p.body, `value="https://typed.example.com/"`) || !strings.Contains(p.body, "-w\n20%</textarea>") {
			t.Error("the other sections lost their input")
		}
		if !strings.Contains(p.body, `name="type" value="tcp" checked`) {
			t.Error("the chosen type is not kept")
		}
	})
}

func TestMonitorFormHostileInput(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleOperator)
	b.get("/monitors/new")
	for name, bad := range hostileValues {
		t.Run(name, func(t *testing.T) {
			for _, input := range []string{"name", "description", "tags", "interval", "http-url", "http-headers", "http-body", "http-expect-status", "http-basic_auth-username", "type"} {
				for _, action := range []string{"save", "test"} {
					form := monitorFormValues("hostile "+name+" "+input+" "+action, "http://127.0.0.1:1/")
					form.Set(input, bad)
					form.Set("action", action)
					form.Set("timeout", "1s")
					p := b.post("/monitors/new", form)
					checkPage(t, input+" "+action, p)
					checkRefused(t, input+" "+action, p, input, "http-basic_auth-username")
				}
			}
		})
	}
	// What was saved shows escaped on every page.
	for _, path := range []string{"/monitors", "/"} {
		checkPage(t, path, b.get(path))
	}
	ms, _, _ := e.mons.List(context.Background(), monitor.ListFilter{Limit: 1000})
	if len(ms) == 0 {
		t.Fatal("no hostile value was accepted anywhere; the test checks nothing")
	}
	for _, m := range ms {
		checkPage(t, m.Name, b.get(monitorURL(m.ID)))
		checkPage(t, m.Name+" edit", b.get(monitorURL(m.ID)+"/edit"))
	}
}

func TestMonitorActionsAndRoles(t *testing.T) {
	e := newTestEnv(t)
	m := addMonitor(t, e, `{"name":"api","type":"tcp","host":"localhost","port":1,"interval":"1h"}`)
	id := fmt.Sprint(m.ID)
	viewer := signedIn(t, e, auth.RoleViewer)
	viewer.get("/monitors")
	for _, path := range []string{"/monitors/new", "/monitors/" + id + "/edit", "/monitors/" + id + "/pause", "/monitors/" + id + "/resume", "/monitors/" + id + "/delete"} {
		if p := viewer.post(path, url.Values{"name": {"x"}, "type": {"tcp"}}); p.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", path, p.status)
		}
	}
	if p := viewer.get("/monitors/new"); p.status != http.StatusForbidden {
		t.Errorf("viewer GET the form: %d", p.status)
	}
	op := signedIn(t, e, auth.RoleOperator)
	op.get(monitorURL(m.ID))
	if p := op.post("/monitors/"+id+"/pause", url.Values{"csrf_token": {"forged"}}); p.status != http.StatusForbidden {
		t.Errorf("forged pause: %d", p.status)
	}
	p := op.post("/monitors/"+id+"/pause", nil)
	if p.status != http.StatusSeeOther || p.location() != monitorURL(m.ID)+"?notice=monitor-paused" {
		t.Fatalf("pause: %d %q", p.status, p.location())
	}
	p = op.get(p.location())
	if !strings.Contains(p.body, "The monitor is paused") || !strings.Contains(p.body, "/resume") {
		t.Error("page after pause")
	}
	if got, _ := e.mons.Get(context.Background(), m.ID); got.Status.State != monitor.StatePaused {
		t.Errorf("state %s after pause", got.Status.State)
	}
	if p := op.post("/monitors/"+id+"/resume", nil); p.status != http.StatusSeeOther {
		t.Fatalf("resume: %d", p.status)
	}
	if got, _ := e.mons.Get(context.Background(), m.ID); got.Paused {
		t.Error("still paused after resume")
	}
	if p := op.post("/monitors/"+id+"/delete", nil); p.status != http.StatusSeeOther || p.location() != "/monitors?notice=monitor-deleted" {
		t.Fatalf("delete: %d %q", p.status, p.location())
	}
	if p := op.get(monitorURL(m.ID)); p.status != http.StatusNotFound {
		t.Errorf("deleted monitor: %d", p.status)
	}
	if p := op.post("/monitors/"+id+"/delete", nil); p.status != http.StatusNotFound {
		t.Errorf("deleting twice: %d", p.status)
	}
}

func TestHomeMonitoringCard(t *testing.T) {
	e := newTestEnv(t)
	admin := signedIn(t, e, auth.RoleAdmin)
	p := admin.get("/")
	first := regexp.MustCompile(`<ol class="steps">\s*<li class="card step">\s*<h3>([^<]*)</h3>`).FindStringSubmatch(p.body)
	if first == nil || first[1] != "Add your first monitor" {
		t.Fatalf("first step: %v", first)
	}
	if p := signedIn(t, e, auth.RoleViewer).get("/"); !strings.Contains(p.body, "Nothing is monitored yet") || strings.Contains(p.body, "Add your first monitor") {
		t.Error("viewer's home with no monitors")
	}
	ids := seedMonitors(t, e.db, "svc", 16, time.Now())
	p = admin.get("/")
	if strings.Contains(p.body, "Add your first monitor") {
		t.Error("still asks for a first monitor")
	}
	for _, want := range []string{`href="/monitors?state=down"><span class="tile-n">2</span>`, `href="/monitors?state=up"><span class="tile-n">12</span>`,
		`href="/monitors?state=degraded"><span class="tile-n">2</span>`, "All 16 monitors", "Down now", fmt.Sprintf(`href="/monitors/%d">svc 00007</a>`, ids[7])} {
		if !strings.Contains(p.body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	if strings.Contains(p.body, "state=paused") {
		t.Error("a zero tile for paused")
	}
}
