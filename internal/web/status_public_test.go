package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// createMonitorAPI creates a monitor through the API and returns its id.
func createMonitorAPI(t testing.TB, e *testEnv, body string) int64 {
	t.Helper()
	resp := e.do("POST", "/api/v1/monitors", auth.RoleOperator, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create monitor: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var mv monitorView
	if err := json.NewDecoder(resp.Body).Decode(&mv); err != nil {
		t.Fatal(err)
	}
	return mv.ID
}

// monitorState reads a monitor's state through the API.
func monitorState(e *testEnv, id int64) string {
	var v monitorView
	_ = json.NewDecoder(e.do("GET", "/api/v1/monitors/"+itoa(id), auth.RoleViewer, "").Body).Decode(&v)
	return string(v.Status.State)
}

// createStatusPageAPI creates a status page through the API.
func createStatusPageAPI(t *testing.T, e *testEnv, body string) statusPageView {
	t.Helper()
	resp := e.do("POST", "/api/v1/status-pages", auth.RoleOperator, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create status page: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var v statusPageView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// fetched is a response read whole.
type fetched struct {
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, e *testEnv, path string, role auth.Role) fetched {
	t.Helper()
	resp := e.do("GET", path, role, "")
	return fetched{status: resp.StatusCode, header: resp.Header, body: readBody(t, resp)}
}

// wellFormedXML fails unless body parses as XML to the end.
func wellFormedXML(t *testing.T, what, body string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(body))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v\n%s", what, err, body)
		}
	}
}

