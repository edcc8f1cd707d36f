package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/deskmail"
)

func TestDeskMailPageAndAPI(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for _, raw := range []string{
		"From: Eve <eve@outside.example>\r\nSubject: <script>alert(1)</script>\r\nMessage-ID: <w1@x>\r\n\r\nhello",
		"From: eve@outside.example\r\nSubject: Away\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <w2@x>\r\n\r\nI am away",
	} {
		if _, err := e.mail.Ingest(ctx, []byte(raw), deskmail.Envelope{Via: "smtp"}); err != nil {
			t.Fatal(err)
		}
	}
	admin := signedIn(t, e, auth.RoleAdmin)
	p := admin.get("/service-desk/email")
	if p.status != http.StatusOK {
		t.Fatalf("page: %d", p.status)
	}
	for _, want := range []string{"eve@outside.example", "&lt;script&gt;", "Auto-Submitted: auto-replied", "desk@mail.desk.example:993/INBOX", `href="/service-desk/email"`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "imap-s3cret") {
		t.Fatal("hostile subject raw or IMAP password shown")
	}
	if p := admin.get("/service-desk/email?outcome=loop"); p.status != http.StatusOK || strings.Contains(p.body, "&lt;script&gt;") {
		t.Fatalf("filtered page: %d", p.status)
	}
	if p := admin.get("/service-desk/email?outcome=nonsense"); p.status != http.StatusBadRequest {
		t.Fatalf("bad filter: %d", p.status)
	}
	for _, role := range []auth.Role{auth.RoleOperator, auth.RoleRequester} {
		if p := signedIn(t, e, role).get("/service-desk/email"); p.status != http.StatusForbidden {
			t.Fatalf("%s: %d", role, p.status)
		}
	}
	st := decodeAs[deskmail.Status](t, e.do("GET", "/api/v1/service-desk/email", auth.RoleAdmin, ""), http.StatusOK)
	if st.Counters["ticket"] != 1 || st.Counters["loop"] != 1 || st.IMAP == nil || st.Address != "support@desk.example" {
		t.Fatalf("%+v", st)
	}
	body := readBody(t, e.do("GET", "/api/v1/service-desk/email", auth.RoleAdmin, ""))
	if strings.Contains(body, "imap-s3cret") {
		t.Fatal("API shows the IMAP password")
	}
	list := decodeAs[page[deskmail.Record]](t, e.do("GET", "/api/v1/service-desk/email/messages?outcome=ticket", auth.RoleAdmin, ""), http.StatusOK)
	if len(list.Data) != 1 || list.Data[0].TicketID == 0 {
		t.Fatalf("%+v", list)
	}
	resp := e.do("GET", "/api/v1/service-desk/email/messages?limit=9999", auth.RoleAdmin, "")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(readBody(t, resp), `"field":"limit"`) {
		t.Fatal("a bad limit was not refused naming the field")
	}
	if resp := e.do("GET", "/api/v1/service-desk/email", auth.RoleOperator, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("operator: %d", resp.StatusCode)
	}
}
