package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

var assetLocRE = regexp.MustCompile(`^/assets/(\d+)\?notice=asset-created$`)

func TestAssetPagesFlow(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleOperator)
	if p := b.get("/assets"); p.status != 200 || !strings.Contains(p.body, "No assets yet") || !strings.Contains(p.body, `href="/assets/new"`) {
		t.Fatalf("empty list: %d %s", p.status, p.body)
	}
	// Errors beside their field, values kept and escaped.
	p := b.post("/assets/new", url.Values{"tag": {"<b>LAP</b>"}, "kind": {"hardware"}, "status": {"in_stock"}, "cost": {"12,34.567"}, "currency": {"EUR"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="f-cost-error"`) || !strings.Contains(p.body, "&lt;b&gt;LAP&lt;/b&gt;") {
		t.Fatalf("bad cost: %d %s", p.status, p.body)
	}
	p = b.post("/assets/new", url.Values{"tag": {"LAP-1"}, "kind": {"hardware"}, "status": {"in_stock"}, "ci": {"no-such-ci"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="f-ci-error"`) {
		t.Fatalf("bad CI: %d %s", p.status, p.body)
	}
	p = b.post("/assets/new", url.Values{"tag": {"LAP-1"}, "kind": {"hardware"}, "status": {"in_stock"}, "model": {"X1"}, "category": {"laptop"},
		"cost": {"1299.00"}, "currency": {"eur"}, "warranty_end": {"2000-01-01"}, "purchase_date": {"1999-01-01"}})
	m := assetLocRE.FindStringSubmatch(p.location())
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %s %s", p.status, p.location(), p.body)
	}
	page := "/assets/" + m[1]
	p = b.get(page + "?notice=asset-created")
	if !strings.Contains(p.body, "1299.00 EUR") || !strings.Contains(p.body, `action="`+page+`/checkout"`) {
		t.Fatalf("detail: %s", p.body)
	}
	// Check out to nobody: the error names the user field.
	if p = b.post(page+"/checkout", url.Values{}); p.status != 422 || !strings.Contains(p.body, `id="f-user_id-error"`) {
		t.Fatalf("empty checkout: %d %s", p.status, p.body)
	}
	viewer := e.users[auth.RoleViewer]
	if p = b.post(page+"/checkout", url.Values{"user_id": {fmt.Sprint(viewer.ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("checkout: %d %s", p.status, p.body)
	}
	p = b.get(page)
	if !strings.Contains(p.body, `id="asset-holder">`+viewer.Username) || !strings.Contains(p.body, `action="`+page+`/checkin"`) || !strings.Contains(p.body, "to user "+viewer.Username) {
		t.Fatalf("after checkout: %s", p.body)
	}
	// A move the lifecycle refuses says which are allowed.
	if p = b.post(page+"/transition", url.Values{"status": {"disposed"}}); p.status != 422 || !strings.Contains(p.body, "allowed") {
		t.Fatalf("refused move: %d %s", p.status, p.body)
	}
	// List: filters in the URL; the status filter finds it.
	if p = b.get("/assets?status=deployed&sort=-tag"); !strings.Contains(p.body, "LAP-1") || !strings.Contains(p.body, `<option value="-tag" selected>`) {
		t.Fatalf("filtered list: %s", p.body)
	}
	if p = b.get("/assets?status=retired"); !strings.Contains(p.body, "No asset matches these filters") {
		t.Fatalf("no match: %s", p.body)
	}
	if p = b.get("/assets?sort=price"); p.status != 422 || !strings.Contains(p.body, `id="f-sort-error"`) {
		t.Fatalf("bad sort: %d %s", p.status, p.body)
	}
	// Edit keeps the status out of the form.
	if p = b.get(page + "/edit"); strings.Contains(p.body, `name="status"`) || !strings.Contains(p.body, `value="1299.00"`) {
		t.Fatalf("edit form: %s", p.body)
	}
	if p = b.post(page+"/edit", url.Values{"tag": {"LAP-1"}, "kind": {"hardware"}, "model": {"X1 Carbon"}}); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	// Viewers read without the actions.
	v := signedIn(t, e, auth.RoleViewer)
	if p = v.get(page); p.status != 200 || strings.Contains(p.body, "/checkin") || strings.Contains(p.body, "/edit") || !strings.Contains(p.body, "X1 Carbon") {
		t.Fatalf("viewer page: %d %s", p.status, p.body)
	}
	if p = v.post(page+"/checkin", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("viewer checkin: %d", p.status)
	}
	// Linked to a CI, the asset shows on the CI's page.
	ci := apiJSON(t, e, "POST", "/api/v1/cis", auth.RoleOperator, `{"type":"host","name":"web-01"}`, http.StatusCreated)
	if p = b.post(page+"/edit", url.Values{"tag": {"LAP-1"}, "kind": {"hardware"}, "model": {"X1 Carbon"}, "ci": {"web-01"}}); p.status != http.StatusSeeOther {
		t.Fatalf("link CI: %d %s", p.status, p.body)
	}
	if p = v.get(fmt.Sprintf("/cis/%d", idOf(ci))); !strings.Contains(p.body, `href="`+page+`"`) || !strings.Contains(p.body, "LAP-1") {
		t.Fatalf("CI page lacks the asset: %s", p.body)
	}
	if p = b.get("/"); strings.Contains(p.body, `id="assets-expiring"`) {
		t.Fatal("home warns about a warranty that ended years ago")
	}
	if p = b.get("/assets/999999"); p.status != 404 {
		t.Fatalf("missing asset: %d", p.status)
	}
}

func TestAssetListExpiryBadgeAndPages(t *testing.T) {
	e := newTestEnv(t)
	for i := range 55 {
		apiJSON(t, e, "POST", "/api/v1/assets", auth.RoleOperator, fmt.Sprintf(`{"tag":"A-%03d"}`, i), http.StatusCreated)
	}
	apiJSON(t, e, "POST", "/api/v1/assets", auth.RoleOperator, `{"tag":"Z-SOON","lease_end":"`+todayPlus(5)+`"}`, http.StatusCreated)
	b := signedIn(t, e, auth.RoleViewer)
	p := b.get("/assets")
	if !strings.Contains(p.body, `rel="next"`) || strings.Contains(p.body, "Z-SOON") {
		t.Fatalf("first page: %s", p.body)
	}
	if p = b.get("/"); !strings.Contains(p.body, `id="assets-expiring"`) || !strings.Contains(p.body, `href="/assets?expiring_within=30&amp;sort=warranty"`) {
		t.Fatalf("home lacks the expiry warning: %s", p.body)
	}
	p = b.get("/assets?expiring_within=30")
	if !strings.Contains(p.body, "Z-SOON") || !strings.Contains(p.body, "Expires soon") || strings.Contains(p.body, "A-001") {
		t.Fatalf("expiring filter: %s", p.body)
	}
}

// todayPlus is the date days from now, as asset dates are written.
func todayPlus(days int) string { return time.Now().UTC().AddDate(0, 0, days).Format("2006-01-02") }
