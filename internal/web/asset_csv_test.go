package web

import (
	"bytes"
	"encoding/json"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// postCSV sends a text/csv body with a role's token.
func postCSV(t *testing.T, e *testEnv, path string, role auth.Role, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.http.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestAssetCSVAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		file := "tag,model,category\nLAP-1,=cmd|' /C calc'!A0,laptop\nLAP-2,T14,laptop\nPH-1,Pixel,phone\n"
		if st, _ := postCSV(t, e, "/api/v1/assets/import?dry_run=true", auth.RoleViewer, file); st != http.StatusForbidden {
			t.Fatalf("viewer import: %d", st)
		}
		st, rep := postCSV(t, e, "/api/v1/assets/import?dry_run=true", auth.RoleOperator, file)
		if st != 200 || rep["created"] != 3.0 || rep["dry_run"] != true {
			t.Fatalf("dry run: %d %v", st, rep)
		}
		if m := apiJSON(t, e, "GET", "/api/v1/assets", auth.RoleViewer, "", 200); len(m["data"].([]any)) != 0 {
			t.Fatal("the dry run wrote")
		}
		st, rep = postCSV(t, e, "/api/v1/assets/import?dry_run=maybe", auth.RoleOperator, file)
		if st != 422 || errField(rep) != "dry_run" {
			t.Fatalf("bad dry_run: %d %v", st, rep)
		}
		st, rep = postCSV(t, e, "/api/v1/assets/import", auth.RoleOperator, "tag,model\nOK-1,x\n,missing tag\n")
		errs, _ := rep["errors"].([]any)
		if st != 422 || len(errs) != 1 || errs[0].(map[string]any)["row"] != 3.0 || errs[0].(map[string]any)["column"] != "tag" {
			t.Fatalf("refused file: %d %v", st, rep)
		}
		if st, rep = postCSV(t, e, "/api/v1/assets/import", auth.RoleOperator, file); st != 200 || rep["created"] != 3.0 {
			t.Fatalf("import: %d %v", st, rep)
		}
		// Export: the list's filters; formula cells defused.
		resp := e.do("GET", "/api/v1/assets/export?category=laptop&sort=-tag", auth.RoleViewer, "")
		body := readBody(t, resp)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("export: %d %s", resp.StatusCode, resp.Header)
		}
		lines := strings.Split(strings.TrimSpace(body), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "LAP-2,") || !strings.Contains(lines[2], `'=cmd|' /C calc'!A0`) {
			t.Fatalf("export body:\n%s", body)
		}
		if resp := e.do("GET", "/api/v1/assets/export?sort=price", auth.RoleViewer, ""); resp.StatusCode != 422 {
			t.Fatalf("export with a bad sort: %d", resp.StatusCode)
		}
		// Oversize is refused before reading it all.
		big := "tag\n" + strings.Repeat("A-123456789\n", 17<<20/12)
		if st, rep := postCSV(t, e, "/api/v1/assets/import?dry_run=true", auth.RoleOperator, big); st != http.StatusRequestEntityTooLarge && (st != 422 || errField(rep) != "file") {
			t.Fatalf("oversize: %d %v", st, rep)
		}
	})
}

var hiddenCSVRE = regexp.MustCompile(`name="csv" value="([^"]*)"`)

func TestAssetImportPage(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleOperator)
	if p := b.get("/assets/import"); p.status != 200 || !strings.Contains(p.body, `enctype="multipart/form-data"`) {
		t.Fatalf("import page: %d %s", p.status, p.body)
	}
	upload := func(data string) loaded {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("csrf_token", b.csrf)
		fw, _ := mw.CreateFormFile("file", "assets.csv")
		_, _ = fw.Write([]byte(data))
		_ = mw.Close()
		rq, _ := http.NewRequest("POST", e.http.URL+"/assets/import", &buf)
		rq.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(rq)
	}
	p := upload("tag,owner\nLAP-1,nobody\n")
	if p.status != 422 || !strings.Contains(p.body, `id="import-errors"`) || !strings.Contains(p.body, "&#34;nobody&#34; is not a user") {
		t.Fatalf("refused upload: %d %s", p.status, p.body)
	}
	p = upload("tag,model,notes\nLAP-1,X1,\"two\nlines\"\nLAP-2,T14,\n")
	m := hiddenCSVRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil || !strings.Contains(p.body, "<strong>2</strong> assets to add") {
		t.Fatalf("dry run page: %d %s", p.status, p.body)
	}
	if n, _ := e.srv.opts.Assets.Count(t.Context()); n != 0 {
		t.Fatal("the check wrote")
	}
	p = b.post("/assets/import/confirm", url.Values{"csv": {html.UnescapeString(m[1])}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/assets?notice=assets-imported" {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	a, err := e.srv.opts.Assets.GetByTag(t.Context(), "LAP-1")
	if err != nil || a.Notes != "two\nlines" {
		t.Fatalf("imported %+v %v", a, err)
	}
	if p = b.get("/assets?q=lap"); !strings.Contains(p.body, `href="/assets/export?q=lap"`) {
		t.Fatalf("export link keeps the filters: %s", p.body)
	}
	v := signedIn(t, e, auth.RoleViewer)
	if p = v.get("/assets/import"); p.status != http.StatusForbidden {
		t.Fatalf("viewer import page: %d", p.status)
	}
}
