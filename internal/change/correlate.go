package change

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
)

// FlagIncident looks for changes that may have caused an incident opened
// at `at` on the CIs ciIDs: changes that touched one of those CIs, or a
// CI they depend on (however deep), and that were being implemented or
// had ended less than Options.IncidentWindow before. Each is flagged on
// both records: the incident is linked to the change (marked caused) with
// a timeline entry, and the incident gets a note "possibly caused by
// change N" through Options.NoteIncident. It returns the changes flagged;
// flagging twice does nothing more.
func (s *Service) FlagIncident(ctx context.Context, incidentID int64, at time.Time, ciIDs []int64) ([]int64, error) {
	if len(ciIDs) == 0 {
		return nil, nil
	}
	// The CIs whose change could break the incident's CIs: the CIs
	// themselves and everything they need.
	suspect := map[int64]bool{}
	for _, id := range ciIDs {
		suspect[id] = true
		if s.opts.CMDB == nil {
			continue
		}
		deps, err := s.opts.CMDB.Impact(ctx, id, cmdb.Downstream, 0)
		if err != nil {
			continue // a CI deleted meanwhile
		}
		for _, n := range deps.Nodes {
			suspect[n.CI.ID] = true
		}
	}
	at = at.UTC()
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, c.title, cc.ci_id FROM changes c JOIN change_cis cc ON cc.change_id = c.id
		WHERE c.state IN ('implementing', 'review', 'closed') AND c.actual_start IS NOT NULL AND c.actual_start <= $1
		AND (c.actual_end IS NULL OR c.actual_end >= $2) AND c.actual_start >= $3 ORDER BY c.id`,
		at, at.Add(-s.opts.IncidentWindow), at.Add(-s.opts.IncidentWindow-366*24*time.Hour))
	if err != nil {
		return nil, fmt.Errorf("change: flag incident: %w", err)
	}
	type hit struct {
		title string
		cis   []int64
	}
	hits := map[int64]*hit{}
	var order []int64
	for rows.Next() {
		var id, ci int64
		var title string
		if err := rows.Scan(&id, &title, &ci); err != nil {
			rows.Close()
			return nil, fmt.Errorf("change: flag incident: %w", err)
		}
		if !suspect[ci] {
			continue
		}
		h, ok := hits[id]
		if !ok {
			h = &hit{title: title}
			hits[id] = h
			order = append(order, id)
		}
		h.cis = append(h.cis, ci)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("change: flag incident: %w", err)
	}
	var flagged []int64
	for _, id := range order {
		h := hits[id]
		names := s.ciNames(ctx, h.cis)
		fresh := false
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			now := s.now()
			res, err := tx.ExecContext(ctx, `INSERT INTO change_links (change_id, kind, object_id, caused, created_at, created_by) VALUES ($1, 'incident', $2, TRUE, $3, 'system')
				ON CONFLICT (change_id, kind, object_id) DO UPDATE SET caused = TRUE WHERE change_links.caused = FALSE`, id, incidentID, now)
			if err != nil {
				return fmt.Errorf("change: flag incident: %w", store.MapError(err))
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
			fresh = true
			return addEvent(ctx, tx, id, now, "system", "incident", "", "", fmt.Sprintf("Incident #%d opened on %s: possibly caused by this change", incidentID, names))
		})
		if err != nil {
			return flagged, err
		}
		if !fresh {
			continue
		}
		flagged = append(flagged, id)
		if s.opts.NoteIncident != nil {
			if err := s.opts.NoteIncident(ctx, incidentID, fmt.Sprintf("Possibly caused by change #%d %q (it touched %s)", id, h.title, names)); err != nil {
				s.opts.Logger.Warn("change: incident note lost", "incident", incidentID, "change", id, "err", err)
			}
		}
	}
	return flagged, nil
}

func (s *Service) ciNames(ctx context.Context, ids []int64) string {
	var names []string
	for _, id := range ids {
		name := fmt.Sprintf("CI %d", id)
		if s.opts.CMDB != nil {
			if ci, err := s.opts.CMDB.Get(ctx, id); err == nil {
				name = ci.Name
			}
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

// CausedBy returns the changes flagged as possibly causing an incident.
func (s *Service) CausedBy(ctx context.Context, incidentID int64) ([]Change, error) {
	return s.query(ctx, `SELECT `+changeCols+changeFrom+` WHERE c.id IN (SELECT change_id FROM change_links WHERE kind = 'incident' AND object_id = $1 AND caused) ORDER BY c.id`, incidentID)
}
