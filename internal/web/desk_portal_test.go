package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

const laptopItemJSON = `{"name":"New laptop","description":"A laptop for work","category":"Hardware","icon":"💻","active":true,
	"ticket_category":"hardware","impact":3,"urgency":2,"fields":[
	{"key":"model","label":"Model","type":"select","required":true,"options":["13 inch","15 inch"]},
	{"key":"count","label":"How many","type":"number","required":true,"min":1,"max":3},
	{"key":"needed_by","label":"Needed by","type":"date"},
	{"key":"extras","label":"Extras","type":"multiselect","options":["dock","mouse"]},
	{"key":"agree","label":"I will return the old one","type":"checkbox","required":true}]}`

type apiCatalogItem struct {
	ID     int64 `json:"id"`
	Fields []struct {
		Key string `json:"key"`
	} `json:"fields"`
}

func TestCatalogAPI(t *testing.T) {
	e := newTestEnv(t)
	item := decodeAs[apiCatalogItem](t, e.do("POST", "/api/v1/catalog", auth.RoleAdmin, laptopItemJSON), http.StatusCreated)
	if len(item.Fields) != 5 {
		t.Fatalf("item %+v", item)
	}
	// Only admins edit the catalog.
	if resp := e.do("POST", "/api/v1/catalog", auth.RoleOperator, laptopItemJSON); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("operator edits the catalog: %d", resp.StatusCode)
	}
	list := decodeAs[page[apiCatalogItem]](t, e.do("GET", "/api/v1/catalog", auth.RoleRequester, ""), http.StatusOK)
	if len(list.Data) != 1 {
		t.Fatalf("requester's catalog %+v", list)
	}
	path := fmt.Sprintf("/api/v1/catalog/%d/requests", item.ID)
	for _, tc := range []struct {
		name, body, field string
		status            int
	}{
		{"missing answer", `{"answers":{"count":2,"agree":true}}`, "answers.model", 422},
		{"number as text", `{"answers":{"model":"13 inch","count":"lots","agree":true}}`, "answers.count", 422},
		{"above max", `{"answers":{"model":"13 inch","count":99,"agree":true}}`, "answers.count", 422},
		{"object answer", `{"answers":{"model":{"$ne":1},"count":2,"agree":true}}`, "answers.model", 422},
		{"unknown field", `{"answers":{"model":"13 inch","count":2,"agree":true,"role":"admin"}}`, "answers", 422},
		{"hostile option", `{"answers":{"model":"<script>alert(1)</script>","count":2,"agree":true}}`, "answers.model", 422},
		{"huge subject", `{"subject":"` + strings.Repeat("x", 300) + `","answers":{"model":"13 inch","count":2,"agree":true}}`, "subject", 422},
		{"unknown top-level", `{"answers":{},"group_id":1}`, "group_id", 400},
		{"not json", `answers=1`, "", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", path, auth.RoleRequester, tc.body)
			body := readBody(t, resp)
			if resp.StatusCode != tc.status || !strings.Contains(body, `"field":"`+tc.field+`"`) && tc.field != "" {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
	if resp := e.do("POST", path, auth.RoleRequester, `{"answers":{"model":"x"},"pad":"`+strings.Repeat("x", 2<<20)+`"}`); resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("oversize body: %d", resp.StatusCode)
	}
	tk := decodeAs[apiTicket](t, e.do("POST", path, auth.RoleRequester,
		`{"description":"mine broke","answers":{"model":"15 inch","count":2,"extras":["mouse","dock"],"needed_by":"2026-12-24","agree":true}}`), http.StatusCreated)
	if tk.Subject != "New laptop" || tk.Priority != 4 {
		t.Fatalf("ticket %+v", tk)
	}
	form := readBody(t, e.do("GET", fmt.Sprintf("/api/v1/tickets/%d/form", tk.ID), auth.RoleRequester, ""))
	for _, want := range []string{`"item_name":"New laptop"`, `"values":["dock","mouse"]`, `"values":["yes"]`} {
		if !strings.Contains(form, want) {
			t.Fatalf("form lacks %s: %s", want, form)
		}
	}
	// Rating: not before resolution, then once.
	rate := fmt.Sprintf("/api/v1/tickets/%d/rating", tk.ID)
	if resp := e.do("POST", rate, auth.RoleRequester, `{"score":5}`); resp.StatusCode != 422 {
		t.Fatalf("rating an open ticket: %d", resp.StatusCode)
	}
	decodeAs[apiTicket](t, e.do("PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), auth.RoleOperator, `{"status":"resolved"}`), http.StatusOK)
	for _, bad := range []string{`{"score":0}`, `{"score":9}`, `{"score":"5"}`, `{"score":3,"comment":"` + strings.Repeat("x", 2001) + `"}`} {
		if resp := e.do("POST", rate, auth.RoleRequester, bad); resp.StatusCode/100 != 4 {
			t.Fatalf("rating %s: %d", bad, resp.StatusCode)
		}
	}
	decodeAs[map[string]any](t, e.do("POST", rate, auth.RoleRequester, `{"score":4,"comment":"<img src=x onerror=alert(1)>"}`), http.StatusCreated)
	if resp := e.do("POST", rate, auth.RoleRequester, `{"score":5}`); resp.StatusCode != 422 {
		t.Fatalf("second rating: %d", resp.StatusCode)
	}
	// The ticket page escapes the hostile comment and shows the answers.
	b := signedIn(t, e, auth.RoleOperator)
	p := b.get(fmt.Sprintf("/tickets/%d", tk.ID))
	if p.status != 200 || strings.Contains(p.body, "<img src=x") || !strings.Contains(p.body, "&lt;img src=x") || !strings.Contains(p.body, "4 / 5") ||
		!strings.Contains(p.body, "Request form: New laptop") || !strings.Contains(p.body, "dock, mouse") {
		t.Fatalf("ticket page: %d", p.status)
	}
	// Metrics see the rating.
	m := readBody(t, e.do("GET", "/api/v1/service-desk/metrics?period=week", auth.RoleViewer, ""))
	if !strings.Contains(m, `"csat_average":4`) || !strings.Contains(m, `"rated":1`) {
		t.Fatalf("metrics: %s", m)
	}
	for _, q := range []string{"period=year", "from=yesterday", "from=2026-01-01&to=2025-01-01", "group=abc", "from=2020-01-01&to=2026-01-01"} {
		if resp := e.do("GET", "/api/v1/service-desk/metrics?"+q, auth.RoleViewer, ""); resp.StatusCode != 422 {
			t.Fatalf("metrics?%s: %d", q, resp.StatusCode)
		}
	}
	if resp := e.do("GET", "/api/v1/service-desk/metrics", auth.RoleRequester, ""); resp.StatusCode != 403 {
		t.Fatalf("requester reads metrics: %d", resp.StatusCode)
	}
	if p := b.get("/service-desk/metrics?period=day"); p.status != 200 || !strings.Contains(p.body, "<svg class=\"chart\"") || !strings.Contains(p.body, "4.00 / 5") {
		t.Fatalf("metrics page: %d", p.status)
	}
	if p := b.get("/service-desk/metrics?period=fortnight"); p.status != 400 {
		t.Fatalf("metrics page with a bad period: %d", p.status)
	}
}

// TestRequesterIsolationEveryRoute guesses another requester's ticket id on
// every route a requester may call with a ticket id, API and UI: each must
// answer 404 and change nothing. With the organisation shared, the same
// reads succeed, so the test can tell.
func TestRequesterIsolationEveryRoute(t *testing.T) {
	e := newTestEnv(t)
	alice := e.users[auth.RoleRequester]
	bobID, bobToken := e.extraUser("bob", auth.RoleRequester)
	tk := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", auth.RoleRequester, `{"subject":"alice-secret-subject"}`), http.StatusCreated)
	e.do("POST", fmt.Sprintf("/api/v1/tickets/%d/comments", tk.ID), auth.RoleRequester, `{"body":"hello"}`)
	at := decodeAs[struct{ ID int64 }](t, e.upload(fmt.Sprintf("/api/v1/tickets/%d/attachments", tk.ID), e.tokens[auth.RoleRequester], "notes.txt", []byte("secret notes")), http.StatusCreated)
	decodeAs[apiTicket](t, e.do("PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), auth.RoleOperator, `{"status":"resolved"}`), http.StatusOK)

	bob := newBrowser(t, e)
	bob.login("bob", testPassword)
	multipartFile := func(csrf string) (string, *bytes.Buffer) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if csrf != "" {
			mw.WriteField("csrf_token", csrf)
		}
		fw, _ := mw.CreateFormFile("file", "x.txt")
		fw.Write([]byte("plain text"))
		mw.Close()
		return mw.FormDataContentType(), &buf
	}
	// What a request that would succeed looks like, per route.
	bodies := map[string]string{
		"POST /api/v1/tickets/{id}/comments": `{"body":"guess"}`,
		"POST /api/v1/tickets/{id}/rating":   `{"score":1}`,
		"POST /tickets/{id}/reply":           "body=guess",
		"POST /tickets/{id}/rate":            "score=1",
	}
	probe := func(t *testing.T, rt Route) (int, string) {
		path := strings.NewReplacer("{id}", fmt.Sprint(tk.ID), "{aid}", fmt.Sprint(at.ID)).Replace(rt.Path)
		name := rt.Method + " " + rt.Path
		multi := strings.HasSuffix(rt.Path, "/attachments") && rt.Method == "POST"
		if _, ok := bodies[name]; !ok && rt.Method != "GET" && !multi {
			t.Fatalf("route %s takes a ticket id from a requester: add a request that would succeed to this test", name)
		}
		if rt.Surface == SurfaceAPI {
			var resp *http.Response
			if multi {
				ct, buf := multipartFile("")
				req, _ := http.NewRequest("POST", e.http.URL+path, buf)
				req.Header.Set("Content-Type", ct)
				req.Header.Set("Authorization", "Bearer "+bobToken)
				var err error
				if resp, err = e.http.Client().Do(req); err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
			} else {
				resp = e.doToken(rt.Method, path, bobToken, bodies[name])
			}
			return resp.StatusCode, readBody(t, resp)
		}
		if rt.Method == "GET" {
			p := bob.get(path)
			return p.status, p.body
		}
		bob.get("/tickets")
		if multi {
			ct, buf := multipartFile(bob.csrf)
			req, _ := http.NewRequest("POST", e.http.URL+path, buf)
			req.Header.Set("Content-Type", ct)
			p := bob.do(req)
			return p.status, p.body
		}
		form, _ := url.ParseQuery(bodies[name])
		p := bob.post(path, form)
		return p.status, p.body
	}
	var probed []Route
	for _, rt := range e.srv.Routes() {
		if rt.Role != auth.RoleRequester || !strings.Contains(rt.Path, "{id}") || !strings.Contains(rt.Path, "tickets/") {
			continue
		}
		probed = append(probed, rt)
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			status, body := probe(t, rt)
			if status != http.StatusNotFound || strings.Contains(body, "alice-secret-subject") || strings.Contains(body, "secret notes") {
				t.Fatalf("bob got %d: %.300s", status, body)
			}
		})
	}
	if len(probed) < 12 {
		t.Fatalf("only %d requester ticket routes probed", len(probed))
	}
	// Lists never show it either.
	if body := readBody(t, e.doToken("GET", "/api/v1/tickets?requester="+fmt.Sprint(alice.ID), bobToken, "")); strings.Contains(body, "alice-secret-subject") {
		t.Fatal("bob's list shows alice's ticket")
	}
	if p := bob.get("/tickets"); strings.Contains(p.body, "alice-secret-subject") {
		t.Fatal("bob's page shows alice's ticket")
	}
	// Nothing changed: one comment, no rating, one file.
	cs := readBody(t, e.do("GET", fmt.Sprintf("/api/v1/tickets/%d/comments", tk.ID), auth.RoleOperator, ""))
	if strings.Contains(cs, "guess") {
		t.Fatal("bob's comment landed")
	}
	if resp := e.do("GET", fmt.Sprintf("/api/v1/tickets/%d/rating", tk.ID), auth.RoleRequester, ""); resp.StatusCode != 404 {
		t.Fatalf("bob's rating landed: %d", resp.StatusCode)
	}
	// A catalog item for another organisation is as absent as a ticket.
	org := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/organizations", auth.RoleAdmin,
		fmt.Sprintf(`{"name":"Acme","share_tickets":true,"member_ids":[%d]}`, alice.ID)), http.StatusCreated)
	item := decodeAs[apiCatalogItem](t, e.do("POST", "/api/v1/catalog", auth.RoleAdmin,
		fmt.Sprintf(`{"name":"Acme badge","active":true,"org_ids":[%d]}`, org.ID)), http.StatusCreated)
	for _, path := range []string{fmt.Sprintf("/api/v1/catalog/%d", item.ID)} {
		if resp := e.doToken("GET", path, bobToken, ""); resp.StatusCode != 404 {
			t.Fatalf("bob reads Acme's item: %d", resp.StatusCode)
		}
	}
	if resp := e.doToken("POST", fmt.Sprintf("/api/v1/catalog/%d/requests", item.ID), bobToken, `{}`); resp.StatusCode != 404 {
		t.Fatalf("bob orders Acme's item: %d", resp.StatusCode)
	}
	if p := bob.get(fmt.Sprintf("/catalog/%d", item.ID)); p.status != 404 {
		t.Fatalf("bob opens Acme's item: %d", p.status)
	}
	// Positive control: bob joins Acme, which shares tickets; now he sees it.
	decodeAs[map[string]any](t, e.do("PUT", fmt.Sprintf("/api/v1/organizations/%d", org.ID), auth.RoleAdmin,
		fmt.Sprintf(`{"name":"Acme","share_tickets":true,"member_ids":[%d,%d]}`, alice.ID, bobID)), http.StatusOK)
	// The ticket was opened before alice joined Acme: it has no organisation
	// yet, so it stays hers alone until an agent sets it.
	if resp := e.doToken("GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), bobToken, ""); resp.StatusCode != 404 {
		t.Fatalf("ticket without organisation shown to a colleague: %d", resp.StatusCode)
	}
	decodeAs[apiTicket](t, e.do("PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), auth.RoleOperator, `{"organization":"Acme"}`), http.StatusOK)
	if p := bob.get(fmt.Sprintf("/tickets/%d", tk.ID)); p.status != 200 || !strings.Contains(p.body, "alice-secret-subject") || strings.Contains(p.body, `action="/tickets/`+fmt.Sprint(tk.ID)+`/rate"`) {
		t.Fatalf("colleague's view: %d", p.status)
	}
}

// TestRatingLink follows a signed link from mail: the page asks, the POST
// rates once; forged links are refused.
func TestRatingLink(t *testing.T) {
	e := newTestEnv(t)
	tk := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", auth.RoleRequester, `{"subject":"printer"}`), http.StatusCreated)
	decodeAs[apiTicket](t, e.do("PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), auth.RoleOperator, `{"status":"resolved"}`), http.StatusOK)
	link, err := e.desk.RatingLink(t.Context(), e.http.URL, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	anon := newBrowser(t, e)
	path := strings.TrimPrefix(link, e.http.URL)
	if p := anon.get(path + "?score=5"); p.status != 200 || !strings.Contains(p.body, "printer") || !strings.Contains(p.body, `value="5" checked`) {
		t.Fatalf("link page: %d", p.status)
	}
	for _, bad := range []string{"/rate/1.2.3", "/rate/" + strings.Repeat("a", 500), "/rate/%3Cscript%3E", path + "x"} {
		if p := anon.get(bad); p.status != 404 || strings.Contains(p.body, "<script>") {
			t.Fatalf("%s: %d", bad, p.status)
		}
		if p := anon.post(bad, url.Values{"score": {"5"}}); p.status != 404 {
			t.Fatalf("POST %s: %d", bad, p.status)
		}
	}
	if p := anon.post(path, url.Values{"score": {"9"}}); p.status != 422 {
		t.Fatalf("score 9: %d", p.status)
	}
	if p := anon.post(path, url.Values{"score": {"2"}, "comment": {"slow"}}); p.status != 200 || !strings.Contains(p.body, "rating was recorded") {
		t.Fatalf("rate: %d %s", p.status, p.body)
	}
	if p := anon.post(path, url.Values{"score": {"5"}}); p.status != 422 {
		t.Fatalf("second rating: %d", p.status)
	}
	r := readBody(t, e.do("GET", fmt.Sprintf("/api/v1/tickets/%d/rating", tk.ID), auth.RoleRequester, ""))
	if !strings.Contains(r, `"score":2`) || !strings.Contains(r, `"via":"link"`) {
		t.Fatalf("rating %s", r)
	}
}

// TestCatalogUI walks the admin editor and the requester's form without a
// browser: errors come back beside their fields.
func TestCatalogUI(t *testing.T) {
	e := newTestEnv(t)
	admin := signedIn(t, e, auth.RoleAdmin)
	admin.get("/service-desk/catalog/new")
	form := url.Values{"name": {"Access request"}, "category": {"Access"}, "active": {"on"}, "ticket_type": {"service_request"},
		"impact": {"2"}, "urgency": {"2"}, "group_id": {"0"},
		"fields.0.key": {"system"}, "fields.0.label": {"System"}, "fields.0.type": {"select"}, "fields.0.options": {"VPN\nCRM"}, "fields.0.required": {"on"},
		"fields.1.key": {"Bad Key"}, "fields.1.label": {"Why"}, "fields.1.type": {"textarea"},
		"fields.2.key": {""}, "fields.2.label": {""}, "fields.2.type": {"text"}}
	if p := admin.post("/service-desk/catalog/new", form); p.status != 422 || !strings.Contains(p.body, "Key must start with a letter") {
		t.Fatalf("bad key: %d", p.status)
	}
	form.Set("fields.1.key", "why")
	p := admin.post("/service-desk/catalog/new", form)
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	req := signedIn(t, e, auth.RoleRequester)
	cat := req.get("/catalog")
	if cat.status != 200 || !strings.Contains(cat.body, "Access request") {
		t.Fatalf("catalog: %d", cat.status)
	}
	items := decodeAs[page[apiCatalogItem]](t, e.do("GET", "/api/v1/catalog", auth.RoleRequester, ""), http.StatusOK)
	path := fmt.Sprintf("/catalog/%d", items.Data[0].ID)
	req.get(path)
	if p := req.post(path, url.Values{"subject": {"Need VPN"}, "a_system": {"FTP"}}); p.status != 422 || p.fieldError("a_system") == "" {
		t.Fatalf("bad choice: %d %q", p.status, p.fieldError("a_system"))
	}
	p = req.post(path, url.Values{"subject": {"Need VPN"}, "a_system": {"VPN"}, "a_why": {"home office"}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "notice=request-sent") {
		t.Fatalf("submit: %d", p.status)
	}
	if tp := req.get(p.location()); !strings.Contains(tp.body, "Request form: Access request") || !strings.Contains(tp.body, "home office") {
		t.Fatal("ticket page lacks the answers")
	}
	// Organisations page and form.
	admin.get("/service-desk/organizations/new")
	if p := admin.post("/service-desk/organizations/new", url.Values{"name": {""}}); p.status != 422 || p.fieldError("name") == "" {
		t.Fatalf("empty org name: %d", p.status)
	}
	if p := admin.post("/service-desk/organizations/new", url.Values{"name": {"Acme"}, "share_tickets": {"on"}, "member": {fmt.Sprint(e.users[auth.RoleRequester].ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("save org: %d", p.status)
	}
	if p := admin.get("/service-desk/organizations"); !strings.Contains(p.body, "shared among members") {
		t.Fatal("organisations page")
	}
}

// FuzzAPIAnswers: any JSON answers object is turned into form values or
// refused naming an answer, never a panic.
func FuzzAPIAnswers(f *testing.F) {
	for _, s := range []string{`{"a":"x"}`, `{"a":1.5e300}`, `{"a":true}`, `{"a":["x","y"]}`, `{"a":{"b":1}}`, `{"a":null}`, `{"a":[1,2]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var raw map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &raw) != nil {
			return
		}
		out, err := apiAnswers(raw)
		if err != nil {
			if ve, ok := valid.As(err); !ok || !strings.HasPrefix(ve.Field, "answers") {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(out) != len(raw) {
			t.Fatalf("%d answers from %d", len(out), len(raw))
		}
	})
}

// TestCatalogHostileText stores markup in every text of a catalog item and
// of the answers; every page shows it as text.
func TestCatalogHostileText(t *testing.T) {
	e := newTestEnv(t)
	const x = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	body, _ := json.Marshal(map[string]any{"name": "n" + x, "description": x, "category": x, "icon": "<b>", "active": true,
		"fields": []map[string]any{{"key": "a", "label": x, "type": "select", "help": x, "options": []string{x, "ok"}},
			{"key": "b", "label": "B", "type": "textarea"}}})
	item := decodeAs[apiCatalogItem](t, e.do("POST", "/api/v1/catalog", auth.RoleAdmin, string(body)), http.StatusCreated)
	tk := decodeAs[apiTicket](t, e.do("POST", fmt.Sprintf("/api/v1/catalog/%d/requests", item.ID), auth.RoleRequester,
		`{"subject":"s","answers":{"a":"<script>alert(1)</script><img src=x onerror=alert(2)>","b":"</textarea><script>alert(3)</script>"}}`), http.StatusCreated)
	req := signedIn(t, e, auth.RoleRequester)
	admin := signedIn(t, e, auth.RoleAdmin)
	for _, p := range []loaded{req.get("/catalog"), req.get(fmt.Sprintf("/catalog/%d", item.ID)), req.get(fmt.Sprintf("/tickets/%d", tk.ID)),
		admin.get("/service-desk/catalog"), admin.get(fmt.Sprintf("/service-desk/catalog/%d", item.ID))} {
		if p.status != 200 || strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img src=x") || strings.Contains(p.body, "<b>") {
			t.Fatalf("page %d shows markup: %.2000s", p.status, p.body)
		}
	}
}
