package web

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestHostileOnCallForms posts hostile values into every field of the
// schedule, override and policy forms: never a 500, never unescaped on a
// page, a refusal always says why beside a field, and an accepted value
// shows escaped.
func TestHostileOnCallForms(t *testing.T) {
	e := newTestEnv(t)
	op, admin := signedIn(t, e, auth.RoleOperator), signedIn(t, e, auth.RoleAdmin)
	user := e.users[auth.RoleOperator].Username
	n := 0
	for name, bad := range hostileValues {
		t.Run(name, func(t *testing.T) {
			for _, field := range []string{"name", "description", "time_zone", "layers[0].name", "layers[0].rotation", "layers[0].shift_length",
				"layers[0].shift_unit", "layers[0].handoff", "layers[0].start_date", "layers[0].participants", "layers[0].restrictions"} {
				n++
				form := url.Values{"name": {fmt.Sprintf("s%d", n)}, "time_zone": {"UTC"}, "layers[0].rotation": {"daily"}, "layers[0].handoff": {"09:00"},
					"layers[0].start_date": {"2026-01-01"}, "layers[0].participants": {user}, "layers[0].shift_unit": {"days"}}
				form.Set(field, bad)
				p := op.post("/oncall/schedules/new", form)
				what := "schedule, " + field
				checkPage(t, what, p)
				checkRefused(t, what, p, field)
				switch p.status {
				case http.StatusSeeOther:
					checkPage(t, what+", page", op.get(p.location()))
					checkPage(t, what+", overview", op.get("/oncall"))
				case http.StatusUnprocessableEntity:
				default:
					t.Fatalf("%s: status %d", what, p.status)
				}
			}
			scs, err := e.oncall.Schedules(t.Context())
			if err != nil || len(scs) == 0 {
				t.Fatalf("no schedule to override: %v", err)
			}
			path := scheduleURL(scs[0].ID)
			for _, field := range []string{"user_id", "start", "end", "note"} {
				form := url.Values{"user_id": {fmt.Sprint(e.users[auth.RoleOperator].ID)}, "start": {"2030-01-01T09:00"}, "end": {"2030-01-02T09:00"}}
				form.Set(field, bad)
				p := op.post(path+"/overrides", form)
				what := "override, " + field
				checkPage(t, what, p)
				checkRefused(t, what, p, field)
				if p.status == http.StatusSeeOther {
					checkPage(t, what+", page", op.get(path))
				}
			}
			for _, field := range []string{"name", "description", "repeats", "levels[0].delay_minutes", "levels[0].users", "levels[0].schedules"} {
				n++
				form := url.Values{"name": {fmt.Sprintf("p%d", n)}, "repeats": {"0"}, "levels[0].delay_minutes": {"5"}, "levels[0].users": {user}}
				form.Set(field, bad)
				p := admin.post("/oncall/policies/new", form)
				what := "policy, " + field
				checkPage(t, what, p)
				checkRefused(t, what, p, field, "levels[0].targets")
				if p.status == http.StatusSeeOther {
					checkPage(t, what+", list", admin.get("/oncall/policies"))
				}
			}
		})
	}
}
