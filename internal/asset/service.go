package asset

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Options configures a Service.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// CMDB links assets to CIs; nil refuses a linked CI.
	CMDB *cmdb.Service
	// WarnDays is how many days ahead a warranty or lease end is flagged
	// on the list; 30 when zero.
	WarnDays int
	// Installations is the host agents' software inventory: the installed
	// packages whose names match one of the patterns (globs, see
	// MatchPattern). License compliance counts them; nil means there is no
	// agent data, and the license pages say so.
	Installations func(ctx context.Context, patterns []string) ([]Installation, error)
}

// Service keeps the assets.
type Service struct {
	db   *store.DB
	opts Options
}

// NewService builds the asset service on db.
func NewService(db *store.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WarnDays <= 0 {
		opts.WarnDays = 30
	}
	return &Service{db: db, opts: opts}
}

// WarnDays is how many days ahead expiry is flagged.
func (s *Service) WarnDays() int { return s.opts.WarnDays }

// Refusal is a request refused for a reason other than bad input (a
// lifecycle move the table does not allow); the web layer answers 409.
type Refusal struct{ Msg string }

func (e *Refusal) Error() string { return e.Msg }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

func (s *Service) today() string { return s.now().Format(dateLayout) }

const assetCols = `a.id, a.tag, a.kind, a.status, a.serial, a.model, a.manufacturer, a.category, a.location,
	a.owner_id, o.username, a.assignee_id, u.username, a.assigned_location, a.cost_cents, a.currency, a.supplier,
	a.purchase_date, a.warranty_end, a.lease_end, a.notes, a.created_at, a.updated_at`

const assetFrom = ` FROM assets a LEFT JOIN users o ON o.id = a.owner_id LEFT JOIN users u ON u.id = a.assignee_id`

func scanAsset(row interface{ Scan(...any) error }) (Asset, error) {
	var a Asset
	var kind, st string
	var ownerID, assigneeID, cost sql.NullInt64
	var ownerName, assigneeName sql.NullString
	err := row.Scan(&a.ID, &a.Tag, &kind, &st, &a.Serial, &a.Model, &a.Manufacturer, &a.Category, &a.Location,
		&ownerID, &ownerName, &assigneeID, &assigneeName, &a.AssignedLocation, &cost, &a.Currency, &a.Supplier,
		&a.PurchaseDate, &a.WarrantyEnd, &a.LeaseEnd, &a.Notes, &a.CreatedAt, &a.UpdatedAt)
	a.Kind, a.Status = Kind(kind), Status(st)
	if ownerID.Valid {
		a.Owner = &UserRef{ID: ownerID.Int64, Username: ownerName.String}
	}
	if assigneeID.Valid {
		a.Assignee = &UserRef{ID: assigneeID.Int64, Username: assigneeName.String}
	}
	if cost.Valid {
		a.CostCents = &cost.Int64
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

// Get returns the asset with id, with its linked CI.
func (s *Service) Get(ctx context.Context, id int64) (Asset, error) {
	a, err := s.get(ctx, s.db.R, id)
	if err != nil {
		return a, err
	}
	return a, s.fillCI(ctx, &a)
}

// GetByTag returns the asset with tag.
func (s *Service) GetByTag(ctx context.Context, tag string) (Asset, error) {
	a, err := scanAsset(s.db.R.QueryRowContext(ctx, `SELECT `+assetCols+assetFrom+` WHERE a.tag = $1`, strings.TrimSpace(tag)))
	if err != nil {
		return a, fmt.Errorf("asset: get %q: %w", tag, store.MapError(err))
	}
	return a, s.fillCI(ctx, &a)
}

func (s *Service) get(ctx context.Context, q store.Querier, id int64) (Asset, error) {
	a, err := scanAsset(q.QueryRowContext(ctx, `SELECT `+assetCols+assetFrom+` WHERE a.id = $1`, id))
	if err != nil {
		return a, fmt.Errorf("asset: get %d: %w", id, store.MapError(err))
	}
	return a, nil
}

func (s *Service) fillCI(ctx context.Context, a *Asset) error {
	if s.opts.CMDB == nil {
		return nil
	}
	links, err := s.opts.CMDB.LinksOf(ctx, cmdb.LinkAsset, a.ID)
	if err != nil {
		return fmt.Errorf("asset: linked CI: %w", err)
	}
	if len(links) > 0 {
		a.CI = &CIRef{ID: links[0].CI.ID, Name: links[0].CI.Name, LinkID: links[0].ID}
	}
	return nil
}

// checkRefs confirms the owner and the CI named by in exist.
func (s *Service) checkRefs(ctx context.Context, q store.Querier, in Input) error {
	if in.OwnerID != 0 {
		if err := checkUser(ctx, q, "owner_id", in.OwnerID); err != nil {
			return err
		}
	}
	if in.CIID != 0 {
		if s.opts.CMDB == nil {
			return valid.Errorf("ci_id", "the CMDB is not enabled on this server")
		}
		if _, err := s.opts.CMDB.Get(ctx, in.CIID); errors.Is(err, store.ErrNotFound) {
			return valid.Errorf("ci_id", "no configuration item has id %d", in.CIID)
		} else if err != nil {
			return fmt.Errorf("asset: check CI: %w", err)
		}
	}
	return nil
}

func checkUser(ctx context.Context, q store.Querier, field string, id int64) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, id).Scan(&one)
	if errors.Is(store.MapError(err), store.ErrNotFound) {
		return valid.Errorf(field, "no user has id %d", id)
	}
	if err != nil {
		return fmt.Errorf("asset: check user: %w", err)
	}
	return nil
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullCost(c *int64) any {
	if c == nil {
		return nil
	}
	return *c
}

// Create adds an asset. The CI link is made after the asset commits (the
// CMDB writes links in its own transaction).
func (s *Service) Create(ctx context.Context, in Input) (Asset, error) {
	if err := in.normalize(true); err != nil {
		return Asset{}, err
	}
	if err := s.checkRefs(ctx, s.db.R, in); err != nil {
		return Asset{}, err
	}
	var id int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.insert(ctx, tx, in)
		return err
	})
	if err != nil {
		return Asset{}, err
	}
	return s.afterWrite(ctx, id, 0, in.CIID)
}

