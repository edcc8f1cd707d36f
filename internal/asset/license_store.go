package asset

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

const licenseCols = `l.id, l.product, l.publisher, l.license_type, l.seats, l.license_key, l.purchase_date, l.cost_cents, l.currency,
	l.supplier, l.expires, l.notes, l.patterns, l.created_at, l.updated_at`

// scanLicense reads a license row; the key itself stays in key, never in
// the License.
func scanLicense(row interface{ Scan(...any) error }) (License, string, error) {
	var l License
	var typ, key, patterns string
	var cost sql.NullInt64
	err := row.Scan(&l.ID, &l.Product, &l.Publisher, &typ, &l.Seats, &key, &l.PurchaseDate, &cost, &l.Currency,
		&l.Supplier, &l.Expires, &l.Notes, &patterns, &l.CreatedAt, &l.UpdatedAt)
	l.Type = LicenseType(typ)
	l.HasKey, l.KeyHint = key != "", maskKey(key)
	if cost.Valid {
		l.CostCents = &cost.Int64
	}
	l.Patterns = strings.Fields(patterns)
	if l.Patterns == nil {
		l.Patterns = []string{}
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, key, err
}

// GetLicense returns the license with id (its key masked).
func (s *Service) GetLicense(ctx context.Context, id int64) (License, error) {
	l, _, err := s.getLicense(ctx, s.db.R, id)
	return l, err
}

func (s *Service) getLicense(ctx context.Context, q store.Querier, id int64) (License, string, error) {
	l, key, err := scanLicense(q.QueryRowContext(ctx, `SELECT `+licenseCols+` FROM licenses l WHERE l.id = $1`, id))
	if err != nil {
		return l, "", fmt.Errorf("asset: license %d: %w", id, store.MapError(err))
	}
	return l, key, nil
}

// CreateLicense adds a license.
func (s *Service) CreateLicense(ctx context.Context, in LicenseInput) (License, error) {
	if err := in.normalize(); err != nil {
		return License{}, err
	}
	key := ""
	if in.LicenseKey != nil {
		key = *in.LicenseKey
	}
	now := s.now()
	var id int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO licenses (product, publisher, license_type, seats, license_key, purchase_date, cost_cents,
			currency, supplier, expires, notes, patterns, search, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id`,
			in.Product, in.Publisher, string(in.Type), in.Seats, key, in.PurchaseDate, nullCost(in.CostCents), in.Currency, in.Supplier,
			in.Expires, in.Notes, strings.Join(in.Patterns, "\n"), in.search(), now).Scan(&id)
		if err != nil {
			return fmt.Errorf("asset: create license: %w", store.MapError(err))
		}
		if err := s.licenseHistory(ctx, tx, id, "created", ""); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "license.create", "license", strconv.FormatInt(id, 10), in.Product)
	})
	if err != nil {
		return License{}, err
	}
	return s.GetLicense(ctx, id)
}

// UpdateLicense replaces a license's fields and records which changed
// (the key's change is named, never its value).
func (s *Service) UpdateLicense(ctx context.Context, id int64, in LicenseInput) (License, error) {
	if err := in.normalize(); err != nil {
		return License{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Claim the row first so two edits run one after the other.
		if _, err := tx.ExecContext(ctx, `UPDATE licenses SET updated_at = $1 WHERE id = $2`, s.now(), id); err != nil {
			return fmt.Errorf("asset: update license: %w", err)
		}
		old, oldKey, err := s.getLicense(ctx, tx, id)
		if err != nil {
			return err
		}
		key := oldKey
		if in.LicenseKey != nil {
			key = *in.LicenseKey
		}
		if _, err := tx.ExecContext(ctx, `UPDATE licenses SET product = $1, publisher = $2, license_type = $3, seats = $4, license_key = $5,
			purchase_date = $6, cost_cents = $7, currency = $8, supplier = $9, expires = $10, notes = $11, patterns = $12, search = $13
			WHERE id = $14`, in.Product, in.Publisher, string(in.Type), in.Seats, key, in.PurchaseDate, nullCost(in.CostCents), in.Currency,
			in.Supplier, in.Expires, in.Notes, strings.Join(in.Patterns, "\n"), in.search(), id); err != nil {
			return fmt.Errorf("asset: update license: %w", store.MapError(err))
		}
		changed := licenseDiff(old, in)
		if key != oldKey {
			changed = append(changed, "license_key")
		}
		if len(changed) == 0 {
			return nil
		}
		detail := strings.Join(changed, ", ")
		if err := s.licenseHistory(ctx, tx, id, "updated", detail); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "license.update", "license", strconv.FormatInt(id, 10), in.Product+": "+detail)
	})
	if err != nil {
		return License{}, err
	}
	return s.GetLicense(ctx, id)
}

// licenseDiff names the fields in changes compared with l.
func licenseDiff(l License, in LicenseInput) []string {
	cost, newCost := "", ""
	if l.CostCents != nil {
		cost = FormatCents(*l.CostCents)
	}
	if in.CostCents != nil {
		newCost = FormatCents(*in.CostCents)
	}
	var out []string
	for _, f := range []struct{ name, old, new string }{
		{"product", l.Product, in.Product}, {"publisher", l.Publisher, in.Publisher}, {"license_type", string(l.Type), string(in.Type)},
		{"seats", strconv.FormatInt(l.Seats, 10), strconv.FormatInt(in.Seats, 10)}, {"purchase_date", l.PurchaseDate, in.PurchaseDate},
		{"cost", cost, newCost}, {"currency", l.Currency, in.Currency}, {"supplier", l.Supplier, in.Supplier},
		{"expires", l.Expires, in.Expires}, {"notes", l.Notes, in.Notes},
		{"patterns", strings.Join(l.Patterns, " "), strings.Join(in.Patterns, " ")}} {
		if f.old != f.new {
			out = append(out, f.name)
		}
	}
	return out
}

// DeleteLicense removes a license with its seats and history; the audit
// log keeps the deletion.
func (s *Service) DeleteLicense(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		l, _, err := s.getLicense(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM licenses WHERE id = $1`, id); err != nil {
			return fmt.Errorf("asset: delete license: %w", err)
		}
		return auth.Audit(ctx, tx, "license.delete", "license", strconv.FormatInt(id, 10), l.Product)
	})
}

