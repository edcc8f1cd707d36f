package security

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Sync makes the findings of source within scope match signals, the
// complete set a source sees in that scope now:
//   - a signal with no finding opens one;
//   - a signal with a finding refreshes its title, severity, CI, evidence
//     and last_seen; a fixed finding that comes back opens again, and so
//     does an accepted one whose acceptance ran out;
//   - an open or accepted finding of source and scope whose key is absent
//     is fixed: its signal went away.
//
// A scope is the part of the source's world one report covers: "tls" reports
// per monitor ("monitor:ID"), the host agent per host ("ci:ID"), the
// sign-in scans their whole window ("window"). Keys are unique per source
// whatever the scope; a key reported under a new scope moves there.
func (s *Service) Sync(ctx context.Context, source, scope string, signals []Signal) error {
	return s.apply(ctx, source, scope, signals, true)
}

// Report opens or refreshes one finding without closing others of its
// scope: for sources that see one signal at a time.
func (s *Service) Report(ctx context.Context, source, scope string, sig Signal) error {
	return s.apply(ctx, source, scope, []Signal{sig}, false)
}

// alertStep is an incident to raise or clear once a change is committed.
type alertStep struct {
	raise bool
	f     Finding
	// prev is the severity before this change; "" for a new finding.
	prev Severity
}

func (s *Service) apply(ctx context.Context, source, scope string, signals []Signal, complete bool) error {
	if err := checkName("source", source); err != nil {
		return err
	}
	if err := valid.Text("scope", scope, true, maxKey, false); err != nil {
		return err
	}
	if len(signals) > maxSignals {
		return valid.Errorf("signals", "are more than %d", maxSignals)
	}
	evidence := make([][]byte, len(signals))
	byKey := make(map[string]int, len(signals))
	for i, sig := range signals {
		b, err := sig.check(fmt.Sprintf("signals[%d]", i))
		if err != nil {
			return err
		}
		evidence[i] = b
		byKey[sig.Key] = i // the last of duplicate keys wins
	}
	now := s.now().UTC()
	var steps []alertStep
	s.syncMu.Lock()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		steps = steps[:0]
		existing := map[string]Finding{}
		if complete {
			rows, err := tx.QueryContext(ctx, `SELECT `+findingCols+` FROM security_findings WHERE source = $1 AND scope = $2 AND status <> 'fixed'`, source, scope)
			if err != nil {
				return fmt.Errorf("security: sync: %w", err)
			}
			for rows.Next() {
				f, err := scanFinding(rows)
				if err != nil {
					rows.Close()
					return fmt.Errorf("security: sync: %w", err)
				}
				existing[f.Key] = f
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("security: sync: %w", err)
			}
		}
		for i, sig := range signals {
			if byKey[sig.Key] != i {
				continue
			}
			f, ok := existing[sig.Key]
			if !ok {
				var err error
				f, err = scanFinding(tx.QueryRowContext(ctx, `SELECT `+findingCols+` FROM security_findings WHERE source = $1 AND key = $2`, source, sig.Key))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("security: sync: %w", err)
				}
				ok = err == nil
			}
			delete(existing, sig.Key)
			step, err := s.upsert(ctx, tx, source, scope, sig, evidence[i], f, ok, now)
			if err != nil {
				return err
			}
			if step != nil {
				steps = append(steps, *step)
			}
		}
		for _, f := range existing {
			if _, err := tx.ExecContext(ctx, `UPDATE security_findings SET status = 'fixed', fixed_at = $1 WHERE id = $2`, now, f.ID); err != nil {
				return fmt.Errorf("security: fix finding: %w", err)
			}
			f.Status = StatusFixed
			steps = append(steps, alertStep{raise: false, f: f})
		}
		return nil
	})
	s.syncMu.Unlock()
	if err != nil {
		return err
	}
	s.alert(ctx, steps)
	return nil
}

