package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestTicketSearchAPI: q= searches subject and description, hostile input
// is a 200, and a requester finds only their own tickets.
func TestTicketSearchAPI(t *testing.T) {
	e := newTestEnv(t)
	op, req := auth.RoleOperator, auth.RoleRequester
	mine := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", req, `{"subject":"Printer jams","description":"paper stuck in tray two"}`), http.StatusCreated)
	other := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", op, `{"subject":"Printer toner","description":"secret tray"}`), http.StatusCreated)
	search := func(role auth.Role, q string) []int64 {
		t.Helper()
		list := decodeAs[page[apiTicket]](t, e.do("GET", "/api/v1/tickets?q="+url.QueryEscape(q), role, ""), http.StatusOK)
		var ids []int64
		for _, tk := range list.Data {
			ids = append(ids, tk.ID)
		}
		return ids
	}
	if got := search(op, "trays"); len(got) != 2 || got[0] != other.ID {
		t.Fatalf("operator found %v, want newest first [%d %d]", got, other.ID, mine.ID)
	}
	if got := search(op, "stuck"); len(got) != 1 || got[0] != mine.ID {
		t.Fatalf("description word found %v", got)
	}
	for _, q := range []string{"printer", "secret", "tray", fmt.Sprintf("#%d", other.ID)} {
		for _, id := range search(req, q) {
			if id != mine.ID {
				t.Fatalf("requester searching %q sees ticket #%d", q, id)
			}
		}
	}
	for _, q := range []string{`"`, `*`, `NEAR(`, `-`, `:`, `' OR 1=1 --`, `%`, strings.Repeat(`"printer*`, 1200)} {
		search(op, q)
	}
}
