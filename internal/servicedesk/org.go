package servicedesk

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Organization groups requesters. A ticket's organisation is the name of
// its requester's organisation, filled in when the ticket opens; SLA
// policies may match on it. When ShareTickets is set, every member sees
// (and may answer) every ticket of the organisation, not only their own.
type Organization struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	ShareTickets bool      `json:"share_tickets"`
	MemberIDs    []int64   `json:"member_ids"`
	Members      []Member  `json:"members"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func (o *Organization) check() error {
	o.Name = strings.TrimSpace(o.Name)
	if err := valid.Text("name", o.Name, true, MaxCategory, false); err != nil {
		return err
	}
	slices.Sort(o.MemberIDs)
	o.MemberIDs = slices.Compact(o.MemberIDs)
	if len(o.MemberIDs) > 10000 {
		return valid.Errorf("member_ids", "at most 10000 members")
	}
	return nil
}

// Organizations lists organisations by name with their members.
func (s *Service) Organizations(ctx context.Context) ([]Organization, error) {
	return s.organizations(ctx, 0)
}

// Organization returns one organisation.
func (s *Service) Organization(ctx context.Context, id int64) (Organization, error) {
	os, err := s.organizations(ctx, id)
	if err != nil {
		return Organization{}, err
	}
	if len(os) == 0 {
		return Organization{}, wrap("organization "+strconv.FormatInt(id, 10), store.ErrNotFound)
	}
	return os[0], nil
}

func (s *Service) organizations(ctx context.Context, id int64) ([]Organization, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, name, share_tickets, updated_at FROM sd_organizations WHERE $1 = 0 OR id = $1 ORDER BY name`, id)
	if err != nil {
		return nil, wrap("organizations", err)
	}
	defer rows.Close()
	out := []Organization{}
	idx := map[int64]int{}
	for rows.Next() {
		o := Organization{MemberIDs: []int64{}, Members: []Member{}}
		if err := rows.Scan(&o.ID, &o.Name, &o.ShareTickets, &o.UpdatedAt); err != nil {
			return nil, wrap("organizations", err)
		}
		o.UpdatedAt = o.UpdatedAt.UTC()
		idx[o.ID] = len(out)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("organizations", err)
	}
	mrows, err := s.db.R.QueryContext(ctx, `SELECT m.org_id, m.user_id, u.username FROM sd_org_members m JOIN users u ON u.id = m.user_id
		WHERE $1 = 0 OR m.org_id = $1 ORDER BY u.username`, id)
	if err != nil {
		return nil, wrap("organization members", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var oid int64
		var m Member
		if err := mrows.Scan(&oid, &m.UserID, &m.Username); err != nil {
			return nil, wrap("organization members", err)
		}
		if i, ok := idx[oid]; ok {
			out[i].MemberIDs = append(out[i].MemberIDs, m.UserID)
			out[i].Members = append(out[i].Members, m)
		}
	}
	return out, wrap("organization members", mrows.Err())
}

// SaveOrganization creates (ID 0) or replaces an organisation and its
// members. A user is in at most one organisation: saving moves a member
// from any other. Renaming an organisation renames it on its tickets.
func (s *Service) SaveOrganization(ctx context.Context, o Organization) (Organization, error) {
	if err := o.check(); err != nil {
		return o, err
	}
	o.UpdatedAt = s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		action := "organization.update"
		if o.ID == 0 {
			action = "organization.create"
			if err := tx.QueryRowContext(ctx, `INSERT INTO sd_organizations (name, share_tickets, updated_at) VALUES ($1, $2, $3) RETURNING id`,
				o.Name, o.ShareTickets, o.UpdatedAt).Scan(&o.ID); err != nil {
				return err
			}
		} else {
			var old string
			if err := tx.QueryRowContext(ctx, `SELECT name FROM sd_organizations WHERE id = $1`+s.forUpdate(), o.ID).Scan(&old); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sd_organizations SET name = $1, share_tickets = $2, updated_at = $3 WHERE id = $4`,
				o.Name, o.ShareTickets, o.UpdatedAt, o.ID); err != nil {
				return err
			}
			if old != o.Name {
				if _, err := tx.ExecContext(ctx, `UPDATE sd_tickets SET organization = $1 WHERE organization = $2`, o.Name, old); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sd_org_members WHERE org_id = $1`, o.ID); err != nil {
			return err
		}
		for _, uid := range o.MemberIDs {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, uid).Scan(&one); err != nil {
				return valid.Errorf("member_ids", "user %d does not exist", uid)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM sd_org_members WHERE user_id = $1`, uid); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sd_org_members (user_id, org_id) VALUES ($1, $2)`, uid, o.ID); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, action, "organization", strconv.FormatInt(o.ID, 10), o.Name)
	})
	if err != nil {
		if _, ok := valid.As(err); ok {
			return o, err
		}
		if errors.Is(store.MapError(err), store.ErrConflict) {
			return o, valid.Errorf("name", "is taken by another organisation")
		}
		return o, wrap("save organization", err)
	}
	return s.Organization(ctx, o.ID)
}

// DeleteOrganization removes an organisation; its tickets keep the name.
func (s *Service) DeleteOrganization(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "sd_organizations", "organization", id)
}

// deleteRow deletes the row id of table (one of this package's constant
// table names) and audits "KIND.delete"; a missing row is
// store.ErrNotFound.
func (s *Service) deleteRow(ctx context.Context, table, kind string, id int64) error {
	return wrap("delete "+kind, s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return auth.Audit(ctx, tx, kind+".delete", kind, strconv.FormatInt(id, 10), "")
	}))
}

// orgOf returns the organisation a user belongs to: its id, name and
// whether it shares tickets (zero values when none).
func orgOf(ctx context.Context, q store.Querier, userID int64) (id int64, name string, shared bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT o.id, o.name, o.share_tickets FROM sd_org_members m JOIN sd_organizations o ON o.id = m.org_id
		WHERE m.user_id = $1`, userID).Scan(&id, &name, &shared)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return id, name, shared, err
}

// requesterSees reports whether a requester-only caller may see t: their
// own ticket, or one of their organisation when it shares tickets.
func requesterSees(ctx context.Context, q store.Querier, a auth.Actor, t *Ticket) (bool, error) {
	if a.UserID != 0 && t.RequesterID == a.UserID {
		return true, nil
	}
	if a.UserID == 0 || t.Organization == "" {
		return false, nil
	}
	_, name, shared, err := orgOf(ctx, q, a.UserID)
	if err != nil {
		return false, err
	}
	return shared && name == t.Organization, nil
}

// scopeList narrows a list to what a requester-only caller may see: their
// own tickets and, when their organisation shares tickets, its tickets.
// Other filters (requester=me, or a colleague) narrow it further.
func (s *Service) scopeList(ctx context.Context, a auth.Actor, f *Filter) error {
	f.visibleTo = a.UserID
	_, name, shared, err := orgOf(ctx, s.db.R, a.UserID)
	if err != nil {
		return wrap("list tickets", err)
	}
	if shared {
		f.visibleOrg = name
	} else if f.RequesterID != 0 {
		// Without a shared organisation, asking for someone else's
		// tickets lists one's own, as it always has.
		f.RequesterID = a.UserID
	}
	return nil
}