// insert writes a new asset with its history and audit entries.
func (s *Service) insert(ctx context.Context, tx *sql.Tx, in Input) (int64, error) {
	if in.OwnerID != 0 {
		if err := checkUser(ctx, tx, "owner_id", in.OwnerID); err != nil {
			return 0, err
		}
	}
	now := s.now()
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO assets (tag, kind, status, serial, model, manufacturer, category, location, owner_id,
		cost_cents, currency, supplier, purchase_date, warranty_end, lease_end, notes, search, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id`,
		in.Tag, string(in.Kind), string(in.Status), in.Serial, in.Model, in.Manufacturer, in.Category, in.Location, nullInt(in.OwnerID),
		nullCost(in.CostCents), in.Currency, in.Supplier, in.PurchaseDate, in.WarrantyEnd, in.LeaseEnd, in.Notes, in.search(), now).Scan(&id)
	if errors.Is(store.MapError(err), store.ErrConflict) {
		return 0, valid.Errorf("tag", "%q is already the tag of another asset", in.Tag)
	}
	if err != nil {
		return 0, fmt.Errorf("asset: create: %w", store.MapError(err))
	}
	if err := s.history(ctx, tx, id, "created", "", in.Status, ""); err != nil {
		return 0, err
	}
	return id, auth.Audit(ctx, tx, "asset.create", "asset", strconv.FormatInt(id, 10), in.Tag)
}

// afterWrite moves the CI link of asset id from oldCI to newCI (0 = none)
// and returns the asset as stored.
func (s *Service) afterWrite(ctx context.Context, id, oldLink, newCI int64) (Asset, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return a, err
	}
	cur := int64(0)
	if a.CI != nil {
		cur = a.CI.ID
	}
	if cur == newCI || s.opts.CMDB == nil {
		return a, nil
	}
	if a.CI != nil {
		if err := s.opts.CMDB.Unlink(ctx, a.CI.LinkID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return a, fmt.Errorf("asset: unlink CI: %w", err)
		}
	}
	if newCI != 0 {
		if _, err := s.opts.CMDB.LinkObject(ctx, newCI, cmdb.LinkAsset, id); err != nil {
			return a, fmt.Errorf("asset: link CI: %w", err)
		}
	}
	return s.Get(ctx, id)
}

// Update replaces an asset's fields (not its status: see Transition) and
// records what changed in its history.
func (s *Service) Update(ctx context.Context, id int64, in Input) (Asset, error) {
	if err := in.normalize(false); err != nil {
		return Asset{}, err
	}
	if err := s.checkRefs(ctx, s.db.R, in); err != nil {
		return Asset{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		old, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.update(ctx, tx, old, in)
	})
	if err != nil {
		return Asset{}, err
	}
	return s.afterWrite(ctx, id, 0, in.CIID)
}

func (s *Service) update(ctx context.Context, tx *sql.Tx, old Asset, in Input) error {
	if in.OwnerID != 0 {
		if err := checkUser(ctx, tx, "owner_id", in.OwnerID); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE assets SET tag = $1, kind = $2, serial = $3, model = $4, manufacturer = $5, category = $6,
		location = $7, owner_id = $8, cost_cents = $9, currency = $10, supplier = $11, purchase_date = $12, warranty_end = $13,
		lease_end = $14, notes = $15, search = $16, updated_at = $17 WHERE id = $18`,
		in.Tag, string(in.Kind), in.Serial, in.Model, in.Manufacturer, in.Category, in.Location, nullInt(in.OwnerID),
		nullCost(in.CostCents), in.Currency, in.Supplier, in.PurchaseDate, in.WarrantyEnd, in.LeaseEnd, in.Notes, in.search(), s.now(), old.ID)
	if errors.Is(store.MapError(err), store.ErrConflict) {
		return valid.Errorf("tag", "%q is already the tag of another asset", in.Tag)
	}
	if err != nil {
		return fmt.Errorf("asset: update: %w", store.MapError(err))
	}
	changed := diff(old, in)
	if len(changed) == 0 {
		return nil
	}
	detail := strings.Join(changed, ", ")
	if err := s.history(ctx, tx, old.ID, "updated", "", "", detail); err != nil {
		return err
	}
	return auth.Audit(ctx, tx, "asset.update", "asset", strconv.FormatInt(old.ID, 10), in.Tag+": "+detail)
}

