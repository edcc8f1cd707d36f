package servicedesk

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

const catalogCols = `c.id, c.name, c.description, c.category, c.icon, c.active, c.position, c.ticket_type, c.ticket_category,
	COALESCE(c.group_id, 0), COALESCE(g.name, ''), c.impact, c.urgency, c.fields, c.updated_at`

func scanCatalogItem(row interface{ Scan(...any) error }) (CatalogItem, error) {
	var c CatalogItem
	var fields string
	if err := row.Scan(&c.ID, &c.Name, &c.Description, &c.Category, &c.Icon, &c.Active, &c.Position, &c.TicketType, &c.TicketCategory,
		&c.GroupID, &c.Group, &c.Impact, &c.Urgency, &fields, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	c.OrgIDs = []int64{}
	if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
		return c, err
	}
	if c.Fields == nil {
		c.Fields = []FormField{}
	}
	return c, nil
}

// CatalogItems lists the catalog: agents and viewers see every item,
// requesters only the active items offered to everyone or to their
// organisation. Items come by category, position and name.
func (s *Service) CatalogItems(ctx context.Context) ([]CatalogItem, error) {
	return s.catalogItems(ctx, 0)
}

// CatalogItem returns one item the caller may see (store.ErrNotFound when
// a requester may not order it).
func (s *Service) CatalogItem(ctx context.Context, id int64) (CatalogItem, error) {
	items, err := s.catalogItems(ctx, id)
	if err != nil {
		return CatalogItem{}, err
	}
	if len(items) == 0 || id <= 0 {
		return CatalogItem{}, wrap("catalog item "+strconv.FormatInt(id, 10), store.ErrNotFound)
	}
	return items[0], nil
}

func (s *Service) catalogItems(ctx context.Context, id int64) ([]CatalogItem, error) {
	a := auth.ActorFrom(ctx)
	q := `SELECT ` + catalogCols + ` FROM sd_catalog_items c LEFT JOIN sd_groups g ON g.id = c.group_id WHERE ($1 = 0 OR c.id = $1)`
	args := []any{id}
	if isRequesterOnly(a) {
		orgID, _, _, err := orgOf(ctx, s.db.R, a.UserID)
		if err != nil {
			return nil, wrap("catalog", err)
		}
		q += ` AND c.active AND (NOT EXISTS (SELECT 1 FROM sd_catalog_orgs v WHERE v.item_id = c.id)
			OR EXISTS (SELECT 1 FROM sd_catalog_orgs v WHERE v.item_id = c.id AND v.org_id = $2))`
		args = append(args, orgID)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY c.category, c.position, c.name`, args...)
	if err != nil {
		return nil, wrap("catalog", err)
	}
	defer rows.Close()
	out := []CatalogItem{}
	idx := map[int64]int{}
	for rows.Next() {
		c, err := scanCatalogItem(rows)
		if err != nil {
			return nil, wrap("catalog", err)
		}
		idx[c.ID] = len(out)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("catalog", err)
	}
	if isRequesterOnly(a) {
		return out, nil
	}
	orows, err := s.db.R.QueryContext(ctx, `SELECT item_id, org_id FROM sd_catalog_orgs WHERE $1 = 0 OR item_id = $1 ORDER BY org_id`, id)
	if err != nil {
		return nil, wrap("catalog", err)
	}
	defer orows.Close()
	for orows.Next() {
		var item, org int64
		if err := orows.Scan(&item, &org); err != nil {
			return nil, wrap("catalog", err)
		}
		if i, ok := idx[item]; ok {
			out[i].OrgIDs = append(out[i].OrgIDs, org)
		}
	}
	return out, wrap("catalog", orows.Err())
}

// SaveCatalogItem creates (ID 0) or replaces a catalog item, its form and
// the organisations it is offered to. Tickets already opened from it keep
// the answers and labels they were opened with.
func (s *Service) SaveCatalogItem(ctx context.Context, c CatalogItem) (CatalogItem, error) {
	if err := c.check(); err != nil {
		return c, err
	}
	fields, err := json.Marshal(c.Fields)
	if err != nil {
		return c, wrap("save catalog item", err)
	}
	c.UpdatedAt = s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if c.GroupID != 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM sd_groups WHERE id = $1`, c.GroupID).Scan(&one); err != nil {
				return valid.Errorf("group_id", "no such group")
			}
		}
		action := "catalog_item.update"
		if c.ID == 0 {
			action = "catalog_item.create"
			if err := tx.QueryRowContext(ctx, `INSERT INTO sd_catalog_items (name, description, category, icon, active, position, ticket_type,
				ticket_category, group_id, impact, urgency, fields, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
				RETURNING id`, c.Name, c.Description, c.Category, c.Icon, c.Active, c.Position, string(c.TicketType), c.TicketCategory,
				nullID(c.GroupID), int(c.Impact), int(c.Urgency), string(fields), c.UpdatedAt).Scan(&c.ID); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE sd_catalog_items SET name = $1, description = $2, category = $3, icon = $4, active = $5,
				position = $6, ticket_type = $7, ticket_category = $8, group_id = $9, impact = $10, urgency = $11, fields = $12, updated_at = $13
				WHERE id = $14`, c.Name, c.Description, c.Category, c.Icon, c.Active, c.Position, string(c.TicketType), c.TicketCategory,
				nullID(c.GroupID), int(c.Impact), int(c.Urgency), string(fields), c.UpdatedAt, c.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sd_catalog_orgs WHERE item_id = $1`, c.ID); err != nil {
			return err
		}
		for _, o := range c.OrgIDs {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM sd_organizations WHERE id = $1`, o).Scan(&one); err != nil {
				return valid.Errorf("org_ids", "organisation %d does not exist", o)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sd_catalog_orgs (item_id, org_id) VALUES ($1, $2)`, c.ID, o); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, action, "catalog_item", strconv.FormatInt(c.ID, 10), c.Name)
	})
	if err != nil {
		if _, ok := valid.As(err); ok {
			return c, err
		}
		if errors.Is(store.MapError(err), store.ErrConflict) {
			return c, valid.Errorf("name", "is taken by another item")
		}
		return c, wrap("save catalog item", err)
	}
	return s.CatalogItem(ctx, c.ID)
}

