package statuspage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// resHour is the hourly resolution of monitor_rollups, in seconds.
const resHour = 3600

// monitorHistory is one monitor's uptime as a page shows it.
type monitorHistory struct {
	daily   []Count
	windows [4]Count
}

// pageHistory is the uptime of all of a page's monitors.
type pageHistory struct {
	days      []time.Time
	byMonitor map[int64]*monitorHistory
}

// history reads, for every monitor in ids, one Count per UTC day of the last
// Days days and the four uptime windows, counting as monitor.Uptime and
// monitor.DailyUptime do: whole hours from the hourly rollups, the time
// after the newest rollup from the raw results, each window starting on
// the hour. It costs four queries whatever the number of monitors:
//
//   - the rollups of the days on the bars, summed per monitor and day in
//     the database, so one row per monitor and day reaches Go;
//   - the rollups of each window's first, partial day (a few hours per
//     monitor), so a window is its partial day plus the whole days after;
//   - the raw results after the newest rollup, per monitor and day, with
//     the window sums beside them (an hour or so of rows);
//   - the newest rollup's time.
func (s *Service) history(ctx context.Context, ids []int64, now time.Time) (pageHistory, error) {
	now = now.UTC()
	today := now.Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(Days - 1))
	h := pageHistory{days: make([]time.Time, Days), byMonitor: make(map[int64]*monitorHistory, len(ids))}
	for i := range h.days {
		h.days[i] = first.AddDate(0, 0, i)
	}
	for _, id := range ids {
		h.byMonitor[id] = &monitorHistory{daily: make([]Count, Days)}
	}
	if len(ids) == 0 {
		return h, nil
	}
	var starts [4]time.Time
	for i, d := range windowLengths {
		starts[i] = now.Add(-d).Truncate(time.Hour)
	}
	rolled, err := s.lastRolled(ctx)
	if err != nil {
		return h, err
	}
	if rolled.After(first) {
		in, args := inList(ids, 4)
		q := `SELECT monitor_id, ` + s.dayOf("bucket") + `, SUM(n_total), SUM(n_up + n_degraded) FROM monitor_rollups
			WHERE resolution = $1 AND bucket >= $2 AND bucket < $3 AND monitor_id IN (` + in + `)
			GROUP BY monitor_id, ` + s.dayOf("bucket")
		err := s.scan(ctx, q, append([]any{int64(resHour), first, rolled}, args...), func(id int64, day string, c Count) {
			if i := dayIndex(first, day); i >= 0 && i < Days {
				h.byMonitor[id].daily[i].add(c)
			}
		})
		if err != nil {
			return h, err
		}
	}
	// Each window: the whole days after its first day from the bars, then
	// its first day's hours from the window's start, read in one query.
	type part struct {
		w        int
		from, to time.Time
	}
	var parts []part
	for w, st := range starts {
		next := st.Truncate(24*time.Hour).AddDate(0, 0, 1)
		for _, m := range h.byMonitor {
			for i, d := range h.days {
				if !d.Before(next) {
					m.windows[w].add(m.daily[i])
				}
			}
		}
		if end := minTime(next, rolled); st.Before(end) {
			parts = append(parts, part{w, st, end})
		}
	}
	if len(parts) > 0 {
		pargs := []any{int64(resHour)}
		for _, p := range parts {
			pargs = append(pargs, p.from, p.to)
		}
		in, args := inList(ids, len(pargs)+1)
		qs := make([]string, len(parts))
		for i, p := range parts {
			qs[i] = fmt.Sprintf(`SELECT monitor_id, '%d', SUM(n_total), SUM(n_up + n_degraded) FROM monitor_rollups
				WHERE resolution = $1 AND bucket >= $%d AND bucket < $%d AND monitor_id IN (%s) GROUP BY monitor_id`, p.w, 2*i+2, 2*i+3, in)
		}
		err := s.scan(ctx, strings.Join(qs, " UNION ALL "), append(pargs, args...), func(id int64, w string, c Count) {
			h.byMonitor[id].windows[int(w[0]-'0')].add(c)
		})
		if err != nil {
			return h, err
		}
	}
	// The hours not rolled up yet come from the raw results.
	tail := rolled
	if tail.Before(starts[3]) {
		tail = starts[3]
	}
	const good = `CASE WHEN status IN ('up', 'degraded') THEN 1 ELSE 0 END`
	in, args := inList(ids, 6)
	q := `SELECT monitor_id, ` + s.dayOf("at") + `, COUNT(*), SUM(` + good + `),
		SUM(CASE WHEN at >= $2 THEN 1 ELSE 0 END), SUM(CASE WHEN at >= $2 THEN ` + good + ` ELSE 0 END),
		SUM(CASE WHEN at >= $3 THEN 1 ELSE 0 END), SUM(CASE WHEN at >= $3 THEN ` + good + ` ELSE 0 END),
		SUM(CASE WHEN at >= $4 THEN 1 ELSE 0 END), SUM(CASE WHEN at >= $4 THEN ` + good + ` ELSE 0 END),
		SUM(CASE WHEN at >= $5 THEN 1 ELSE 0 END), SUM(CASE WHEN at >= $5 THEN ` + good + ` ELSE 0 END)
		FROM check_results WHERE at >= $1 AND monitor_id IN (` + in + `)
		GROUP BY monitor_id, ` + s.dayOf("at")
	rows, err := s.db.R.QueryContext(ctx, q, append([]any{tail, starts[0], starts[1], starts[2], starts[3]}, args...)...)
	if err != nil {
		return h, fmt.Errorf("statuspage: uptime: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var day string
		var all Count
		var w [4]Count
		if err := rows.Scan(&id, &day, &all.Total, &all.Good, &w[0].Total, &w[0].Good, &w[1].Total, &w[1].Good, &w[2].Total, &w[2].Good, &w[3].Total, &w[3].Good); err != nil {
			return h, fmt.Errorf("statuspage: uptime: %w", err)
		}
		m := h.byMonitor[id]
		if i := dayIndex(first, day); i >= 0 && i < Days {
			m.daily[i].add(all)
		}
		for i := range w {
			m.windows[i].add(w[i])
		}
	}
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("statuspage: uptime: %w", err)
	}
	return h, nil
}

