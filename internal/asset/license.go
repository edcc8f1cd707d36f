package asset

import (
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// LicenseType says how a license is counted and paid for.
type LicenseType string

// The license types. Per device and per user licenses count seats; a site
// license covers every installation (it is never over-used); subscriptions
// and perpetual licenses count seats and differ in whether they expire.
const (
	LicensePerDevice    LicenseType = "per_device"
	LicensePerUser      LicenseType = "per_user"
	LicenseSite         LicenseType = "site"
	LicenseSubscription LicenseType = "subscription"
	LicensePerpetual    LicenseType = "perpetual"
)

// LicenseTypes lists the license types.
func LicenseTypes() []LicenseType {
	return []LicenseType{LicensePerDevice, LicensePerUser, LicenseSite, LicenseSubscription, LicensePerpetual}
}

// Label is the type as people read it.
func (t LicenseType) Label() string {
	switch t {
	case LicensePerDevice:
		return "Per seat / device"
	case LicensePerUser:
		return "Per user"
	case LicenseSite:
		return "Site"
	case LicenseSubscription:
		return "Subscription"
	case LicensePerpetual:
		return "Perpetual"
	}
	return string(t)
}

// Limits of a license's fields.
const (
	MaxLicenseSeats = 10_000_000
	MaxPatterns     = 20
	MaxPatternLen   = 100
	MaxLicenseKey   = 4000
)

// License is one software license bought. Its key is never part of the
// value: KeyHint shows its last characters, and RevealLicenseKey (audited)
// returns it.
type License struct {
	ID        int64       `json:"id"`
	Product   string      `json:"product"`
	Publisher string      `json:"publisher"`
	Type      LicenseType `json:"license_type"`
	// Seats is how many seats were bought (ignored for a site license).
	Seats int64 `json:"seats"`
	// HasKey says a key is stored; KeyHint is it masked ("••••1A2B").
	HasKey       bool   `json:"has_key"`
	KeyHint      string `json:"license_key_masked"`
	PurchaseDate string `json:"purchase_date"`
	CostCents    *int64 `json:"cost_cents"`
	Currency     string `json:"currency"`
	Supplier     string `json:"supplier"`
	// Expires is the expiry or renewal date, "" for none.
	Expires string `json:"expires"`
	Notes   string `json:"notes"`
	// Patterns decide which installed packages count: globs matched
	// case-insensitively against whole package names.
	Patterns  []string  `json:"patterns"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Cost formats the cost as "1234.56 EUR", or "" when unknown.
func (l License) Cost() string { return costText(l.CostCents, l.Currency) }

// Unlimited reports whether the license covers any number of
// installations (a site license).
func (l License) Unlimited() bool { return l.Type == LicenseSite }

// maskKey shows the last four characters of a long key, nothing of a
// short one.
func maskKey(key string) string {
	if key == "" {
		return ""
	}
	r := []rune(key)
	if len(r) < 12 {
		return "••••••••"
	}
	return "••••••••" + string(r[len(r)-4:])
}

// LicenseInput is what creating or editing a license takes. LicenseKey nil
// keeps the stored key on an edit; "" removes it.
type LicenseInput struct {
	Product      string      `json:"product"`
	Publisher    string      `json:"publisher"`
	Type         LicenseType `json:"license_type"`
	Seats        int64       `json:"seats"`
	LicenseKey   *string     `json:"license_key"`
	PurchaseDate string      `json:"purchase_date"`
	CostCents    *int64      `json:"cost_cents"`
	Currency     string      `json:"currency"`
	Supplier     string      `json:"supplier"`
	Expires      string      `json:"expires"`
	Notes        string      `json:"notes"`
	Patterns     []string    `json:"patterns"`
}

func (in LicenseInput) search() string {
	return strings.ToLower(in.Product + "\x1f" + in.Publisher)
}

// normalize trims and checks in, naming the first bad field.
func (in *LicenseInput) normalize() error {
	for _, p := range []*string{&in.Product, &in.Publisher, &in.Currency, &in.Supplier, &in.PurchaseDate, &in.Expires} {
		*p = strings.TrimSpace(*p)
	}
	in.Currency = strings.ToUpper(in.Currency)
	if err := valid.Text("product", in.Product, true, 200, false); err != nil {
		return err
	}
	if err := valid.Text("publisher", in.Publisher, false, 200, false); err != nil {
		return err
	}
	if in.Type == "" {
		in.Type = LicensePerDevice
	}
	if !slices.Contains(LicenseTypes(), in.Type) {
		return valid.Errorf("license_type", "must be one of per_device, per_user, site, subscription, perpetual")
	}
	if in.Seats < 0 {
		return valid.Errorf("seats", "must not be negative")
	}
	if in.Seats > MaxLicenseSeats {
		return valid.Errorf("seats", "must be at most %d", MaxLicenseSeats)
	}
	if in.Seats == 0 && in.Type != LicenseSite {
		return valid.Errorf("seats", "say how many seats were bought (a site license needs none)")
	}
	if in.LicenseKey != nil {
		k := strings.TrimSpace(*in.LicenseKey)
		in.LicenseKey = &k
		if err := valid.Text("license_key", k, false, MaxLicenseKey, true); err != nil {
			return err
		}
	}
	if err := valid.Text("supplier", in.Supplier, false, 200, false); err != nil {
		return err
	}
	if err := valid.Text("notes", in.Notes, false, 10000, true); err != nil {
		return err
	}
	if err := checkCost(in.CostCents, in.Currency); err != nil {
		return err
	}
	for _, d := range []struct{ name, v string }{{"purchase_date", in.PurchaseDate}, {"expires", in.Expires}} {
		if err := checkDate(d.name, d.v); err != nil {
			return err
		}
	}
	if in.PurchaseDate != "" && in.Expires != "" && in.Expires < in.PurchaseDate {
		return valid.Errorf("expires", "is before the purchase date")
	}
	ps, err := ParsePatterns("patterns", in.Patterns)
	if err != nil {
		return err
	}
	in.Patterns = ps
	return nil
}

// ParsePatterns checks a license's software match rule: 1 to MaxPatterns
// globs, each a package name with * (any run of characters) and ?
// (one character), holding at least one letter or digit so no rule counts
// every package. They are lowercased, trimmed, and duplicates dropped.
func ParsePatterns(field string, in []string) ([]string, error) {
	var out []string
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" || slices.Contains(out, p) {
			continue
		}
		if err := checkPattern(field, p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, valid.Errorf(field, "give at least one package name pattern, such as libreoffice*")
	}
	if len(out) > MaxPatterns {
		return nil, valid.Errorf(field, "at most %d patterns", MaxPatterns)
	}
	return out, nil
}

func checkPattern(field, p string) error {
	if len(p) > MaxPatternLen {
		return valid.Errorf(field, "a pattern is at most %d characters", MaxPatternLen)
	}
	literal := false
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			literal = true
		case strings.ContainsRune(".+-_:~@", r) || r == '*' || r == '?':
		default:
			return valid.Errorf(field, "%q: a pattern holds letters, digits, . + - _ : ~ @ and the wildcards * and ? (no spaces)", clip(p, 40))
		}
	}
	if !literal {
		return valid.Errorf(field, "%q would match every package: name the product, such as libreoffice*", clip(p, 40))
	}
	return nil
}

// SplitPatterns reads patterns written one per line or separated by
// commas or spaces (the form's text box).
func SplitPatterns(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' })
}

// MatchPattern reports whether the package name matches the glob pattern,
// case-insensitively: * is any run of characters, ? one character, and the
// whole name must match. It runs in O(len(pattern)·len(name)) at worst (no
// exponential backtracking on patterns like a*a*a*a*b).
func MatchPattern(pattern, name string) bool {
	p, n := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(name))
	pi, ni := 0, 0
	star, mark := -1, 0
	for ni < len(n) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ni
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == n[ni]):
			pi++
			ni++
		case star >= 0:
			// Let the last star swallow one more character and retry.
			mark++
			pi, ni = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// MatchAny reports whether name matches one of the patterns.
func MatchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if MatchPattern(p, name) {
			return true
		}
	}
	return false
}

// LicenseChange is one entry of a license's history.
type LicenseChange struct {
	ID        int64     `json:"id"`
	LicenseID int64     `json:"license_id"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Detail    string    `json:"detail,omitempty"`
}

// AssetRef names the asset a seat is assigned to.
type AssetRef struct {
	ID  int64  `json:"id"`
	Tag string `json:"tag"`
}

// Seat is one seat of a license given to a user or to an asset.
type Seat struct {
	ID         int64     `json:"id"`
	LicenseID  int64     `json:"license_id"`
	User       *UserRef  `json:"user,omitempty"`
	Asset      *AssetRef `json:"asset,omitempty"`
	AssignedAt time.Time `json:"assigned_at"`
	AssignedBy string    `json:"assigned_by"`
	Note       string    `json:"note,omitempty"`
}

// Holder says who or what has the seat.
func (s Seat) Holder() string {
	if s.User != nil {
		return "user " + s.User.Username
	}
	if s.Asset != nil {
		return "asset " + s.Asset.Tag
	}
	return ""
}
