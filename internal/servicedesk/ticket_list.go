package servicedesk

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/kb"
	"github.com/opsdeck/opsdeck/internal/store"
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
	// Text is a full-text search of subject and description: every word
	// must match (stemmed); a ticket number ("123" or "#123") also finds
	// that ticket. With it the default order is newest first.
	Text   string
	Sort   Sort
	Cursor string
	Limit  int // default 50, at most 200
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
	terms, number := searchTerms(f.Text)
	if f.Sort == "" {
		f.Sort = SortSLA
		if len(terms) > 0 || number > 0 {
			f.Sort = SortNewest
		}
	}
	if !slices.Contains(Sorts(), f.Sort) {
		return Page{}, valid.Errorf("sort", "must be sla, newest, oldest or priority")
	}
	if len(terms) == 0 && number == 0 && strings.TrimSpace(f.Text) != "" {
		// Nothing searchable (only punctuation or operators): no match.
		return Page{Tickets: []*Ticket{}}, nil
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
	// idCol is the ticket id the order and the cursor use: on SQLite a
	// text search walks the FTS5 index in rowid order, so newest first
	// stops after a page of matches however common the words are.
	idCol, from := "t.id", ticketFrom
	if len(terms) > 0 || number > 0 {
		match := ""
		if len(terms) > 0 {
			match = s.matchArg(terms)
		}
		switch {
		case number > 0 && match == "":
			where = append(where, "t.id = "+arg(number))
		case number > 0:
			where = append(where, "(t.id = "+arg(number)+" OR "+s.matchCond(arg(match))+")")
		case s.db.Dialect == store.Postgres:
			where = append(where, s.matchCond(arg(match)))
		default:
			idCol = "f.rowid"
			from = strings.Replace(ticketFrom, " FROM sd_tickets t ", " FROM sd_tickets_fts f JOIN sd_tickets t ON t.id = f.rowid ", 1)
			where = append(where, "sd_tickets_fts MATCH "+arg(match))
		}
	}
	var keyCol, order string
	desc := false
	switch f.Sort {
	case SortSLA:
		keyCol, order = "t.sla_due", "t.sla_due, t.id"
	case SortNewest:
		keyCol, order, desc = idCol, idCol+" DESC", true
	case SortOldest:
		keyCol, order = idCol, idCol
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
			where = append(where, idCol+" < "+arg(id))
		case f.Sort == SortPriority:
			k, i := arg(key), arg(id)
			where = append(where, fmt.Sprintf("(t.priority > %s OR (t.priority = %s AND t.id < %s))", k, k, i))
		case keyCol == idCol:
			where = append(where, idCol+" > "+arg(id))
		default:
			k, i := arg(key), arg(id)
			where = append(where, fmt.Sprintf("(%s > %s OR (%s = %s AND t.id > %s))", keyCol, k, keyCol, k, i))
		}
	}
	q := `SELECT ` + ticketCols + from
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

// maxSearch is how much of a search string is read; kb.Terms keeps at most
// kb.MaxTerms words of it anyway.
const maxSearch = 1024

// searchTerms splits a search into the words both engines index (kb.Terms:
// no input is FTS5 or tsquery syntax) and, when the whole search is a
// ticket number ("123", "#123"), that number.
func searchTerms(q string) (terms []string, number int64) {
	q = strings.TrimSpace(q)
	if len(q) > maxSearch {
		q = q[:maxSearch]
	}
	if n, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil && n > 0 {
		number = n
	}
	return kb.Terms(q), number
}

// matchArg is the engine's query for all of terms: each quoted for FTS5,
// so it is read as a string, never as syntax; plain words for PostgreSQL's
// websearch_to_tsquery, which never fails on any input.
func (s *Service) matchArg(terms []string) string {
	if s.db.Dialect == store.Postgres {
		return strings.Join(terms, " ")
	}
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + t + `"`
	}
	return strings.Join(quoted, " ")
}

// matchCond is a WHERE condition true for tickets matching the query in
// the placeholder p (on SQLite a subquery, used where an OR needs it).
func (s *Service) matchCond(p string) string {
	if s.db.Dialect == store.Postgres {
		return "t.search @@ websearch_to_tsquery('english', " + p + ")"
	}
	return "t.id IN (SELECT rowid FROM sd_tickets_fts WHERE sd_tickets_fts MATCH " + p + ")"
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
