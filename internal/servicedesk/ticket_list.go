package servicedesk

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Sort orders a ticket list.
type Sort string

// The list orders. Each is a keyset (key, id) so pages stay fast deep in a
// million tickets.
const (
	SortSLA      Sort = "sla"      // soonest SLA due first; no due time last
	SortNewest   Sort = "newest"   // newest first
	SortOldest   Sort = "oldest"   // oldest first
	SortPriority Sort = "priority" // most urgent first, then newest
)

// Sorts lists the orders.
func Sorts() []Sort { return []Sort{SortSLA, SortNewest, SortOldest, SortPriority} }

// Filter selects tickets. Zero fields match everything.
type Filter struct {
	Statuses    []Status
	Priority    Priority
	GroupID     int64 // -1: no group
	AssigneeID  int64 // -1: unassigned
	RequesterID int64
	Category    string
	SLAState    SLAState // or "paused"
	Text        string   // in the subject, case-insensitive
	Sort        Sort
	Cursor      string
	Limit       int // default 50, at most 200
	// visibleTo and visibleOrg scope a requester's list (scopeList).
	visibleTo  int64
	visibleOrg string
}

// Page is a list page and the cursor of the next one ("" at the end).
type Page struct {
	Tickets    []*Ticket `json:"data"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// List returns a page of tickets the caller may see: a requester sees only
// their own and their organisation's when it shares tickets, whatever the
// filter says.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	if a := auth.ActorFrom(ctx); isRequesterOnly(a) {
		if a.UserID == 0 {
			return Page{Tickets: []*Ticket{}}, nil
		}
		if err := s.scopeList(ctx, a, &f); err != nil {
			return Page{}, err
		}
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 200:
		return Page{}, valid.Errorf("limit", "must be 1 to 200")
	}
	if f.Sort == "" {
		f.Sort = SortSLA
	}
	if !slices.Contains(Sorts(), f.Sort) {
		return Page{}, valid.Errorf("sort", "must be sla, newest, oldest or priority")
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.Statuses) > 0 {
		var ps []string
		for _, st := range f.Statuses {
			if !slices.Contains(Statuses(), st) {
				return Page{}, valid.Errorf("status", "must be new, open, pending, resolved or closed")
			}
			ps = append(ps, arg(string(st)))
		}
		where = append(where, "t.status IN ("+strings.Join(ps, ", ")+")")
	}
	if f.Priority != 0 {
		if f.Priority < 1 || f.Priority > 5 {
			return Page{}, valid.Errorf("priority", "must be 1 to 5")
		}
		where = append(where, "t.priority = "+arg(int(f.Priority)))
	}
	switch {
	case f.GroupID == -1:
		where = append(where, "t.group_id IS NULL")
	case f.GroupID > 0:
		where = append(where, "t.group_id = "+arg(f.GroupID))
	}
	switch {
	case f.AssigneeID == -1:
		where = append(where, "t.assignee_id IS NULL")
	case f.AssigneeID > 0:
		where = append(where, "t.assignee_id = "+arg(f.AssigneeID))
	}
	if f.RequesterID > 0 {
		where = append(where, "t.requester_id = "+arg(f.RequesterID))
	}
	switch {
	case f.visibleOrg != "":
		where = append(where, "(t.requester_id = "+arg(f.visibleTo)+" OR t.organization = "+arg(f.visibleOrg)+")")
	case f.visibleTo != 0:
		where = append(where, "t.requester_id = "+arg(f.visibleTo))
	}
	if f.Category != "" {
		where = append(where, "t.category = "+arg(strings.ToLower(strings.TrimSpace(f.Category))))
	}
	switch f.SLAState {
	case "":
	case "paused":
		where = append(where, "t.sla_paused")
	case SLAOK, SLAWarning, SLABreached, SLAMet:
		where = append(where, "t.sla_state = "+arg(string(f.SLAState)))
	case "none":
		where = append(where, "t.sla_state = ''")
	default:
		return Page{}, valid.Errorf("sla", "must be ok, warning, breached, met, paused or none")
	}
	if txt := strings.TrimSpace(f.Text); txt != "" {
		if err := valid.Text("q", txt, false, 200, false); err != nil {
			return Page{}, err
		}
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(txt))
		where = append(where, "LOWER(t.subject) LIKE "+arg("%"+esc+"%")+` ESCAPE '\'`)
	}
	var keyCol, order string
	desc := false
	switch f.Sort {
	case SortSLA:
		keyCol, order = "t.sla_due", "t.sla_due, t.id"
	case SortNewest:
		keyCol, order, desc = "t.id", "t.id DESC", true
	case SortOldest:
		keyCol, order = "t.id", "t.id"
	case SortPriority:
		keyCol, order = "t.priority", "t.priority, t.id DESC"
	}
	if f.Cursor != "" {
		key, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		switch {
		case desc:
			where = append(where, "t.id < "+arg(id))
		case f.Sort == SortPriority:
			k, i := arg(key), arg(id)
			where = append(where, fmt.Sprintf("(t.priority > %s OR (t.priority = %s AND t.id < %s))", k, k, i))
		case keyCol == "t.id":
			where = append(where, "t.id > "+arg(id))
		default:
			k, i := arg(key), arg(id)
			where = append(where, fmt.Sprintf("(%s > %s OR (%s = %s AND t.id > %s))", keyCol, k, keyCol, k, i))
		}
	}
	q := `SELECT ` + ticketCols + ticketFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + order + " LIMIT " + arg(f.Limit+1)
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return Page{}, wrap("list tickets", err)
	}
	defer rows.Close()
	out := Page{Tickets: []*Ticket{}}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return Page{}, wrap("list tickets", err)
		}
		out.Tickets = append(out.Tickets, t)
	}
	if err := rows.Err(); err != nil {
		return Page{}, wrap("list tickets", err)
	}
	if len(out.Tickets) > f.Limit {
		out.Tickets = out.Tickets[:f.Limit]
		last := out.Tickets[f.Limit-1]
		key := last.ID
		switch f.Sort {
		case SortSLA:
			key = noDue
			if last.SLADue != nil {
				key = last.SLADue.Unix()
			}
		case SortPriority:
			key = int64(last.Priority)
		}
		out.NextCursor = encodeCursor(key, last.ID)
	}
	return out, nil
}

// encodeCursor makes an opaque cursor of a sort key and a ticket id.
func encodeCursor(key, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t" + strconv.FormatInt(key, 10) + ":" + strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (key, id int64, err error) {
	bad := valid.Errorf("cursor", "is not a cursor this server issued")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 4 || b[0] != 't' {
		return 0, 0, bad
	}
	k, i, ok := strings.Cut(string(b[1:]), ":")
	if !ok {
		return 0, 0, bad
	}
	key, err1 := strconv.ParseInt(k, 10, 64)
	id, err2 := strconv.ParseInt(i, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return 0, 0, bad
	}
	return key, id, nil
}
