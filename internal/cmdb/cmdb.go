// Package cmdb is opsdeck's configuration management database: configuration
// items (CIs) of typed kinds with attributes validated against their type's
// schema, typed directed relationships between them, impact analysis over
// the relationship graph (which business services a failing CI hurts), the
// history of every change, and links from other domains' objects (monitors,
// incidents, tickets, changes, assets) to CIs.
package cmdb

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Criticality says how much a CI matters to the business.
type Criticality string

// The criticalities, lowest first.
const (
	CriticalityLow      Criticality = "low"
	CriticalityMedium   Criticality = "medium"
	CriticalityHigh     Criticality = "high"
	CriticalityCritical Criticality = "critical"
)

// Criticalities lists every criticality, lowest first, for forms and help.
func Criticalities() []Criticality {
	return []Criticality{CriticalityLow, CriticalityMedium, CriticalityHigh, CriticalityCritical}
}

// Environment is where a CI runs.
type Environment string

// The environments.
const (
	EnvProd    Environment = "prod"
	EnvStaging Environment = "staging"
	EnvDev     Environment = "dev"
	EnvTest    Environment = "test"
)

// Environments lists every environment.
func Environments() []Environment { return []Environment{EnvProd, EnvStaging, EnvDev, EnvTest} }

// Status is where a CI is in its life.
type Status string

// The lifecycle statuses.
const (
	StatusPlanned     Status = "planned"
	StatusActive      Status = "active"
	StatusMaintenance Status = "maintenance"
	StatusRetired     Status = "retired"
)

// Statuses lists every lifecycle status in life order.
func Statuses() []Status {
	return []Status{StatusPlanned, StatusActive, StatusMaintenance, StatusRetired}
}

// CI is a configuration item: one thing that exists and that others may
// depend on.
type CI struct {
	ID          int64          `json:"id"`
	TypeID      int64          `json:"type_id"`
	Type        string         `json:"type"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	OwnerTeam   string         `json:"owner_team"`
	Criticality Criticality    `json:"criticality"`
	Environment Environment    `json:"environment"`
	Status      Status         `json:"status"`
	Attributes  map[string]any `json:"attributes"`
	Tags        []string       `json:"tags"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// CIInput is what creating or replacing a CI takes. Type is the type's key.
// Empty Criticality, Environment and Status take medium, prod and active.
type CIInput struct {
	Type        string         `json:"type"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	OwnerTeam   string         `json:"owner_team"`
	Criticality Criticality    `json:"criticality"`
	Environment Environment    `json:"environment"`
	Status      Status         `json:"status"`
	Attributes  map[string]any `json:"attributes"`
	Tags        []string       `json:"tags"`
}

// Limits on CI fields.
const (
	MaxName        = 200
	MaxDescription = 4000
	MaxTeam        = 200
	MaxTags        = 20
	MaxTag         = 64
)

var tagRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]*$`)

// normalize fills defaults and checks every field but the attributes, which
// need the type (see Schema.Check).
func (in *CIInput) normalize() error {
	in.Name = strings.TrimSpace(in.Name)
	in.OwnerTeam = strings.TrimSpace(in.OwnerTeam)
	if err := valid.Text("name", in.Name, true, MaxName, false); err != nil {
		return err
	}
	if err := valid.Text("description", in.Description, false, MaxDescription, true); err != nil {
		return err
	}
	if err := valid.Text("owner_team", in.OwnerTeam, false, MaxTeam, false); err != nil {
		return err
	}
	if in.Criticality == "" {
		in.Criticality = CriticalityMedium
	}
	if !slices.Contains(Criticalities(), in.Criticality) {
		return valid.Errorf("criticality", "must be one of low, medium, high, critical")
	}
	if in.Environment == "" {
		in.Environment = EnvProd
	}
	if !slices.Contains(Environments(), in.Environment) {
		return valid.Errorf("environment", "must be one of prod, staging, dev, test")
	}
	if in.Status == "" {
		in.Status = StatusActive
	}
	if !slices.Contains(Statuses(), in.Status) {
		return valid.Errorf("status", "must be one of planned, active, maintenance, retired")
	}
	tags, err := NormalizeTags(in.Tags)
	if err != nil {
		return err
	}
	in.Tags = tags
	return nil
}

// NormalizeTags lower-cases, sorts and de-duplicates tags and checks each:
// a letter or digit first, then letters, digits and _ . : -.
func NormalizeTags(tags []string) ([]string, error) {
	out := []string{}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if len(t) > MaxTag || !tagRE.MatchString(t) {
			return nil, valid.Errorf("tags", "%q is not a tag: use at most %d of a-z, 0-9, _ . : - starting with a letter or digit", clip(t, 80), MaxTag)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, valid.Errorf("tags", "at most %d tags", MaxTags)
	}
	slices.Sort(out)
	return out, nil
}

// clip shortens s for quoting in an error message.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// checkKey validates a machine name: a type, relationship type or attribute key.
func checkKey(field, k string) error {
	if !keyRE.MatchString(k) {
		return valid.Errorf(field, "must be 1 to 63 of a-z, 0-9 and _, starting with a letter")
	}
	return nil
}
