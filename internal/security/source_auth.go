package security

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// auditPageLimit bounds how many audit entries one scan reads per source,
// so a flood of failed sign-ins cannot make a scan unbounded.
const auditPageLimit = 20_000

// newAddressLookback is how far back a user's sign-in addresses count as
// known.
const newAddressLookback = 30 * 24 * time.Hour

// ScanAuth reads opsdeck's own audit log and syncs three sources:
// brute-force attempts (failed sign-ins per username or address over a
// threshold within the window), sign-ins from an address the user has not
// signed in from within the last 30 days, and grants of the admin role.
// Each is a Sync of the whole window, so findings close by themselves once
// their events leave it.
func (s *Service) ScanAuth(ctx context.Context) error {
	now := s.now().UTC()
	if err := s.scanBruteForce(ctx, now); err != nil {
		return err
	}
	if err := s.scanNewAddresses(ctx, now); err != nil {
		return err
	}
	return s.scanAdminGrants(ctx, now)
}

// auditSince returns the entries of action since t, oldest first.
func (s *Service) auditSince(ctx context.Context, action string, since time.Time) ([]auth.AuditEntry, error) {
	var all []auth.AuditEntry
	var before int64
	for len(all) < auditPageLimit {
		page, next, err := auth.ListAudit(ctx, s.db, auth.AuditFilter{Action: action, Since: since, Before: before, Limit: 500})
		if err != nil {
			return nil, fmt.Errorf("security: read audit: %w", err)
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		before = next
	}
	slices.Reverse(all)
	return all, nil
}

func (s *Service) scanBruteForce(ctx context.Context, now time.Time) error {
	fails, err := s.auditSince(ctx, "session.login_failed", now.Add(-s.opts.BruteForceWindow))
	if err != nil {
		return err
	}
	byUser, byAddr := map[string][]time.Time{}, map[string][]time.Time{}
	for _, e := range fails {
		byUser[e.ActorName] = append(byUser[e.ActorName], e.At)
		if e.SourceAddr != "" {
			byAddr[e.SourceAddr] = append(byAddr[e.SourceAddr], e.At)
		}
	}
	window := s.opts.BruteForceWindow.String()
	var sigs []Signal
	add := func(kind, who string, ts []time.Time, limit int) {
		if len(ts) < limit {
			return
		}
		w := clipText(who, 80)
		sigs = append(sigs, Signal{Key: kind + ":" + clipText(who, 200), Severity: SeverityHigh,
			Title:    fmt.Sprintf("%d failed sign-ins for %s %q within %s", len(ts), kind, w, window),
			Evidence: map[string]any{kind: w, "failures": len(ts), "first": ts[0], "last": ts[len(ts)-1], "window": window}})
	}
	for _, u := range sortedKeys(byUser) {
		add("user", u, byUser[u], s.opts.BruteForceUser)
	}
	for _, a := range sortedKeys(byAddr) {
		add("address", a, byAddr[a], s.opts.BruteForceAddr)
	}
	return s.Sync(ctx, SourceBruteForce, "window", sigs)
}

func (s *Service) scanNewAddresses(ctx context.Context, now time.Time) error {
	logins, err := s.auditSince(ctx, "session.login", now.Add(-newAddressLookback))
	if err != nil {
		return err
	}
	known := map[int64]map[string]bool{}
	recent := now.Add(-s.opts.EventWindow)
	var sigs []Signal
	for _, e := range logins {
		if e.ActorID == 0 || e.SourceAddr == "" {
			continue
		}
		seen := known[e.ActorID]
		if seen == nil {
			seen = map[string]bool{}
			known[e.ActorID] = seen
		}
		if len(seen) > 0 && !seen[e.SourceAddr] && e.At.After(recent) {
			name, addr := clipText(e.ActorName, 80), clipText(e.SourceAddr, 80)
			sigs = append(sigs, Signal{Key: fmt.Sprintf("user:%d:%s", e.ActorID, addr), Severity: SeverityMedium,
				Title:    fmt.Sprintf("%s signed in from a new address, %s", name, addr),
				Evidence: map[string]any{"user": name, "address": addr, "at": e.At, "known_addresses": len(seen), "audit_id": e.ID}})
		}
		seen[e.SourceAddr] = true
	}
	return s.Sync(ctx, SourceNewAddress, "window", sigs)
}

func (s *Service) scanAdminGrants(ctx context.Context, now time.Time) error {
	changes, err := s.auditSince(ctx, "user.", now.Add(-s.opts.EventWindow))
	if err != nil {
		return err
	}
	var sigs []Signal
	for _, e := range changes {
		granted := (e.Action == "user.update" && strings.Contains(e.Detail, `role: "`) && strings.Contains(e.Detail, `-> "admin"`)) ||
			(e.Action == "user.create" && strings.Contains(e.Detail, "role=admin"))
		if !granted {
			continue
		}
		by := clipText(e.ActorName, 80)
		sigs = append(sigs, Signal{Key: fmt.Sprintf("audit:%d", e.ID), Severity: SeverityMedium,
			Title:    fmt.Sprintf("Admin role granted to user #%s by %s", clipText(e.TargetID, 40), by),
			Evidence: map[string]any{"user_id": e.TargetID, "by": by, "at": e.At, "action": e.Action, "detail": clipText(e.Detail, 500), "audit_id": e.ID}})
	}
	return s.Sync(ctx, SourceAdminGrant, "window", sigs)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
