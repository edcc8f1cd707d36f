package servicedesk

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

const calendarCols = `id, name, time_zone, all_day, hours, holidays, updated_at`

func scanCalendar(row interface{ Scan(...any) error }) (Calendar, error) {
	var c Calendar
	var hours, holidays string
	if err := row.Scan(&c.ID, &c.Name, &c.TimeZone, &c.AllDay, &hours, &holidays, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(hours), &c.Hours); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(holidays), &c.Holidays); err != nil {
		return c, err
	}
	return c, nil
}

// Calendars lists the business-hours calendars by name.
func (s *Service) Calendars(ctx context.Context) ([]Calendar, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+calendarCols+` FROM sd_calendars ORDER BY name`)
	if err != nil {
		return nil, wrap("list calendars", err)
	}
	defer rows.Close()
	out := []Calendar{}
	for rows.Next() {
		c, err := scanCalendar(rows)
		if err != nil {
			return nil, wrap("list calendars", err)
		}
		out = append(out, c)
	}
	return out, wrap("list calendars", rows.Err())
}

// Calendar returns one calendar.
func (s *Service) Calendar(ctx context.Context, id int64) (Calendar, error) {
	c, err := scanCalendar(s.db.R.QueryRowContext(ctx, `SELECT `+calendarCols+` FROM sd_calendars WHERE id = $1`, id))
	if err != nil {
		return c, wrap("calendar "+strconv.FormatInt(id, 10), err)
	}
	return c, nil
}

// SaveCalendar creates (ID 0) or replaces a calendar after checking it.
// Unresolved tickets on a changed calendar are marked for the SLA job, which
// recomputes their due times within its interval.
func (s *Service) SaveCalendar(ctx context.Context, c Calendar) (Calendar, error) {
	c.Name = strings.TrimSpace(c.Name)
	if err := valid.Text("name", c.Name, true, 100, false); err != nil {
		return c, err
	}
	if _, err := c.Compile(); err != nil {
		return c, err
	}
	if c.Hours == nil || c.AllDay {
		c.Hours = map[string][]string{}
	}
	if c.Holidays == nil || c.AllDay {
		c.Holidays = []string{}
	}
	slices.Sort(c.Holidays)
	c.Holidays = slices.Compact(c.Holidays)
	hours, _ := json.Marshal(c.Hours)
	holidays, _ := json.Marshal(c.Holidays)
	c.UpdatedAt = s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		action := "calendar.update"
		if c.ID == 0 {
			action = "calendar.create"
			if err := tx.QueryRowContext(ctx, `INSERT INTO sd_calendars (name, time_zone, all_day, hours, holidays, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, c.Name, c.TimeZone, c.AllDay, string(hours), string(holidays), c.UpdatedAt).Scan(&c.ID); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE sd_calendars SET name = $1, time_zone = $2, all_day = $3, hours = $4, holidays = $5, updated_at = $6 WHERE id = $7`,
				c.Name, c.TimeZone, c.AllDay, string(hours), string(holidays), c.UpdatedAt, c.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sd_tickets SET sla_next_check = 0
				WHERE sla_calendar_id = $1 AND status IN ('new', 'open', 'pending')`, c.ID); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, action, "calendar", strconv.FormatInt(c.ID, 10), c.Name)
	})
	if err != nil {
		return c, wrap("save calendar", err)
	}
	return c, nil
}

// DeleteCalendar removes a calendar no policy uses.
func (s *Service) DeleteCalendar(ctx context.Context, id int64) error {
	return wrap("delete calendar", s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sd_calendars WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return auth.Audit(ctx, tx, "calendar.delete", "calendar", strconv.FormatInt(id, 10), "")
	}))
}

// clock loads and compiles a calendar; id 0 is the 24×7 clock.
func (s *Service) clock(ctx context.Context, q store.Querier, id int64) (*Clock, error) {
	if id == 0 {
		return AllDayClock(), nil
	}
	c, err := scanCalendar(q.QueryRowContext(ctx, `SELECT `+calendarCols+` FROM sd_calendars WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("calendar "+strconv.FormatInt(id, 10), err)
	}
	return c.Compile()
}