// diff names the fields in changes compared with a.
func diff(a Asset, in Input) []string {
	var out []string
	owner := int64(0)
	if a.Owner != nil {
		owner = a.Owner.ID
	}
	cost, newCost := "", ""
	if a.CostCents != nil {
		cost = FormatCents(*a.CostCents)
	}
	if in.CostCents != nil {
		newCost = FormatCents(*in.CostCents)
	}
	for _, f := range []struct {
		name     string
		old, new string
	}{{"tag", a.Tag, in.Tag}, {"kind", string(a.Kind), string(in.Kind)}, {"serial", a.Serial, in.Serial}, {"model", a.Model, in.Model},
		{"manufacturer", a.Manufacturer, in.Manufacturer}, {"category", a.Category, in.Category}, {"location", a.Location, in.Location},
		{"owner", strconv.FormatInt(owner, 10), strconv.FormatInt(in.OwnerID, 10)}, {"cost", cost, newCost}, {"currency", a.Currency, in.Currency},
		{"supplier", a.Supplier, in.Supplier}, {"purchase_date", a.PurchaseDate, in.PurchaseDate}, {"warranty_end", a.WarrantyEnd, in.WarrantyEnd},
		{"lease_end", a.LeaseEnd, in.LeaseEnd}, {"notes", a.Notes, in.Notes}} {
		if f.old != f.new {
			out = append(out, f.name)
		}
	}
	return out
}

