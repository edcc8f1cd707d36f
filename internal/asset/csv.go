package asset

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// CSV limits: a file larger or longer than these is refused whole.
const (
	MaxCSVBytes = 16 << 20
	MaxCSVRows  = 100_000
)

// csvColumns are the columns of the CSV format, in export order. Import
// needs "tag" and takes any subset in any order; owner and assignee are
// usernames. assignee and assigned_location are written by export and
// refused by import (check-out has its own action); the CI link is not in
// the file.
var csvColumns = []string{"tag", "kind", "status", "serial", "model", "manufacturer", "category", "location", "owner", "assignee",
	"assigned_location", "cost", "currency", "supplier", "purchase_date", "warranty_end", "lease_end", "notes"}

var exportOnly = []string{"assignee", "assigned_location"}

// RowError is one problem of an import file: Row counts lines of the file
// (1 is the header), Column names the header cell ("" for the whole row).
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	Msg    string `json:"message"`
}

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Msg)
	}
	return fmt.Sprintf("row %d, column %s: %s", e.Row, e.Column, e.Msg)
}

// ImportReport says what an import did, or, on a dry run or with errors,
// what it would do. With any error nothing is written.
type ImportReport struct {
	DryRun  bool       `json:"dry_run"`
	Rows    int        `json:"rows"`
	Created int        `json:"created"`
	Updated int        `json:"updated"`
	Errors  []RowError `json:"errors"`
	// Truncated says more errors were found than the report lists.
	Truncated bool `json:"truncated,omitempty"`
}

// maxReported caps the errors an import report lists.
const maxReported = 1000

// ErrImportRefused is returned with a report holding row errors.
var ErrImportRefused = errors.New("asset: import refused: the file has errors; nothing was written")

// csvRow is one parsed data row: its line and its cells by column.
type csvRow struct {
	line  int
	cells map[string]string
}

