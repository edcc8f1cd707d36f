package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// usersPage is the data of the user list.
type usersPage struct {
	Users   []auth.User
	Total   int
	Q       string
	Role    string
	Status  string
	Sort    string
	Roles   []auth.Role
	Columns []sortColumn
	// Filtered is set when a filter hides users, so an empty result says
	// "no match" rather than "no users".
	Filtered bool
	Errors   fieldErrors
}

// sortColumn is a sortable table header: its link flips the order, and
// Order feeds aria-sort so screen readers say how the table is sorted.
type sortColumn struct {
	Label, Href, Order string
}

// userSorts are the user list's sort keys and how to compare by each.
var userSorts = map[string]func(a, b auth.User) int{
	"username": func(a, b auth.User) int { return strings.Compare(a.Username, b.Username) },
	"name":     func(a, b auth.User) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) },
	"email":    func(a, b auth.User) int { return cmp.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email)) },
	"role":     func(a, b auth.User) int { return cmp.Compare(b.Role.Level(), a.Role.Level()) },
	"status":   func(a, b auth.User) int { return cmp.Compare(userStatus(a), userStatus(b)) },
	"last_login": func(a, b auth.User) int {
		switch {
		case a.LastLoginAt == nil && b.LastLoginAt == nil:
			return 0
		case a.LastLoginAt == nil:
			return 1
		case b.LastLoginAt == nil:
			return -1
		}
		return b.LastLoginAt.Compare(*a.LastLoginAt)
	},
}

// userStatus is a user's state in words, shown beside its colour.
func userStatus(u auth.User) string {
	switch {
	case u.Disabled:
		return "disabled"
	case u.MustChangePassword:
		return "password change pending"
	}
	return "active"
}

// usersPage lists users, filtered and sorted by the query string (?q=,
// role=, status=, sort=; a sort key with a leading "-" reverses it), so a
// view can be bookmarked and shared. Installations have hundreds of users,
// so the list is filtered in memory and not paged.
func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg := usersPage{Q: echo(q.Get("q")), Role: q.Get("role"), Status: q.Get("status"), Roles: auth.AllRoles(), Errors: fieldErrors{}}
	if err := valid.Text("q", q.Get("q"), false, 200, false); err != nil {
		ve, _ := valid.As(err)
		pg.Errors["q"] = "Search " + ve.Msg + "."
	}
	if pg.Role != "" {
		if _, err := auth.ParseRole("role", pg.Role); err != nil {
			pg.Errors["role"] = "Choose a role from the list."
			pg.Role = ""
		}
	}
	if pg.Status != "" && pg.Status != "active" && pg.Status != "disabled" {
		pg.Errors["status"] = "Choose a status from the list."
		pg.Status = ""
	}
	sortKey := q.Get("sort")
	if _, ok := userSorts[strings.TrimPrefix(sortKey, "-")]; !ok {
		sortKey = "username"
	}
	if sortKey != "username" {
		pg.Sort = sortKey
	}
	all, err := s.auth.ListUsers(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.Total = len(all)
	status := http.StatusOK
	if len(pg.Errors) > 0 {
		status = http.StatusBadRequest
	} else {
		pg.Users = filterUsers(all, pg.Q, pg.Role, pg.Status)
		pg.Filtered = pg.Q != "" || pg.Role != "" || pg.Status != ""
		by := userSorts[strings.TrimPrefix(sortKey, "-")]
		slices.SortStableFunc(pg.Users, func(a, b auth.User) int {
			if strings.HasPrefix(sortKey, "-") {
				return by(b, a)
			}
			return by(a, b)
		})
	}
	pg.Columns = sortColumns(r.URL, sortKey, [][2]string{{"username", "Username"}, {"name", "Name"}, {"email", "Email"}, {"role", "Role"}, {"status", "Status"}, {"last_login", "Last sign-in"}})
	s.render(w, r, status, "users", s.newView(r, "Users", "users", pg))
}

func filterUsers(all []auth.User, q, role, status string) []auth.User {
	q = strings.ToLower(q)
	var out []auth.User
	for _, u := range all {
		if role != "" && string(u.Role) != role {
			continue
		}
		if status == "active" && u.Disabled || status == "disabled" && !u.Disabled {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(u.Username+"\x00"+u.Name+"\x00"+u.Email), q) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// sortColumns builds the header links of a sortable table: each keeps the
// current filters, and the current column's link reverses its order.
func sortColumns(u *url.URL, current string, cols [][2]string) []sortColumn {
	out := make([]sortColumn, 0, len(cols))
	for _, c := range cols {
		key, label := c[0], c[1]
		q := u.Query()
		q.Del("notice")
		col := sortColumn{Label: label}
		switch current {
		case key:
			col.Order = "ascending"
			q.Set("sort", "-"+key)
		case "-" + key:
			col.Order = "descending"
			q.Set("sort", key)
		default:
			q.Set("sort", key)
		}
		col.Href = u.Path + "?" + q.Encode()
		out = append(out, col)
	}
	return out
}