// history records one change of an asset in tx.
func (s *Service) history(ctx context.Context, q store.Querier, id int64, action string, from, to Status, detail string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO asset_history (asset_id, at, actor, action, from_status, to_status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, s.now(), clip(auth.ActorFrom(ctx).Name, 200), action, string(from), string(to), clip(detail, 2000))
	if err != nil {
		return fmt.Errorf("asset: history: %w", err)
	}
	return nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// Transition moves an asset to another lifecycle state, if the lifecycle
// allows it (a *Refusal otherwise). Leaving deployed and in repair clears
// the assignment. note is kept in the history.
func (s *Service) Transition(ctx context.Context, id int64, to Status, note string) (Asset, error) {
	if _, err := ParseStatus("status", string(to)); err != nil {
		return Asset{}, err
	}
	if err := valid.Text("note", note, false, 2000, true); err != nil {
		return Asset{}, err
	}
	return s.move(ctx, id, "transition", func(a Asset) (Status, string, error) {
		if !CanMove(a.Status, to) {
			return "", "", refuse(a.Status, to)
		}
		if to == StatusDeployed && a.Assignee == nil && a.AssignedLocation == "" {
			return "", "", valid.Errorf("status", "a deployed asset is checked out to a user or a location: use check-out")
		}
		return to, note, nil
	}, nil)
}

func refuse(from, to Status) error {
	next := make([]string, 0, 3)
	for _, n := range Next(from) {
		next = append(next, n.Label())
	}
	if len(next) == 0 {
		return &Refusal{Msg: fmt.Sprintf("asset: a %s asset cannot change state", strings.ToLower(from.Label()))}
	}
	return &Refusal{Msg: fmt.Sprintf("asset: %s cannot move to %s (allowed: %s)", from.Label(), strings.ToLower(to.Label()), strings.Join(next, ", "))}
}

// Checkout hands an asset in stock to a user (userID) or a location: it
// becomes deployed.
func (s *Service) Checkout(ctx context.Context, id, userID int64, location, note string) (Asset, error) {
	location = strings.TrimSpace(location)
	if err := valid.Text("location", location, false, 200, false); err != nil {
		return Asset{}, err
	}
	if err := valid.Text("note", note, false, 2000, true); err != nil {
		return Asset{}, err
	}
	switch {
	case userID < 0:
		return Asset{}, valid.Errorf("user_id", "must be a user id")
	case userID == 0 && location == "":
		return Asset{}, valid.Errorf("user_id", "give a user or a location to check the asset out to")
	case userID != 0 && location != "":
		return Asset{}, valid.Errorf("location", "check out to a user or to a location, not both")
	}
	return s.move(ctx, id, "checkout", func(a Asset) (Status, string, error) {
		if a.Status != StatusInStock {
			return "", "", &Refusal{Msg: fmt.Sprintf("asset: only an asset in stock can be checked out; this one is %s (check it in first)", strings.ToLower(a.Status.Label()))}
		}
		to := location
		if userID != 0 {
			var name string
			err := s.db.R.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, userID).Scan(&name)
			if errors.Is(store.MapError(err), store.ErrNotFound) {
				return "", "", valid.Errorf("user_id", "no user has id %d", userID)
			} else if err != nil {
				return "", "", fmt.Errorf("asset: checkout: %w", err)
			}
			to = "user " + name
		}
		return StatusDeployed, joinNote("to "+to, note), nil
	}, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE assets SET assignee_id = $1, assigned_location = $2 WHERE id = $3`, nullInt(userID), location, id)
		return err
	})
}

// Checkin takes a deployed (or in repair) asset back into stock, clearing
// its user or location.
func (s *Service) Checkin(ctx context.Context, id int64, note string) (Asset, error) {
	if err := valid.Text("note", note, false, 2000, true); err != nil {
		return Asset{}, err
	}
	return s.move(ctx, id, "checkin", func(a Asset) (Status, string, error) {
		if a.Status != StatusDeployed && a.Status != StatusInRepair {
			return "", "", &Refusal{Msg: fmt.Sprintf("asset: only a deployed asset can be checked in; this one is %s", strings.ToLower(a.Status.Label()))}
		}
		return StatusInStock, joinNote("from "+a.CheckedOutTo(), note), nil
	}, nil)
}

func joinNote(what, note string) string {
	if note = strings.TrimSpace(note); note != "" {
		return what + ": " + note
	}
	return what
}

// move changes an asset's status in one transaction: decide reads the
// locked asset and returns the new status and the history detail; extra
// writes more in the same transaction.
func (s *Service) move(ctx context.Context, id int64, action string, decide func(Asset) (Status, string, error),
	extra func(context.Context, *sql.Tx) error) (Asset, error) {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Claim the row first (an UPDATE takes the write lock on both
		// engines), so two moves of one asset run one after the other.
		if _, err := tx.ExecContext(ctx, `UPDATE assets SET updated_at = $1 WHERE id = $2`, s.now(), id); err != nil {
			return fmt.Errorf("asset: %s: %w", action, err)
		}
		a, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		to, detail, err := decide(a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assets SET status = $1 WHERE id = $2`, string(to), id); err != nil {
			return fmt.Errorf("asset: %s: %w", action, err)
		}
		if extra != nil {
			if err := extra(ctx, tx); err != nil {
				return fmt.Errorf("asset: %s: %w", action, store.MapError(err))
			}
		}
		if !keepsAssignment(to) {
			if _, err := tx.ExecContext(ctx, `UPDATE assets SET assignee_id = NULL, assigned_location = '' WHERE id = $1`, id); err != nil {
				return fmt.Errorf("asset: %s: %w", action, err)
			}
		}
		if err := s.history(ctx, tx, id, action, a.Status, to, detail); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "asset."+action, "asset", strconv.FormatInt(id, 10), fmt.Sprintf("%s: %s → %s %s", a.Tag, a.Status, to, detail))
	})
	if err != nil {
		return Asset{}, err
	}
	return s.Get(ctx, id)
}

// History lists an asset's changes, newest first, before the change id
// before (0: from the newest); it returns the cursor of the next page.
func (s *Service) History(ctx context.Context, id, before int64, limit int) ([]Change, int64, error) {
	if _, err := s.get(ctx, s.db.R, id); err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	q := `SELECT id, asset_id, at, actor, action, from_status, to_status, detail FROM asset_history WHERE asset_id = $1`
	args := []any{id}
	if before > 0 {
		q += ` AND id < $2`
		args = append(args, before)
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("asset: history: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var from, to string
		if err := rows.Scan(&c.ID, &c.AssetID, &c.At, &c.Actor, &c.Action, &from, &to, &c.Detail); err != nil {
			return nil, 0, fmt.Errorf("asset: history: %w", err)
		}
		c.From, c.To, c.At = Status(from), Status(to), c.At.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("asset: history: %w", err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// Count returns how many assets there are.
func (s *Service) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM assets`).Scan(&n); err != nil {
		return 0, fmt.Errorf("asset: count: %w", err)
	}
	return n, nil
}
