// Package security keeps security findings: one model for every signal an
// operations team owns (expiring certificates, brute-force attempts, logins
// from new addresses, admin grants, pending security updates on hosts),
// deduplicated per source and key, closed automatically when the signal goes
// away, and raised into the incident pipeline at or above a set severity.
package security

import (
	"errors"

	"encoding/json"
	"github.com/opsdeck/opsdeck/internal/store"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Severity is how bad a finding is.
type Severity string

// The severities, lowest first.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// AllSeverities lists the severities, highest first, for pages and forms.
func AllSeverities() []Severity {
	return []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}
}

// Rank orders severities; unknown ones are 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityLow:
		return 2
	case SeverityMedium:
		return 3
	case SeverityHigh:
		return 4
	case SeverityCritical:
		return 5
	}
	return 0
}

// ParseSeverity checks a severity from outside input.
func ParseSeverity(field, s string) (Severity, error) {
	sev := Severity(s)
	if sev.Rank() == 0 {
		return "", valid.Errorf(field, "must be one of critical, high, medium, low, info")
	}
	return sev, nil
}

// Status is where a finding stands.
type Status string

// The statuses of a finding.
const (
	StatusOpen     Status = "open"
	StatusAccepted Status = "accepted" // accepted risk, with reason, who and until
	StatusFixed    Status = "fixed"
)

// Finding is one security signal, deduplicated by (Source, Key).
type Finding struct {
	ID       int64           `json:"id"`
	Source   string          `json:"source"`
	Scope    string          `json:"scope"`
	Key      string          `json:"key"`
	Title    string          `json:"title"`
	Severity Severity        `json:"severity"`
	CIID     int64           `json:"ci_id,omitempty"`
	Status   Status          `json:"status"`
	Evidence json.RawMessage `json:"evidence"`
	// FirstSeen is when the signal first appeared; LastSeen when a source
	// last reported it.
	FirstSeen time.Time  `json:"first_seen"`
	LastSeen  time.Time  `json:"last_seen"`
	FixedAt   *time.Time `json:"fixed_at,omitempty"`
	// AcceptedReason, AcceptedBy and AcceptedUntil describe an accepted
	// risk; the finding opens again after AcceptedUntil.
	AcceptedReason string     `json:"accepted_reason,omitempty"`
	AcceptedBy     string     `json:"accepted_by,omitempty"`
	AcceptedUntil  *time.Time `json:"accepted_until,omitempty"`
}

// Signal is what a source reports: one finding as it stands now.
type Signal struct {
	// Key deduplicates within the source: the same key is the same finding.
	Key      string
	Title    string
	Severity Severity
	// CIID is the CMDB item concerned, 0 for none (opsdeck itself).
	CIID int64
	// Evidence is shown with the finding; it must marshal to a JSON object.
	Evidence map[string]any
}

// Limits on what a source may store.
const (
	maxKey      = 300
	maxTitle    = 300
	maxName     = 100
	maxEvidence = 16 << 10
	maxSignals  = 10_000
	maxReason   = 1000
)

func checkName(field, s string) error {
	if err := valid.Text(field, s, true, maxName, false); err != nil {
		return err
	}
	if strings.ContainsAny(s, " \t") {
		return valid.Errorf(field, "must not contain spaces")
	}
	return nil
}

// check validates sig and returns its evidence as JSON.
func (sig Signal) check(field string) ([]byte, error) {
	if err := valid.Text(field+".key", sig.Key, true, maxKey, false); err != nil {
		return nil, err
	}
	if err := valid.Text(field+".title", sig.Title, true, maxTitle, false); err != nil {
		return nil, err
	}
	if _, err := ParseSeverity(field+".severity", string(sig.Severity)); err != nil {
		return nil, err
	}
	if sig.CIID < 0 {
		return nil, valid.Errorf(field+".ci_id", "must not be negative")
	}
	ev := sig.Evidence
	if ev == nil {
		ev = map[string]any{}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, valid.Errorf(field+".evidence", "cannot be stored: %v", err)
	}
	if len(b) > maxEvidence {
		return nil, valid.Errorf(field+".evidence", "is larger than %d KiB", maxEvidence>>10)
	}
	return b, nil
}

// The sources opsdeck feeds itself, and the one the host agent's updates
// arrive under.
const (
	SourceTLS        = "tls"
	SourceBruteForce = "brute-force"
	SourceNewAddress = "new-address"
	SourceAdminGrant = "admin-grant"
	// SourceAgentUpdates is the host agent's pending security updates:
	// Sync(ctx, SourceAgentUpdates, "ci:<id>", signals) with one signal per
	// pending update (Key "ci:<id>/<package>", CIID the host's CI), the whole
	// list each time the agent reports, so installed updates are fixed.
	SourceAgentUpdates = "agent-updates"
	// SourceAgentSoftware is risky software the host agent found installed
	// (security.risky_packages): Sync(ctx, SourceAgentSoftware, "ci:<id>",
	// signals) with one signal per risky package (Key "ci:<id>/<package>",
	// so each host has its own), the whole set each time the inventory
	// changes, so a removed package is fixed.
	SourceAgentSoftware = "agent-software"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
