// Package asset keeps hardware and software assets: what the organization
// owns, where it is, who has it and where it stands in its lifecycle
// (ordered → in stock → deployed → in repair → retired → disposed). Each
// lifecycle move, check-out and check-in is recorded in the asset's history
// and audited in the same transaction. An asset may link to a CI of the
// CMDB (cmdb link kind "asset").
package asset

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Status is where an asset stands in its lifecycle.
type Status string

// The lifecycle states, in their usual order.
const (
	StatusOrdered  Status = "ordered"
	StatusInStock  Status = "in_stock"
	StatusDeployed Status = "deployed"
	StatusInRepair Status = "in_repair"
	StatusRetired  Status = "retired"
	StatusDisposed Status = "disposed"
)

// Statuses lists the lifecycle states in order.
func Statuses() []Status {
	return []Status{StatusOrdered, StatusInStock, StatusDeployed, StatusInRepair, StatusRetired, StatusDisposed}
}

// Label is the status as people read it.
func (s Status) Label() string {
	switch s {
	case StatusInStock:
		return "In stock"
	case StatusDeployed:
		return "Deployed"
	case StatusInRepair:
		return "In repair"
	case StatusOrdered:
		return "Ordered"
	case StatusRetired:
		return "Retired"
	case StatusDisposed:
		return "Disposed"
	}
	return string(s)
}

// transitions is the lifecycle: from each state, the states an asset may
// move to. An order arrives into stock; stock is deployed, repaired or
// retired; a deployed asset comes back to stock, goes to repair or is
// retired; a repaired asset goes back to stock or to its user; a retired
// asset is disposed of or, if retired by mistake, put back in stock. A
// disposed asset is gone: nothing follows.
var transitions = map[Status][]Status{
	StatusOrdered:  {StatusInStock},
	StatusInStock:  {StatusDeployed, StatusInRepair, StatusRetired},
	StatusDeployed: {StatusInStock, StatusInRepair, StatusRetired},
	StatusInRepair: {StatusInStock, StatusDeployed, StatusRetired},
	StatusRetired:  {StatusInStock, StatusDisposed},
	StatusDisposed: nil,
}

// CanMove reports whether the lifecycle allows moving from one state to
// another.
func CanMove(from, to Status) bool { return slices.Contains(transitions[from], to) }

// Next lists the states an asset in s may move to.
func Next(s Status) []Status { return slices.Clone(transitions[s]) }

// keepsAssignment reports whether an asset in s keeps its user or location:
// a deployed asset has one, and so does one in repair (it goes back to the
// same person). Every other state clears it.
func keepsAssignment(s Status) bool { return s == StatusDeployed || s == StatusInRepair }

// ParseStatus checks a status from outside input.
func ParseStatus(field, s string) (Status, error) {
	st := Status(strings.TrimSpace(s))
	if !slices.Contains(Statuses(), st) {
		return "", valid.Errorf(field, "must be one of ordered, in_stock, deployed, in_repair, retired, disposed")
	}
	return st, nil
}

// Kind says whether an asset is hardware or software.
type Kind string

// The kinds of asset.
const (
	KindHardware Kind = "hardware"
	KindSoftware Kind = "software"
)

// Kinds lists the kinds of asset.
func Kinds() []Kind { return []Kind{KindHardware, KindSoftware} }

// UserRef names a user an asset belongs to or is assigned to.
type UserRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// CIRef is the CMDB item an asset is linked to.
type CIRef struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	LinkID int64  `json:"link_id"`
}