// TestStatusPagePublicView runs real monitors (one up behind a URL with
// secrets in it, one down on an internal host name, one heartbeat never
// pinged) on a public page, and checks what anonymous visitors get: the
// page, its JSON and its badges, and none of the internals.
func TestStatusPagePublicView(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
		defer target.Close()
		api := createMonitorAPI(t, e, fmt.Sprintf(`{"name":"api-internal-7","type":"http","url":%q,"interval":"1s","timeout":"900ms","description":"runs on db-prod-7.corp.internal"}`,
			target.URL+"/s3cr3t-path?token=hunter2"))
		dbm := createMonitorAPI(t, e, `{"name":"db-prod-7.corp.internal","type":"http","url":"http://db-prod-7.corp.internal.invalid:5432/","interval":"1s","timeout":"500ms","failure_threshold":1}`)
		beat := createMonitorAPI(t, e, `{"name":"nightly-backup","type":"heartbeat","period":"1h","interval":"24h"}`)
		waitUntil(t, "api up", func() bool { return monitorState(e, api) == "up" })
		waitUntil(t, "database down", func() bool { return monitorState(e, dbm) == "down" })

		p := createStatusPageAPI(t, e, fmt.Sprintf(`{"slug":"acme","title":"Acme services","description":"Questions? Call the desk.","public":true,
			"monitors":[{"monitor_id":%d,"display_name":"API"},{"monitor_id":%d,"display_name":"Database","section":"Data"},{"monitor_id":%d}]}`, api, dbm, beat))
		if p.URL != e.http.URL+"/status/acme" || len(p.Monitors) != 3 {
			t.Fatalf("created %+v", p)
		}

		secrets := []string{"s3cr3t", "hunter2", "corp.internal", "api-internal-7", "127.0.0.1", strings.TrimPrefix(target.URL, "http://"),
			"no such host", "lookup", "dial", "monitor_id", "/monitors/"}
		noLeak := func(what, body string) {
			t.Helper()
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("%s shows %q", what, s)
				}
			}
		}

		page := fetch(t, e, "/status/acme", auth.RoleNone)
		if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
			t.Fatalf("public page: %d %s", page.status, page.header.Get("Content-Type"))
		}
		for _, want := range []string{"<h1>Acme services</h1>", "Questions? Call the desk.", "Partial outage", ">API<", ">Database<", ">nightly-backup<",
			">Data</h2>", "Operational", "Outage", "No data yet", `<meta http-equiv="refresh" content="60">`, "<title>", "90 days ago", "/status/acme.json"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("public page lacks %q", want)
			}
		}
		if n := strings.Count(page.body, "<rect "); n != 3*90 {
			t.Errorf("%d day bars, want 270", n)
		}
		for _, banned := range []string{"<script", "style=", "http://", "https://", "csrf_token"} {
			if strings.Contains(page.body, banned) {
				t.Errorf("public page contains %q (no scripts, inline styles, external requests or forms)", banned)
			}
		}
		if cc := page.header.Get("Cache-Control"); cc != "public, max-age=30" {
			t.Errorf("Cache-Control %q", cc)
		}
		noLeak("page", page.body)

		js := fetch(t, e, "/status/acme.json", auth.RoleNone)
		if js.status != http.StatusOK || !strings.HasPrefix(js.header.Get("Content-Type"), "application/json") || js.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("json: %d %v", js.status, js.header)
		}
		noLeak("json", js.body)
		var sum struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Overall     struct {
				Status string `json:"status"`
				Text   string `json:"text"`
			} `json:"overall"`
			UpdatedAt string `json:"updated_at"`
			Monitors  []struct {
				Name    string              `json:"name"`
				Section string              `json:"section"`
				State   string              `json:"state"`
				Text    string              `json:"state_text"`
				Uptime  map[string]*float64 `json:"uptime"`
			} `json:"monitors"`
		}
		dec := json.NewDecoder(strings.NewReader(js.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sum); err != nil {
			t.Fatalf("json shape: %v\n%s", err, js.body)
		}
		if sum.Title != "Acme services" || sum.Description != "Questions? Call the desk." || sum.Overall.Status != "partial_outage" || sum.Overall.Text != "Partial outage" || sum.UpdatedAt == "" || len(sum.Monitors) != 3 {
			t.Fatalf("summary %+v", sum)
		}
		m0, m1, m2 := sum.Monitors[0], sum.Monitors[1], sum.Monitors[2]
		if m0.Name != "API" || m0.State != "up" || m1.Name != "Database" || m1.Section != "Data" || m1.State != "down" || m2.Name != "nightly-backup" || m2.State != "unknown" {
			t.Fatalf("monitors %+v", sum.Monitors)
		}
		for _, w := range []string{"24h", "7d", "30d", "90d"} {
			if p, ok := m0.Uptime[w]; !ok || p == nil || *p <= 0 || *p > 100 {
				t.Errorf("API uptime %s = %v", w, p)
			}
			if p, ok := m2.Uptime[w]; !ok || p != nil {
				t.Errorf("heartbeat uptime %s = %v, want null", w, p)
			}
		}

		for _, tc := range []struct {
			query, want string
		}{
			{"", "partial outage"},
			{"?monitor=API", ">up<"},
			{"?monitor=Database", ">down<"},
			{"?monitor=API&kind=uptime", "%<"},
			{"?monitor=API&kind=uptime&window=24h", ">uptime<"},
			{"?kind=uptime&window=90d", ">uptime<"},
			{"?monitor=nightly-backup&kind=uptime", ">no data<"},
		} {
			b := fetch(t, e, "/status/acme/badge.svg"+tc.query, auth.RoleNone)
			if b.status != http.StatusOK || b.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(b.header.Get("Cache-Control"), "max-age=60") {
				t.Fatalf("badge %s: %d %v", tc.query, b.status, b.header)
			}
			wellFormedXML(t, "badge "+tc.query, b.body)
			if !strings.Contains(b.body, tc.want) {
				t.Errorf("badge %s lacks %q: %s", tc.query, tc.want, b.body)
			}
			noLeak("badge "+tc.query, b.body)
		}
		for _, q := range []string{"?monitor=api-internal-7", "?monitor=nope", "?monitor=" + itoa(api)} {
			if b := fetch(t, e, "/status/acme/badge.svg"+q, auth.RoleNone); b.status != http.StatusNotFound {
				t.Errorf("badge %s: %d, want 404", q, b.status)
			}
		}
		if b := fetch(t, e, "/status/acme/badge.svg?kind=bogus", auth.RoleNone); b.status != http.StatusBadRequest {
			t.Errorf("badge with a bad kind: %d", b.status)
		}

		// Made private, the page is gone for anonymous callers at once,
		// exactly as an unknown one, and still there for viewers.
		resp := e.do("PUT", "/api/v1/status-pages/"+itoa(p.ID), auth.RoleOperator, fmt.Sprintf(`{"slug":"acme","title":"Acme services","public":false,"monitors":[{"monitor_id":%d}]}`, api))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("make private: %d %s", resp.StatusCode, readBody(t, resp))
		}
		unknown := fetch(t, e, "/status/nosuchpage", auth.RoleNone)
		for _, path := range []string{"/status/acme", "/status/acme.json", "/status/acme/badge.svg", "/status/acme/badge.svg?monitor=api-internal-7"} {
			got := fetch(t, e, path, auth.RoleNone)
			if got.status != http.StatusNotFound {
				t.Errorf("anonymous %s on a private page: %d, want 404", path, got.status)
			}
			if strings.Contains(got.body, "Acme") {
				t.Errorf("anonymous %s: the 404 names the page", path)
			}
			if path == "/status/acme" && got.body != unknown.body {
				t.Errorf("a private page's 404 differs from an unknown page's")
			}
			if got := fetch(t, e, path, auth.RoleRequester); got.status != http.StatusNotFound {
				t.Errorf("requester %s on a private page: %d, want 404", path, got.status)
			}
		}
		if got := fetch(t, e, "/status/acme.json", auth.RoleNone); !strings.Contains(got.body, `"not_found"`) {
			t.Errorf("the JSON 404 is not the API's error shape: %s", got.body)
		}
		priv := fetch(t, e, "/status/acme", auth.RoleViewer)
		if priv.status != http.StatusOK || !strings.Contains(priv.body, "Private page") || !strings.Contains(priv.body, `<meta name="robots" content="noindex">`) {
			t.Fatalf("viewer on a private page: %d", priv.status)
		}
		if cc := priv.header.Get("Cache-Control"); cc != "private, no-store" {
			t.Errorf("private page Cache-Control %q", cc)
		}
		if got := fetch(t, e, "/status/acme.json", auth.RoleViewer); got.status != http.StatusOK || got.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("viewer on a private page's JSON: %d, CORS %q", got.status, got.header.Get("Access-Control-Allow-Origin"))
		}
		for _, path := range []string{"/status/ACME", "/status/a.b", "/status/" + url.PathEscape("<x>"), "/status/" + strings.Repeat("a", 65)} {
			if got := fetch(t, e, path, auth.RoleNone); got.status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, got.status)
			}
		}
	})
}