// DeleteCatalogItem removes an item; tickets opened from it keep their
// answers.
func (s *Service) DeleteCatalogItem(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "sd_catalog_items", "catalog_item", id)
}

// CatalogRequest is a filled-in request form.
type CatalogRequest struct {
	// Subject defaults to the item's name.
	Subject     string `json:"subject"`
	Description string `json:"description"`
	// Answers by field key; several values only for multiselect fields.
	Answers map[string][]string `json:"answers"`
}

// TicketForm is the catalog item a ticket was opened from and the answers.
type TicketForm struct {
	ItemID   int64    `json:"item_id,omitempty"`
	ItemName string   `json:"item_name"`
	Answers  []Answer `json:"answers"`
}

// SubmitRequest opens a ticket for the caller from a catalog item they may
// order: the answers are checked against the form and stored with the
// ticket, which takes the item's type, category, group, impact and urgency
// (so its priority and SLA policy follow from them).
func (s *Service) SubmitRequest(ctx context.Context, itemID int64, req CatalogRequest) (*Ticket, error) {
	a := auth.ActorFrom(ctx)
	if a.UserID == 0 {
		return nil, valid.Errorf("requester_id", "a catalog request needs a signed-in person")
	}
	if a.Role == auth.RoleViewer {
		return nil, ErrForbidden
	}
	item, err := s.CatalogItem(ctx, itemID)
	if err != nil {
		return nil, err
	}
	if !item.Active {
		return nil, valid.Errorf("item", "this item is not offered at the moment")
	}
	if len(req.Answers) > MaxFormFields {
		return nil, valid.Errorf("answers", "at most %d answers", MaxFormFields)
	}
	answers, err := checkAnswers(ctx, s.db.R, item.Fields, req.Answers)
	if err != nil {
		return nil, err
	}
	stored, err := json.Marshal(answers)
	if err != nil {
		return nil, wrap("submit request", err)
	}
	subject := strings.TrimSpace(req.Subject)
	if subject == "" {
		subject = item.Name
	}
	in := NewTicket{Type: item.TicketType, Subject: subject, Description: req.Description, RequesterID: a.UserID, GroupID: item.GroupID,
		Category: item.TicketCategory, Impact: item.Impact, Urgency: item.Urgency}
	t, err := s.openTicket(ctx, in, func(tx *sql.Tx, t *Ticket) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sd_ticket_forms (ticket_id, item_id, item_name, answers) VALUES ($1, $2, $3, $4)`,
			t.ID, item.ID, item.Name, string(stored))
		return err
	})
	return t, err
}

// TicketForm returns the request form a ticket was opened from, or nil,
// if the caller may see the ticket.
func (s *Service) TicketForm(ctx context.Context, ticketID int64) (*TicketForm, error) {
	if _, err := s.Ticket(ctx, ticketID); err != nil {
		return nil, err
	}
	var f TicketForm
	var answers string
	err := s.db.R.QueryRowContext(ctx, `SELECT COALESCE(item_id, 0), item_name, answers FROM sd_ticket_forms WHERE ticket_id = $1`, ticketID).
		Scan(&f.ItemID, &f.ItemName, &answers)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil //nolint:nilnil // a ticket without a form is not an error
	}
	if err != nil {
		return nil, wrap("ticket form", err)
	}
	if err := json.Unmarshal([]byte(answers), &f.Answers); err != nil {
		return nil, wrap("ticket form", err)
	}
	return &f, nil
}