// ParseCSV reads an import file: UTF-8 (a BOM is skipped), a header naming
// known columns, at most MaxCSVRows rows. It returns the rows and the
// problems found; it touches no database (the fuzz target calls it).
func ParseCSV(data []byte) ([]csvRow, []RowError) {
	if len(data) > MaxCSVBytes {
		return nil, []RowError{{Row: 0, Msg: fmt.Sprintf("the file is larger than %d MB", MaxCSVBytes>>20)}}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, []RowError{{Row: 0, Msg: "the file is not UTF-8 text; save it as CSV UTF-8"}}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err == io.EOF {
		return nil, []RowError{{Row: 1, Msg: "the file is empty; the first line must name the columns"}}
	}
	if err != nil {
		return nil, []RowError{{Row: 1, Msg: "not CSV: " + csvMsg(err)}}
	}
	var errs []RowError
	cols := make([]string, len(head))
	seen := map[string]bool{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		cols[i] = h
		switch {
		case h == "":
			errs = append(errs, RowError{Row: 1, Column: fmt.Sprintf("#%d", i+1), Msg: "the column has no name"})
		case !slices.Contains(csvColumns, h):
			errs = append(errs, RowError{Row: 1, Column: clip(h, 64), Msg: "is not a column of the asset CSV (" + strings.Join(csvColumns, ", ") + ")"})
		case slices.Contains(exportOnly, h):
			errs = append(errs, RowError{Row: 1, Column: h, Msg: "is written by export but not imported: use check-out"})
		case seen[h]:
			errs = append(errs, RowError{Row: 1, Column: h, Msg: "appears twice"})
		}
		seen[h] = true
	}
	if !seen["tag"] {
		errs = append(errs, RowError{Row: 1, Column: "tag", Msg: "is required: assets are matched on their tag"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var rows []csvRow
	read := 0
	tags := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, append(errs, RowError{Row: line, Msg: "not CSV: " + csvMsg(err)})
		}
		line, _ := r.FieldPos(0) // after the error check: FieldPos panics on a failed read

		if read++; read > MaxCSVRows {
			return nil, []RowError{{Row: line, Msg: fmt.Sprintf("the file has more than %d rows; split it", MaxCSVRows)}}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != len(cols) {
			errs = append(errs, RowError{Row: line, Msg: fmt.Sprintf("has %d cells for %d columns", len(rec), len(cols))})
			continue
		}
		row := csvRow{line: line, cells: map[string]string{}}
		for i, c := range cols {
			row.cells[c] = rec[i]
		}
		tag := strings.TrimSpace(row.cells["tag"])
		if first, dup := tags[tag]; dup && tag != "" {
			errs = append(errs, RowError{Row: line, Column: "tag", Msg: fmt.Sprintf("%q is also on row %d", clip(tag, 64), first)})
			continue
		}
		tags[tag] = line
		rows = append(rows, row)
	}
	return rows, errs
}

func csvMsg(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// fieldColumn maps Input's validation field names to CSV columns.
func fieldColumn(field string) string {
	switch field {
	case "owner_id":
		return "owner"
	}
	return field
}

// Import reads a CSV file and creates the assets whose tag is new and
// updates those whose tag exists (cells of columns the file lacks keep
// their values). Every row is checked first: with any error, the report
// lists them all (row and column), nothing is written and the error is
// ErrImportRefused. With dryRun nothing is written either. The writes run
// in one transaction: all rows or none.
func (s *Service) Import(ctx context.Context, data []byte, dryRun bool) (ImportReport, error) {
	rep := ImportReport{DryRun: dryRun, Errors: []RowError{}}
	rows, errs := ParseCSV(data)
	rep.Rows = len(rows)
	rep.Errors = append(rep.Errors, errs...)
	users, err := s.usernames(ctx)
	if err != nil {
		return rep, err
	}
	type plan struct {
		in  Input
		old *Asset
	}
	plans := make([]plan, 0, len(rows))
	for _, row := range rows {
		var p plan
		old, err := scanAsset(s.db.R.QueryRowContext(ctx, `SELECT `+assetCols+assetFrom+` WHERE a.tag = $1`, strings.TrimSpace(row.cells["tag"])))
		switch {
		case err == nil:
			p.old = &old
		case !errors.Is(store.MapError(err), store.ErrNotFound):
			return rep, fmt.Errorf("asset: import: %w", err)
		}
		in, rowErr := rowInput(row, p.old, users)
		if rowErr != nil {
			rep.Errors = append(rep.Errors, *rowErr)
			continue
		}
		if err := in.normalize(p.old == nil); err != nil {
			ve, ok := valid.As(err)
			if !ok {
				return rep, err
			}
			rep.Errors = append(rep.Errors, RowError{Row: row.line, Column: fieldColumn(ve.Field), Msg: ve.Msg})
			continue
		}
		p.in = in
		if p.old == nil {
			rep.Created++
		} else {
			rep.Updated++
		}
		plans = append(plans, p)
	}
	if len(rep.Errors) > 0 {
		rep.Created, rep.Updated = 0, 0
		if len(rep.Errors) > maxReported {
			rep.Errors, rep.Truncated = rep.Errors[:maxReported], true
		}
		return rep, ErrImportRefused
	}
	if dryRun {
		return rep, nil
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, p := range plans {
			if p.old == nil {
				if _, err := s.insert(ctx, tx, p.in); err != nil {
					return fmt.Errorf("asset: import %s: %w", p.in.Tag, err)
				}
			} else if err := s.update(ctx, tx, *p.old, p.in); err != nil {
				return fmt.Errorf("asset: import %s: %w", p.in.Tag, err)
			}
		}
		return auth.Audit(ctx, tx, "asset.import", "asset", "", fmt.Sprintf("%d created, %d updated", rep.Created, rep.Updated))
	})
	if err != nil {
		rep.Created, rep.Updated = 0, 0
	}
	return rep, err
}

// usernames maps every username to its user id.
func (s *Service) usernames(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, username FROM users`)
	if err != nil {
		return nil, fmt.Errorf("asset: users: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("asset: users: %w", err)
		}
		out[strings.ToLower(name)] = id
	}
	return out, rows.Err()
}

// rowInput builds the input of one row over the asset it updates (nil for
// a new one).
func rowInput(row csvRow, old *Asset, users map[string]int64) (Input, *RowError) {
	var in Input
	if old != nil {
		in = Input{Tag: old.Tag, Kind: old.Kind, Serial: old.Serial, Model: old.Model, Manufacturer: old.Manufacturer, Category: old.Category,
			Location: old.Location, CostCents: old.CostCents, Currency: old.Currency, Supplier: old.Supplier, PurchaseDate: old.PurchaseDate,
			WarrantyEnd: old.WarrantyEnd, LeaseEnd: old.LeaseEnd, Notes: old.Notes}
		if old.Owner != nil {
			in.OwnerID = old.Owner.ID
		}
	}
	fail := func(col, msg string) (Input, *RowError) { return in, &RowError{Row: row.line, Column: col, Msg: msg} }
	for col, v := range row.cells {
		switch col {
		case "tag":
			in.Tag = v
		case "kind":
			in.Kind = Kind(strings.ToLower(strings.TrimSpace(v)))
		case "status":
			st := Status(strings.ToLower(strings.TrimSpace(v)))
			if old != nil && st != "" && st != old.Status {
				return fail(col, fmt.Sprintf("is %s, not %s: an existing asset changes state through its lifecycle actions", old.Status, clip(string(st), 32)))
			}
			if old == nil {
				in.Status = st
			}
		case "serial":
			in.Serial = v
		case "model":
			in.Model = v
		case "manufacturer":
			in.Manufacturer = v
		case "category":
			in.Category = v
		case "location":
			in.Location = v
		case "owner":
			in.OwnerID = 0
			if name := strings.ToLower(strings.TrimSpace(v)); name != "" {
				id, ok := users[name]
				if !ok {
					return fail(col, fmt.Sprintf("%q is not a user", clip(v, 64)))
				}
				in.OwnerID = id
			}
		case "cost":
			c, err := ParseCost(col, v)
			if err != nil {
				return fail(col, "must be an amount such as 1234.56")
			}
			in.CostCents = c
		case "currency":
			in.Currency = v
		case "supplier":
			in.Supplier = v
		case "purchase_date":
			in.PurchaseDate = v
		case "warranty_end":
			in.WarrantyEnd = v
		case "lease_end":
			in.LeaseEnd = v
		case "notes":
			in.Notes = v
		}
	}
	return in, nil
}

// Export writes the assets matching f (all pages, by f's sort) as CSV
// with the columns of the import format. A cell a spreadsheet would run
// as a formula (starting with = + - @, tab or carriage return) gets a
// leading apostrophe.
func (s *Service) Export(ctx context.Context, w io.Writer, f ListFilter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return fmt.Errorf("asset: export: %w", err)
	}
	f.Limit, f.After = 1000, 0
	for {
		as, next, err := s.List(ctx, f)
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := cw.Write(exportRow(a)); err != nil {
				return fmt.Errorf("asset: export: %w", err)
			}
		}
		if next == 0 {
			break
		}
		f.After = next
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("asset: export: %w", err)
	}
	return nil
}

func exportRow(a Asset) []string {
	owner, assignee, cost := "", "", ""
	if a.Owner != nil {
		owner = a.Owner.Username
	}
	if a.Assignee != nil {
		assignee = a.Assignee.Username
	}
	if a.CostCents != nil {
		cost = FormatCents(*a.CostCents)
	}
	row := []string{a.Tag, string(a.Kind), string(a.Status), a.Serial, a.Model, a.Manufacturer, a.Category, a.Location, owner, assignee,
		a.AssignedLocation, cost, a.Currency, a.Supplier, a.PurchaseDate, a.WarrantyEnd, a.LeaseEnd, a.Notes}
	for i, c := range row {
		row[i] = SafeCell(c)
	}
	return row
}

// SafeCell defuses a CSV cell a spreadsheet would run as a formula.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