// TestStatusPageHostileText puts markup and quotes in every text a page
// shows; none of it may reach the HTML, JSON or badge unescaped.
func TestStatusPageHostileText(t *testing.T) {
	e := newTestEnv(t)
	id := createMonitorAPI(t, e, `{"name":"m1","type":"heartbeat","period":"1h"}`)
	const script = `<script>alert(1)</script>`
	const attr = `"><img src=x onerror=alert(1)>`
	const svgBreak = `</text></svg><svg onload=alert(1)>&amp;'`
	body, _ := json.Marshal(map[string]any{
		"slug": "hostile", "title": script + attr, "description": attr + "\n" + script, "public": true,
		"monitors": []map[string]any{{"monitor_id": id, "display_name": svgBreak + script, "section": attr}},
	})
	createStatusPageAPI(t, e, string(body))
	raw := []string{script, "<img src=x", "<svg onload", "</text></svg>"}
	for _, path := range []string{"/status/hostile", "/status/hostile.json", "/status/hostile/badge.svg", "/status/hostile/badge.svg?monitor=" + url.QueryEscape(svgBreak+script), "/status-pages"} {
		role := auth.RoleNone
		if path == "/status-pages" {
			role = auth.RoleViewer
		}
		got := fetch(t, e, path, role)
		if got.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, got.status, got.body)
		}
		for _, r := range raw {
			if strings.Contains(got.body, r) {
				t.Errorf("%s carries %q unescaped", path, r)
			}
		}
		if strings.HasSuffix(strings.Split(path, "?")[0], ".svg") {
			wellFormedXML(t, path, got.body)
		}
	}
	// The page itself still says what was typed, escaped.
	if got := fetch(t, e, "/status/hostile", auth.RoleNone); !strings.Contains(got.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the title is not shown escaped")
	}
}

// TestBadgeSVG checks the badge drawing on its own: escaped, well formed,
// wide enough for its text.
func TestBadgeSVG(t *testing.T) {
	for _, tc := range [][2]string{{"status", "up"}, {"uptime", "99.98%"}, {"<&>", `"'`}, {"status", "major outage"}, {"x", "\x00\xff"}} {
		svg := string(badgeSVG(tc[0], tc[1], colorGreen, tc[0]+tc[1]))
		wellFormedXML(t, fmt.Sprintf("badge %q", tc), svg)
		if strings.Contains(svg, "<&>") {
			t.Errorf("badge %q: text not escaped", tc)
		}
	}
	if textWidth("uptime") >= textWidth("99.98% uptime") || textWidth("") != 0 {
		t.Error("text widths do not grow with the text")
	}
	// One that readers of shields badges would recognise.
	svg := badgeSVG("uptime", "99.98%", colorGreen, "t")
	if !bytes.HasPrefix(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg"`)) || !bytes.Contains(svg, []byte(">99.98%</text>")) {
		t.Errorf("badge %s", svg)
	}
}

// TestStatusPageGzip serves the page compressed to clients that accept it,
// and the same bytes once decompressed.
func TestStatusPageGzip(t *testing.T) {
	e := newTestEnv(t)
	id := createMonitorAPI(t, e, `{"name":"m1","type":"heartbeat","period":"1h"}`)
	createStatusPageAPI(t, e, fmt.Sprintf(`{"slug":"z","title":"Z","public":true,"monitors":[{"monitor_id":%d}]}`, id))
	plain := fetch(t, e, "/status/z", auth.RoleNone)
	req, _ := http.NewRequest("GET", e.http.URL+"/status/z", nil)
	req.Header.Set("Accept-Encoding", "br, gzip;q=0.8")
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || string(got) != plain.body {
		t.Fatalf("decompressed page differs: %v", err)
	}
	for _, ae := range []string{"", "identity", "gzip;q=0", "br"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", ae)
		if acceptsGzip(r) {
			t.Errorf("Accept-Encoding %q taken as gzip", ae)
		}
	}
}