// Asset is one hardware or software asset.
type Asset struct {
	ID               int64    `json:"id"`
	Tag              string   `json:"tag"`
	Kind             Kind     `json:"kind"`
	Status           Status   `json:"status"`
	Serial           string   `json:"serial"`
	Model            string   `json:"model"`
	Manufacturer     string   `json:"manufacturer"`
	Category         string   `json:"category"`
	Location         string   `json:"location"`
	Owner            *UserRef `json:"owner"`
	Assignee         *UserRef `json:"assignee"`
	AssignedLocation string   `json:"assigned_location"`
	// CostCents is the purchase cost in the currency's minor unit; nil when
	// unknown.
	CostCents    *int64    `json:"cost_cents"`
	Currency     string    `json:"currency"`
	Supplier     string    `json:"supplier"`
	PurchaseDate string    `json:"purchase_date"`
	WarrantyEnd  string    `json:"warranty_end"`
	LeaseEnd     string    `json:"lease_end"`
	Notes        string    `json:"notes"`
	CI           *CIRef    `json:"ci"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Cost formats the cost as "1234.56 EUR", or "" when unknown.
func (a Asset) Cost() string { return costText(a.CostCents, a.Currency) }

// costText formats cents and currency as "1234.56 EUR", or "" when unknown.
func costText(cents *int64, currency string) string {
	if cents == nil {
		return ""
	}
	return strings.TrimSpace(FormatCents(*cents) + " " + currency)
}

// CheckedOutTo says who or where has the asset, or "".
func (a Asset) CheckedOutTo() string {
	if a.Assignee != nil {
		return a.Assignee.Username
	}
	return a.AssignedLocation
}

// Input is what creating or editing an asset takes. Status is used on
// create only (default in_stock); an existing asset moves through
// Transition, Checkout and Checkin. CIID 0 means no linked CI.
type Input struct {
	Tag          string `json:"tag"`
	Kind         Kind   `json:"kind"`
	Status       Status `json:"status"`
	Serial       string `json:"serial"`
	Model        string `json:"model"`
	Manufacturer string `json:"manufacturer"`
	Category     string `json:"category"`
	Location     string `json:"location"`
	OwnerID      int64  `json:"owner_id"`
	CostCents    *int64 `json:"cost_cents"`
	Currency     string `json:"currency"`
	Supplier     string `json:"supplier"`
	PurchaseDate string `json:"purchase_date"`
	WarrantyEnd  string `json:"warranty_end"`
	LeaseEnd     string `json:"lease_end"`
	Notes        string `json:"notes"`
	CIID         int64  `json:"ci_id"`
}

// search is what the text filter matches: the identifying fields,
// lowercased, separated by a character no pattern crosses.
func (in Input) search() string {
	return SearchText(in.Tag, in.Serial, in.Model, in.Manufacturer)
}

// SearchText builds the stored search text of an asset (bulk loaders that
// write rows directly call it too).
func SearchText(tag, serial, model, manufacturer string) string {
	return strings.ToLower(tag + "\x1f" + serial + "\x1f" + model + "\x1f" + manufacturer)
}

// normalize trims and checks in, naming the first bad field.
func (in *Input) normalize(create bool) error {
	for _, p := range []*string{&in.Tag, &in.Serial, &in.Model, &in.Manufacturer, &in.Category, &in.Location, &in.Currency,
		&in.Supplier, &in.PurchaseDate, &in.WarrantyEnd, &in.LeaseEnd} {
		*p = strings.TrimSpace(*p)
	}
	in.Currency = strings.ToUpper(in.Currency)
	if err := valid.Text("tag", in.Tag, true, 64, false); err != nil {
		return err
	}
	if in.Kind == "" {
		in.Kind = KindHardware
	}
	if !slices.Contains(Kinds(), in.Kind) {
		return valid.Errorf("kind", "must be hardware or software")
	}
	if create {
		if in.Status == "" {
			in.Status = StatusInStock
		}
		if _, err := ParseStatus("status", string(in.Status)); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{{"serial", in.Serial, 128}, {"model", in.Model, 200}, {"manufacturer", in.Manufacturer, 200}, {"category", in.Category, 100},
		{"location", in.Location, 200}, {"supplier", in.Supplier, 200}} {
		if err := valid.Text(f.name, f.v, false, f.max, false); err != nil {
			return err
		}
	}
	if err := valid.Text("notes", in.Notes, false, 10000, true); err != nil {
		return err
	}
	if in.OwnerID < 0 {
		return valid.Errorf("owner_id", "must be a user id")
	}
	if in.CIID < 0 {
		return valid.Errorf("ci_id", "must be a CI id")
	}
	if err := checkCost(in.CostCents, in.Currency); err != nil {
		return err
	}
	for _, d := range []struct{ name, v string }{{"purchase_date", in.PurchaseDate}, {"warranty_end", in.WarrantyEnd}, {"lease_end", in.LeaseEnd}} {
		if err := checkDate(d.name, d.v); err != nil {
			return err
		}
	}
	if in.PurchaseDate != "" && in.WarrantyEnd != "" && in.WarrantyEnd < in.PurchaseDate {
		return valid.Errorf("warranty_end", "is before the purchase date")
	}
	return nil
}

// checkCost checks a cost and its currency: not negative, an ISO code,
// and a currency whenever there is a cost.
func checkCost(cents *int64, currency string) error {
	if cents != nil && *cents < 0 {
		return valid.Errorf("cost", "must not be negative")
	}
	if currency != "" && !isCurrency(currency) {
		return valid.Errorf("currency", "must be a three-letter ISO 4217 code such as EUR or USD")
	}
	if cents != nil && currency == "" {
		return valid.Errorf("currency", "is required with a cost")
	}
	return nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// dateLayout is how asset dates are written and stored.
const dateLayout = "2006-01-02"

func checkDate(field, s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(dateLayout, s); err != nil {
		return valid.Errorf(field, "must be a date written YYYY-MM-DD")
	}
	return nil
}

// ParseCost reads a cost written as people write it ("1234", "1234.5",
// "1,234.56") into cents; "" is no cost.
func ParseCost(field, s string) (*int64, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	if s == "" {
		return nil, nil
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && (frac == "" || len(frac) > 2)) || strings.Trim(whole+frac, "0123456789") != "" || len(whole) > 13 {
		return nil, valid.Errorf(field, "must be an amount such as 1234.56")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return nil, valid.Errorf(field, "must be an amount such as 1234.56")
	}
	return &n, nil
}

// FormatCents writes cents as "1234.56".
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// Change is one entry of an asset's history.
type Change struct {
	ID      int64     `json:"id"`
	AssetID int64     `json:"asset_id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	From    Status    `json:"from_status,omitempty"`
	To      Status    `json:"to_status,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// Sorts lists the list orders: by tag, by last change, by warranty end.
func Sorts() []string {
	return []string{"tag", "-tag", "updated", "-updated", "warranty", "-warranty"}
}

// ListFilter selects assets. Zero fields do not filter. WarrantyWithin
// keeps assets whose warranty ends in the next so many days (today
// included); ExpiringWithin keeps assets in use (not retired or disposed)
// whose warranty or lease ends in that window, as Expiring does.
type ListFilter struct {
	Status         Status
	Category       string
	Location       string
	AssigneeID     int64
	WarrantyWithin int
	ExpiringWithin int
	Query          string
	Sort           string
	After          int64
	Limit          int
}