// scan runs a query of rows (monitor id, key, total, good) and hands each
// to fn.
func (s *Service) scan(ctx context.Context, q string, args []any, fn func(id int64, key string, c Count)) error {
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("statuspage: uptime: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key string
		var c Count
		if err := rows.Scan(&id, &key, &c.Total, &c.Good); err != nil {
			return fmt.Errorf("statuspage: uptime: %w", err)
		}
		fn(id, key, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("statuspage: uptime: %w", err)
	}
	return nil
}

// dayIndex is the index of a "2006-01-02" day among the days from first,
// or -1 when it does not parse.
func dayIndex(first time.Time, day string) int {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return -1
	}
	return int(d.Sub(first) / (24 * time.Hour))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// lastRolled is the end of the newest hourly rollup, or the zero time when
// there is none. The rollup job writes every monitor's hour together (empty
// hours as markers), so one watermark holds for all monitors.
func (s *Service) lastRolled(ctx context.Context) (time.Time, error) {
	var last store.NullTime
	if err := s.db.R.QueryRowContext(ctx, `SELECT MAX(bucket) FROM monitor_rollups WHERE resolution = $1`, int64(resHour)).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("statuspage: uptime: %w", err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return last.Time.UTC().Add(resHour * time.Second), nil
}

// dayOf is the SQL for the UTC day ("2006-01-02") of a time column. Both
// engines store times in UTC; SQLite keeps them as text starting with the
// date, and PostgreSQL is told the zone so its session's does not count.
func (s *Service) dayOf(col string) string {
	if s.db.Dialect == store.Postgres {
		return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	return "substr(" + col + ", 1, 10)"
}