// RevealLicenseKey returns a license's key and records who asked, in the
// license's history and the audit log, in one transaction: a key is never
// shown without a trace.
func (s *Service) RevealLicenseKey(ctx context.Context, id int64) (string, error) {
	var key string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		l, k, err := s.getLicense(ctx, tx, id)
		if err != nil {
			return err
		}
		if k == "" {
			return &Refusal{Msg: "asset: this license has no key stored"}
		}
		key = k
		if err := s.licenseHistory(ctx, tx, id, "key_revealed", ""); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "license.reveal_key", "license", strconv.FormatInt(id, 10), l.Product)
	})
	return key, err
}

// licenseHistory records one change of a license through q.
func (s *Service) licenseHistory(ctx context.Context, q store.Querier, id int64, action, detail string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO license_history (license_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)`,
		id, s.now(), clip(auth.ActorFrom(ctx).Name, 200), action, clip(detail, 2000))
	if err != nil {
		return fmt.Errorf("asset: license history: %w", err)
	}
	return nil
}

// LicenseHistory lists a license's changes, newest first, before the
// change id before (0: from the newest); it returns the next page's cursor.
func (s *Service) LicenseHistory(ctx context.Context, id, before int64, limit int) ([]LicenseChange, int64, error) {
	if _, _, err := s.getLicense(ctx, s.db.R, id); err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	q := `SELECT id, license_id, at, actor, action, detail FROM license_history WHERE license_id = $1`
	args := []any{id}
	if before > 0 {
		q += ` AND id < $2`
		args = append(args, before)
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("asset: license history: %w", err)
	}
	defer rows.Close()
	out := []LicenseChange{}
	for rows.Next() {
		var c LicenseChange
		if err := rows.Scan(&c.ID, &c.LicenseID, &c.At, &c.Actor, &c.Action, &c.Detail); err != nil {
			return nil, 0, fmt.Errorf("asset: license history: %w", err)
		}
		c.At = c.At.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("asset: license history: %w", err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

const (
	seatCols   = `s.id, s.license_id, s.user_id, u.username, s.asset_id, a.tag, s.assigned_at, s.assigned_by, s.note`
	seatFrom   = ` FROM license_seats s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN assets a ON a.id = s.asset_id`
	seatSelect = `SELECT ` + seatCols + seatFrom
)

// scanSeat reads a seat row; extra receives the columns after seatCols.
func scanSeat(row interface{ Scan(...any) error }, extra ...any) (Seat, error) {
	var st Seat
	var uid, aid sql.NullInt64
	var uname, tag sql.NullString
	err := row.Scan(append([]any{&st.ID, &st.LicenseID, &uid, &uname, &aid, &tag, &st.AssignedAt, &st.AssignedBy, &st.Note}, extra...)...)
	if uid.Valid {
		st.User = &UserRef{ID: uid.Int64, Username: uname.String}
	}
	if aid.Valid {
		st.Asset = &AssetRef{ID: aid.Int64, Tag: tag.String}
	}
	st.AssignedAt = st.AssignedAt.UTC()
	return st, err
}

// Seats lists the seats of a license, oldest assignment first.
func (s *Service) Seats(ctx context.Context, licenseID int64) ([]Seat, error) {
	if _, _, err := s.getLicense(ctx, s.db.R, licenseID); err != nil {
		return nil, err
	}
	return s.seats(ctx, ` WHERE s.license_id = $1 ORDER BY s.id`, licenseID)
}

func (s *Service) seats(ctx context.Context, where string, args ...any) ([]Seat, error) {
	rows, err := s.db.R.QueryContext(ctx, seatSelect+where, args...)
	if err != nil {
		return nil, fmt.Errorf("asset: seats: %w", err)
	}
	defer rows.Close()
	out := []Seat{}
	for rows.Next() {
		st, err := scanSeat(rows)
		if err != nil {
			return nil, fmt.Errorf("asset: seats: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("asset: seats: %w", err)
	}
	return out, nil
}

// HeldSeat is a seat seen from its holder: which license it is of.
type HeldSeat struct {
	Seat
	Product string `json:"product"`
}

// SeatsOf lists the license seats held by a user (userID) or an asset
// (assetID), by product, for the holder's page.
func (s *Service) SeatsOf(ctx context.Context, userID, assetID int64) ([]HeldSeat, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+seatCols+`, l.product`+seatFrom+` JOIN licenses l ON l.id = s.license_id
		WHERE s.user_id = $1 OR s.asset_id = $2 ORDER BY l.product, s.id`, userID, assetID)
	if err != nil {
		return nil, fmt.Errorf("asset: seats held: %w", err)
	}
	defer rows.Close()
	var out []HeldSeat
	for rows.Next() {
		var h HeldSeat
		if h.Seat, err = scanSeat(rows, &h.Product); err != nil {
			return nil, fmt.Errorf("asset: seats held: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// AssignSeat gives a seat of a license to a user (userID) or to a hardware
// asset (assetID): exactly one. More seats than were bought may be
// assigned (the register records what is), and the license is then
// flagged over-used. A holder has at most one seat of a license.
func (s *Service) AssignSeat(ctx context.Context, licenseID, userID, assetID int64, note string) (Seat, error) {
	note = strings.TrimSpace(note)
	if err := valid.Text("note", note, false, 2000, false); err != nil {
		return Seat{}, err
	}
	switch {
	case userID < 0:
		return Seat{}, valid.Errorf("user_id", "must be a user id")
	case assetID < 0:
		return Seat{}, valid.Errorf("asset_id", "must be an asset id")
	case userID == 0 && assetID == 0:
		return Seat{}, valid.Errorf("user_id", "give a user or an asset to assign the seat to")
	case userID != 0 && assetID != 0:
		return Seat{}, valid.Errorf("asset_id", "assign a seat to a user or to an asset, not both")
	}
	var id int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		l, _, err := s.getLicense(ctx, tx, licenseID)
		if err != nil {
			return err
		}
		var holder string
		if userID != 0 {
			err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, userID).Scan(&holder)
			if errors.Is(store.MapError(err), store.ErrNotFound) {
				return valid.Errorf("user_id", "no user has id %d", userID)
			} else if err != nil {
				return fmt.Errorf("asset: assign seat: %w", err)
			}
			holder = "user " + holder
		} else {
			var tag, kind string
			err := tx.QueryRowContext(ctx, `SELECT tag, kind FROM assets WHERE id = $1`, assetID).Scan(&tag, &kind)
			if errors.Is(store.MapError(err), store.ErrNotFound) {
				return valid.Errorf("asset_id", "no asset has id %d", assetID)
			} else if err != nil {
				return fmt.Errorf("asset: assign seat: %w", err)
			}
			if Kind(kind) != KindHardware {
				return valid.Errorf("asset_id", "%s is a software asset: seats go to users or hardware", tag)
			}
			holder = "asset " + tag
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO license_seats (license_id, user_id, asset_id, assigned_at, assigned_by, note)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, licenseID, nullInt(userID), nullInt(assetID), s.now(),
			clip(auth.ActorFrom(ctx).Name, 200), note).Scan(&id)
		if errors.Is(store.MapError(err), store.ErrConflict) {
			field := "user_id"
			if assetID != 0 {
				field = "asset_id"
			}
			return valid.Errorf(field, "%s already has a seat of this license", holder)
		}
		if err != nil {
			return fmt.Errorf("asset: assign seat: %w", store.MapError(err))
		}
		detail := joinNote("to "+holder, note)
		if err := s.licenseHistory(ctx, tx, licenseID, "assigned", detail); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "license.assign", "license", strconv.FormatInt(licenseID, 10), l.Product+": "+detail)
	})
	if err != nil {
		return Seat{}, err
	}
	return scanSeat(s.db.R.QueryRowContext(ctx, seatSelect+` WHERE s.id = $1`, id))
}

// UnassignSeat takes a seat back; the history keeps who had it.
func (s *Service) UnassignSeat(ctx context.Context, licenseID, seatID int64, note string) error {
	note = strings.TrimSpace(note)
	if err := valid.Text("note", note, false, 2000, false); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		l, _, err := s.getLicense(ctx, tx, licenseID)
		if err != nil {
			return err
		}
		st, err := scanSeat(tx.QueryRowContext(ctx, seatSelect+` WHERE s.id = $1 AND s.license_id = $2`, seatID, licenseID))
		if err != nil {
			return fmt.Errorf("asset: unassign seat %d: %w", seatID, store.MapError(err))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM license_seats WHERE id = $1`, seatID); err != nil {
			return fmt.Errorf("asset: unassign seat: %w", err)
		}
		detail := joinNote("from "+st.Holder(), note)
		if err := s.licenseHistory(ctx, tx, licenseID, "unassigned", detail); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "license.unassign", "license", strconv.FormatInt(licenseID, 10), l.Product+": "+detail)
	})
}

// Publishers lists the publishers named on licenses, for the list's
// filter.
func (s *Service) Publishers(ctx context.Context) ([]string, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT DISTINCT publisher FROM licenses WHERE publisher <> '' ORDER BY publisher LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("asset: publishers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("asset: publishers: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
