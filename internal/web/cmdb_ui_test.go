package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

var ciLocRE = regexp.MustCompile(`^/cis/(\d+)\?notice=ci-created$`)

// createCIForm submits the new-CI form and returns the new CI's page path.
func createCIForm(t *testing.T, b *browser, typ string, form url.Values) string {
	t.Helper()
	if p := b.get("/cis/new?type=" + typ); p.status != http.StatusOK {
		t.Fatalf("new form: %d %s", p.status, p.body)
	}
	p := b.post("/cis/new?type="+typ, form)
	m := ciLocRE.FindStringSubmatch(p.location())
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create %s: %d %s %s", typ, p.status, p.location(), p.body)
	}
	return "/cis/" + m[1]
}

func TestCMDBPagesFlow(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleOperator)

	// Empty state says what to do next.
	if p := b.get("/cis"); p.status != 200 || !strings.Contains(p.body, "The CMDB is empty") || !strings.Contains(p.body, `href="/cis/new?type=business_service"`) {
		t.Fatalf("empty list: %d %s", p.status, p.body)
	}
	if p := b.get("/cis/new"); !strings.Contains(p.body, `href="/cis/new?type=database"`) {
		t.Fatal("type chooser lacks the database type")
	}
	// The form is drawn from the type's schema.
	p := b.get("/cis/new?type=host")
	for _, want := range []string{`name="attr_cpu_cores" type="number" value="" step="1"`, `name="attr_memory_gb" type="number" value="" step="any"`, `name="attr_ip" type="text"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("host form lacks %s", want)
		}
	}
	// Errors show beside their field, values are kept.
	p = b.post("/cis/new?type=host", url.Values{"name": {"<b>web1</b>"}, "attr_cpu_cores": {"many"}, "environment": {"prod"}, "status": {"active"}, "criticality": {"high"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("attr_cpu_cores") != "CPU cores must be a whole number." || !strings.Contains(p.body, "&lt;b&gt;web1&lt;/b&gt;") {
		t.Fatalf("form errors: %d %q\n%s", p.status, p.fieldError("attr_cpu_cores"), p.body)
	}
	p = b.post("/cis/new?type=host", url.Values{"name": {""}, "environment": {"moon"}})
	if p.fieldError("name") == "" {
		t.Fatalf("name error missing: %s", p.body)
	}
	shop := createCIForm(t, b, "business_service", url.Values{"name": {"Shop"}, "environment": {"prod"}, "status": {"active"}, "criticality": {"critical"}, "attr_url": {"https://shop.example"}})
	db := createCIForm(t, b, "database", url.Values{"name": {"orders-db"}, "environment": {"prod"}, "status": {"active"}, "criticality": {"high"}, "attr_engine": {"postgresql"}, "attr_port": {"5432"}, "tags": {"pci, Orders"}})
	if p := b.post("/cis/new?type=database", url.Values{"name": {"orders-db"}, "environment": {"prod"}}); p.fieldError("name") == "" {
		t.Fatalf("duplicate name: %d %s", p.status, p.body)
	}

	// Relate from the shop's page, by name; refusals show beside the field.
	if p := b.post(shop+"/relationships", url.Values{"type": {"depends_on"}, "direction": {"out"}, "peer": {"no-such-ci"}}); p.status != 422 || !strings.Contains(p.fieldError("peer"), "matches no CI") {
		t.Fatalf("unknown peer: %d %q", p.status, p.fieldError("peer"))
	}
	if p := b.post(shop+"/relationships", url.Values{"type": {"depends_on"}, "direction": {"out"}, "peer": {"orders-db"}}); p.status != http.StatusSeeOther {
		t.Fatalf("relate: %d %s", p.status, p.body)
	}
	if p := b.post(shop+"/relationships", url.Values{"type": {"depends_on"}, "direction": {"out"}, "peer": {"orders-db"}}); p.status != 422 || !strings.Contains(p.fieldError("peer"), "already related") {
		t.Fatalf("duplicate relationship: %d %q", p.status, p.fieldError("peer"))
	}
	if p := b.post(shop+"/relationships", url.Values{"type": {"depends_on"}, "direction": {"out"}, "peer": {strings.TrimPrefix(shop, "/cis/")}}); p.status != 422 || !strings.Contains(p.fieldError("peer"), "cannot relate to itself") {
		t.Fatalf("self-link: %d %q", p.status, p.fieldError("peer"))
	}
	// The database's page: graph with the shop above it, impact, history.
	p = b.get(db)
	for _, want := range []string{`<svg class="ci-graph"`, `<a href="` + shop + `"><g class="ci-node ci-node-service">`, "Business services hurt if this fails", `via orders-db → Shop`, "is needed by", "relationship_added"[:0] + "added orders-db depends on"[:0] + "Shop depends on orders-db"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("database page lacks %q", want)
		}
	}
	// Link a monitor; the monitor's page names the CI and the service.
	m, err := e.mons.Create(t.Context(), map[string]json.RawMessage{"name": json.RawMessage(`"db ping"`), "type": json.RawMessage(`"heartbeat"`), "period": json.RawMessage(`"1h"`)})
	if err != nil {
		t.Fatal(err)
	}
	b.get(db)
	if p := b.post(db+"/links", url.Values{"monitor_id": {fmt.Sprint(m.ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("link: %d %s", p.status, p.body)
	}
	if p := b.get(db); !strings.Contains(p.body, `<a href="/monitors/`+fmt.Sprint(m.ID)+`">db ping</a>`) || !strings.Contains(p.body, "Unknown") {
		t.Fatalf("CI page lacks the monitor with its state")
	}
	if p := b.get(fmt.Sprintf("/monitors/%d", m.ID)); !strings.Contains(p.body, "Business services hurt when it fails:</strong> <a href=\""+shop+"\">Shop</a>") {
		t.Fatalf("monitor page lacks the services: %s", p.body)
	}
	// Edit: the form shows stored values; the history shows the change.
	if p := b.get(db + "/edit"); !strings.Contains(p.body, `value="5432"`) || !strings.Contains(p.body, `<option value="postgresql" selected>`) {
		t.Fatal("edit form lacks stored attribute values")
	}
	if p := b.post(db+"/edit", url.Values{"name": {"orders-db"}, "environment": {"prod"}, "status": {"maintenance"}, "criticality": {"high"}, "attr_engine": {"postgresql"}, "attr_port": {"5433"}, "tags": {"orders, pci"}}); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	if p := b.get(db); !strings.Contains(p.body, `<span class="mono">attributes.port</span>: 5432 → 5433`) || !strings.Contains(p.body, `operator1 <span class="badge">ui</span>`) {
		t.Fatalf("history on the page: %s", p.body)
	}
	// List filters in the URL, kept in the form.
	p = b.get("/cis?type=database&tag=pci&sort=-name")
	if !strings.Contains(p.body, ">orders-db</a>") || strings.Contains(p.body, ">Shop</a>") || !strings.Contains(p.body, `<option value="-name" selected>`) {
		t.Fatalf("filtered list: %s", p.body)
	}
	if p := b.get("/cis?sort=colour"); p.status != 422 || p.fieldError("sort") == "" {
		t.Fatalf("bad sort: %d", p.status)
	}
	// Viewers read but see no editing controls; they cannot post.
	v := signedIn(t, e, auth.RoleViewer)
	if p := v.get(db); p.status != 200 || strings.Contains(p.body, "Add relationship") {
		t.Fatal("viewer sees editing controls")
	}
	if p := v.post(db+"/delete", nil); p.status != http.StatusForbidden {
		t.Fatalf("viewer delete: %d", p.status)
	}
	// Remove the link and the relationship from the database's page.
	dbID := strings.TrimPrefix(db, "/cis/")
	var ciID int64
	fmt.Sscan(dbID, &ciID)
	links, _ := e.cmdb.Links(t.Context(), ciID)
	rels, _ := e.cmdb.Relationships(t.Context(), ciID)
	b.get(db)
	if p := b.post(db+"/links/remove", url.Values{"link_id": {fmt.Sprint(links[0].ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("unlink: %d", p.status)
	}
	if p := b.post(db+"/relationships/remove", url.Values{"relationship_id": {fmt.Sprint(rels[0].ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("unrelate: %d", p.status)
	}
	if p := b.get(db); !strings.Contains(p.body, "No relationships yet") || !strings.Contains(p.body, "No monitor watches this item") {
		t.Fatal("link or relationship still shown after removal")
	}
	// Delete.
	b.get(shop)
	if p := b.post(shop+"/delete", nil); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if p := b.get(shop); p.status != http.StatusNotFound {
		t.Fatalf("deleted CI page: %d", p.status)
	}
}

func TestCMDBTypeEditor(t *testing.T) {
	e := newTestEnv(t)
	a := signedIn(t, e, auth.RoleAdmin)
	a.get("/ci-types/new")
	form := url.Values{"key": {"printer"}, "name": {"Printer"}, "a0_key": {"ip"}, "a0_label": {"IP"}, "a0_type": {"ip"}, "a0_required": {"1"},
		"a1_key": {"tray"}, "a1_label": {"Tray"}, "a1_type": {"enum"}, "a1_values": {""}}
	p := a.post("/ci-types/new", form)
	if p.status != 422 || !strings.Contains(p.body, `id="a1-error"`) || !strings.Contains(p.body, "Values an enum needs at least one value.") {
		t.Fatalf("enum without values: %d %s", p.status, p.body)
	}
	form.Set("a1_values", "A4, Letter")
	if p := a.post("/ci-types/new", form); p.status != http.StatusSeeOther {
		t.Fatalf("create type: %d %s", p.status, p.body)
	}
	o := signedIn(t, e, auth.RoleOperator)
	if p := o.get("/cis/new?type=printer"); !strings.Contains(p.body, `<option value="Letter">`) || !strings.Contains(p.body, `name="attr_ip" type="text" value="" required`) {
		t.Fatalf("printer form: %s", p.body)
	}
	if p := o.get("/ci-types/new"); p.status != http.StatusForbidden {
		t.Fatalf("operator opens the type editor: %d", p.status)
	}
	if p := o.get("/ci-types"); p.status != 200 || !strings.Contains(p.body, "Printer") || strings.Contains(p.body, "Add a relationship type") {
		t.Fatalf("types page for operators: %d", p.status)
	}
	a.get("/ci-types")
	if p := a.post("/relationship-types/new", url.Values{"key": {"Bad Key"}, "name": {"x"}, "reverse_name": {"y"}, "impact": {"both"}}); p.status != 422 || p.fieldError("key") == "" {
		t.Fatalf("bad relationship type: %d", p.status)
	}
	if p := a.post("/relationship-types/new", url.Values{"key": {"replicates_to"}, "name": {"replicates to"}, "reverse_name": {"is replicated from"}, "impact": {"both"}}); p.status != http.StatusSeeOther {
		t.Fatalf("relationship type: %d %s", p.status, p.body)
	}
}