// upsert writes one signal; prev is its finding when found.
func (s *Service) upsert(ctx context.Context, tx *sql.Tx, source, scope string, sig Signal, ev []byte, prev Finding, found bool, now time.Time) (*alertStep, error) {
	f := Finding{Source: source, Scope: scope, Key: sig.Key, Title: sig.Title, Severity: sig.Severity, CIID: sig.CIID,
		Status: StatusOpen, Evidence: ev, FirstSeen: now, LastSeen: now}
	if !found {
		err := tx.QueryRowContext(ctx, `INSERT INTO security_findings (source, scope, key, title, severity, ci_id, status, evidence, first_seen, last_seen)
			VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $8) RETURNING id`,
			source, scope, sig.Key, sig.Title, string(sig.Severity), nullID(sig.CIID), string(ev), now).Scan(&f.ID)
		if err != nil {
			return nil, fmt.Errorf("security: open finding: %w", store.MapError(err))
		}
		return &alertStep{raise: true, f: f}, nil
	}
	f.ID, f.FirstSeen = prev.ID, prev.FirstSeen
	f.Status, f.AcceptedReason, f.AcceptedBy, f.AcceptedUntil = prev.Status, prev.AcceptedReason, prev.AcceptedBy, prev.AcceptedUntil
	reopen := prev.Status == StatusFixed ||
		(prev.Status == StatusAccepted && prev.AcceptedUntil != nil && !prev.AcceptedUntil.After(now))
	if reopen {
		f.Status, f.AcceptedReason, f.AcceptedBy, f.AcceptedUntil = StatusOpen, "", "", nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE security_findings SET scope = $1, title = $2, severity = $3, ci_id = $4, evidence = $5, last_seen = $6,
		status = $7, fixed_at = NULL, accepted_reason = $8, accepted_by = $9, accepted_until = $10 WHERE id = $11`,
		scope, sig.Title, string(sig.Severity), nullID(sig.CIID), string(ev), now, string(f.Status),
		f.AcceptedReason, f.AcceptedBy, nullTime(f.AcceptedUntil), f.ID)
	if err != nil {
		return nil, fmt.Errorf("security: refresh finding: %w", store.MapError(err))
	}
	// An open finding whose severity or title changed is raised again, so
	// the alert says what is true now (the pipeline deduplicates).
	if f.Status == StatusOpen && (reopen || prev.Severity != f.Severity || prev.Title != f.Title) {
		return &alertStep{raise: true, f: f, prev: prev.Severity}, nil
	}
	return nil, nil
}

// Resolve marks the finding of (source, key) fixed, if it is not already:
// for sources that learn one signal went away.
func (s *Service) Resolve(ctx context.Context, source, key string) error {
	if err := checkName("source", source); err != nil {
		return err
	}
	if err := valid.Text("key", key, true, maxKey, false); err != nil {
		return err
	}
	f, err := scanFinding(s.db.R.QueryRowContext(ctx, `SELECT `+findingCols+` FROM security_findings WHERE source = $1 AND key = $2`, source, key))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("security: resolve: %w", err)
	}
	_, err = s.setStatus(ctx, f.ID, StatusFixed, "", nil, "security.finding_fixed")
	return err
}

// Fix marks a finding fixed by hand (a one-off signal an operator dealt with).
func (s *Service) Fix(ctx context.Context, id int64) (Finding, error) {
	return s.setStatus(ctx, id, StatusFixed, "", nil, "security.finding_fixed")
}

// Accept records an accepted risk: who (the actor in ctx), why, and until
// when; the finding opens again after until.
func (s *Service) Accept(ctx context.Context, id int64, reason string, until time.Time) (Finding, error) {
	if err := valid.Text("reason", reason, true, maxReason, true); err != nil {
		return Finding{}, err
	}
	if until.IsZero() || !until.After(s.now()) {
		return Finding{}, valid.Errorf("until", "must be a date in the future")
	}
	if until.After(s.now().AddDate(5, 0, 0)) {
		return Finding{}, valid.Errorf("until", "must be within five years")
	}
	u := until.UTC()
	return s.setStatus(ctx, id, StatusAccepted, reason, &u, "security.finding_accepted")
}

// Reopen ends an accepted risk or undoes a manual fix.
func (s *Service) Reopen(ctx context.Context, id int64) (Finding, error) {
	return s.setStatus(ctx, id, StatusOpen, "", nil, "security.finding_reopened")
}

func (s *Service) setStatus(ctx context.Context, id int64, st Status, reason string, until *time.Time, action string) (Finding, error) {
	now := s.now().UTC()
	var out Finding
	var steps []alertStep
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		f, err := scanFinding(tx.QueryRowContext(ctx, `SELECT `+findingCols+` FROM security_findings WHERE id = $1`, id))
		if err != nil {
			return fmt.Errorf("security: finding %d: %w", id, err)
		}
		if f.Status == st && st != StatusAccepted {
			out = f
			return nil
		}
		by := ""
		var fixedAt *time.Time
		if st == StatusAccepted {
			by = auth.ActorFrom(ctx).Name
		}
		if st == StatusFixed {
			fixedAt = &now
		}
		if _, err := tx.ExecContext(ctx, `UPDATE security_findings SET status = $1, accepted_reason = $2, accepted_by = $3, accepted_until = $4, fixed_at = $5 WHERE id = $6`,
			string(st), reason, by, nullTime(until), nullTime(fixedAt), id); err != nil {
			return fmt.Errorf("security: finding %d: %w", id, store.MapError(err))
		}
		was := f.Status
		f.Status, f.AcceptedReason, f.AcceptedBy, f.AcceptedUntil, f.FixedAt = st, reason, by, until, fixedAt
		steps = append(steps, alertStep{raise: st == StatusOpen && was != StatusOpen, f: f, prev: f.Severity})
		out = f
		detail := fmt.Sprintf("status: %s -> %s", was, st)
		if reason != "" {
			detail += " reason: " + reason
		}
		return auth.Audit(ctx, tx, action, "security_finding", fmt.Sprint(id), detail)
	})
	if err != nil {
		return Finding{}, err
	}
	s.alert(ctx, steps)
	return out, nil
}

// ReopenExpired opens again every accepted finding whose acceptance ran out.
func (s *Service) ReopenExpired(ctx context.Context) error {
	ids, err := s.queryIDs(ctx, `SELECT id FROM security_findings WHERE status = 'accepted' AND accepted_until <= $1`, s.now().UTC())
	if err != nil {
		return fmt.Errorf("security: expired acceptances: %w", err)
	}
	actx := auth.WithActor(ctx, auth.SystemActor())
	for _, id := range ids {
		if _, err := s.setStatus(actx, id, StatusOpen, "", nil, "security.finding_reopened"); err != nil {
			return err
		}
	}
	return nil
}

// alert raises findings at or above AlertAt and clears them when fixed or
// accepted. A failure is logged: the finding is stored either way and the
// next refresh raises it again.
func (s *Service) alert(ctx context.Context, steps []alertStep) {
	if s.opts.Alerts == nil {
		return
	}
	for _, st := range steps {
		key := st.f.Source + ":" + st.f.Key
		if st.raise && st.f.Severity.Rank() >= s.opts.AlertAt.Rank() {
			err := s.opts.Alerts.Raise(ctx, incidentSignal(st.f))
			if err != nil {
				s.log.Error("security: raise finding", "finding", st.f.ID, "err", err)
			}
			continue
		}
		// Clear only what was raised: a fixed or accepted finding at the
		// alert level, or one whose severity dropped below it.
		was := st.f.Severity
		if st.raise {
			was = st.prev
		}
		if was.Rank() >= s.opts.AlertAt.Rank() {
			if err := s.opts.Alerts.Clear(ctx, AlertSource, IncidentService, key); err != nil && !errors.Is(err, store.ErrNotFound) {
				s.log.Error("security: clear finding", "finding", st.f.ID, "err", err)
			}
		}
	}
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
