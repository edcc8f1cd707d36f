package web

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/oncall"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// scheduleForm is the state of the schedule editor. Layers holds the
// schedule's layers and one blank layer to add; a layer left blank (no
// participants) is ignored.
type scheduleForm struct {
	Schedule                    *oncall.Schedule
	Name, Description, TimeZone string
	Layers                      []layerForm
	Zones                       []string
	Errors                      fieldErrors
}

// layerForm is one layer's fields; Participants are usernames in order,
// Restrictions the text form parseRestrictions reads.
type layerForm struct {
	Index                             int
	Name, Rotation, ShiftLength, Unit string
	Handoff, StartDate                string
	Participants, Restrictions        string
	New                               bool
}

// Field is the form name of one of the layer's fields ("layers[1].handoff"),
// the same name the domain's errors use.
func (l layerForm) Field(name string) string { return fmt.Sprintf("layers[%d].%s", l.Index, name) }

// commonZones are offered in the time-zone picker; any IANA name is
// accepted (the server checks it with time.LoadLocation).
var commonZones = []string{
	"UTC", "Africa/Cairo", "Africa/Johannesburg", "Africa/Lagos", "Africa/Nairobi",
	"America/Anchorage", "America/Argentina/Buenos_Aires", "America/Bogota", "America/Chicago", "America/Denver",
	"America/Halifax", "America/Los_Angeles", "America/Mexico_City", "America/New_York", "America/Phoenix",
	"America/Santiago", "America/Sao_Paulo", "America/St_Johns", "America/Toronto", "America/Vancouver",
	"Asia/Bangkok", "Asia/Dubai", "Asia/Hong_Kong", "Asia/Jakarta", "Asia/Jerusalem", "Asia/Karachi", "Asia/Kathmandu",
	"Asia/Kolkata", "Asia/Manila", "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Taipei", "Asia/Tehran", "Asia/Tokyo",
	"Atlantic/Reykjavik", "Australia/Adelaide", "Australia/Brisbane", "Australia/Lord_Howe", "Australia/Melbourne",
	"Australia/Perth", "Australia/Sydney", "Europe/Amsterdam", "Europe/Athens", "Europe/Berlin", "Europe/Brussels",
	"Europe/Dublin", "Europe/Helsinki", "Europe/Istanbul", "Europe/Kyiv", "Europe/Lisbon", "Europe/London", "Europe/Madrid",
	"Europe/Moscow", "Europe/Oslo", "Europe/Paris", "Europe/Prague", "Europe/Rome", "Europe/Stockholm", "Europe/Vienna",
	"Europe/Warsaw", "Europe/Zurich", "Pacific/Auckland", "Pacific/Chatham", "Pacific/Honolulu",
}

func (s *Server) newScheduleForm(sc *oncall.Schedule, names map[int64]string, now time.Time) scheduleForm {
	f := scheduleForm{Schedule: sc, TimeZone: "UTC", Zones: commonZones, Errors: fieldErrors{}}
	if sc != nil {
		f.Name, f.Description, f.TimeZone = sc.Name, sc.Description, sc.TimeZone
		for i, l := range sc.Layers {
			lf := layerForm{Index: i, Name: l.Name, Rotation: l.Rotation, Unit: l.ShiftUnit, Handoff: l.Handoff, StartDate: l.StartDate}
			if l.ShiftLength > 0 {
				lf.ShiftLength = strconv.Itoa(l.ShiftLength)
			}
			var ps []string
			for _, id := range l.Participants {
				ps = append(ps, userName(names, id))
			}
			lf.Participants = strings.Join(ps, ", ")
			lf.Restrictions = restrictionsText(l.Restrictions)
			f.Layers = append(f.Layers, lf)
		}
	}
	loc := time.UTC
	if sc != nil {
		loc = sc.Location()
	}
	f.Layers = append(f.Layers, layerForm{Index: len(f.Layers), Rotation: oncall.RotationWeekly, Unit: oncall.UnitDays, Handoff: "09:00",
		StartDate: now.In(loc).Format(time.DateOnly), New: true})
	return f
}

// maxFormLayers bounds how many layer fieldsets a submitted form may carry.
const maxFormLayers = oncall.MaxLayers + 1

// readScheduleForm reads the editor into f and the schedule to save.
func readScheduleForm(r *http.Request, f *scheduleForm, names map[int64]string) oncall.Schedule {
	f.Errors = fieldErrors{}
	f.Name, f.Description, f.TimeZone = echo(r.PostFormValue("name")), echo(r.PostFormValue("description")), echo(strings.TrimSpace(r.PostFormValue("time_zone")))
	sc := oncall.Schedule{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"), TimeZone: strings.TrimSpace(r.PostFormValue("time_zone"))}
	byName := map[string]int64{}
	for id, n := range names {
		byName[n] = id
	}
	f.Layers = nil
	for i := 0; i < maxFormLayers; i++ {
		lf := layerForm{Index: len(f.Layers)}
		get := func(k string) string { return strings.TrimSpace(r.PostFormValue(fmt.Sprintf("layers[%d].%s", i, k))) }
		if _, present := r.PostForm[fmt.Sprintf("layers[%d].rotation", i)]; !present {
			break
		}
		lf.Name, lf.Rotation, lf.ShiftLength, lf.Unit = echo(get("name")), echo(get("rotation")), echo(get("shift_length")), echo(get("shift_unit"))
		lf.Handoff, lf.StartDate, lf.Participants, lf.Restrictions = echo(get("handoff")), echo(get("start_date")), echo(get("participants")), echo(get("restrictions"))
		if get("remove") != "" || (lf.Participants == "" && lf.Name == "" && get("new") != "") {
			continue // removed, or the blank layer left blank
		}
		l := oncall.Layer{Name: get("name"), Rotation: get("rotation"), Handoff: get("handoff"), StartDate: get("start_date")}
		if l.Rotation == oncall.RotationCustom {
			l.ShiftUnit = get("shift_unit")
			n, err := strconv.Atoi(get("shift_length"))
			if err != nil {
				f.Errors[lf.Field("shift_length")] = "Shift length must be a whole number."
			}
			l.ShiftLength = n
		}
		for _, u := range splitList(get("participants")) {
			id, ok := byName[u]
			if !ok {
				f.Errors[lf.Field("participants")] = fmt.Sprintf("There is no user named %q.", u)
				break
			}
			l.Participants = append(l.Participants, id)
		}
		rs, err := parseRestrictions(get("restrictions"))
		if err != nil {
			f.Errors[lf.Field("restrictions")] = sentence(err.Error())
		}
		l.Restrictions = rs
		f.Layers = append(f.Layers, lf)
		sc.Layers = append(sc.Layers, l)
	}
	return sc
}

// splitList splits "a, b c" into names, in order.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

var dayRange = regexp.MustCompile(`^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$`)

// parseRestrictions reads restrictions written as "mon-fri 09:00-17:00;
// sat,sun 10:00-14:00" (or "daily 18:00-08:00"): days as names, ranges or
// "daily", then a time range. Empty text means no restriction.
func parseRestrictions(s string) ([]oncall.Restriction, error) {
	var out []oncall.Restriction
	if len(s) > 1000 {
		return nil, errors.New("restrictions are too long")
	}
	order := oncall.WeekdayNames()
	for _, part := range strings.Split(s, ";") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part == "" {
			continue
		}
		fields := strings.Fields(part)
		if len(fields) != 2 {
			return nil, fmt.Errorf("write each restriction as days and hours, such as “mon-fri 09:00-17:00”; got %q", part)
		}
		start, end, ok := strings.Cut(fields[1], "-")
		if !ok {
			return nil, fmt.Errorf("hours must be a range such as 09:00-17:00; got %q", fields[1])
		}
		r := oncall.Restriction{Start: start, End: end, Days: []string{}}
		if fields[0] != "daily" {
			for _, d := range strings.Split(fields[0], ",") {
				m := dayRange.FindStringSubmatch(d)
				if m == nil {
					return nil, fmt.Errorf("days are mon … sun, ranges such as mon-fri, or daily; got %q", d)
				}
				a := slices.Index(order, m[1])
				b := a
				if m[2] != "" {
					b = slices.Index(order, m[2])
				}
				for i := a; ; i = (i + 1) % 7 {
					if !slices.Contains(r.Days, order[i]) {
						r.Days = append(r.Days, order[i])
					}
					if i == b {
						break
					}
				}
			}
		}
		out = append(out, r)
		if len(out) > oncall.MaxRestrictions {
			return nil, fmt.Errorf("at most %d restrictions", oncall.MaxRestrictions)
		}
	}
	return out, nil
}

// restrictionsText writes restrictions the way parseRestrictions reads them.
func restrictionsText(rs []oncall.Restriction) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		days := "daily"
		if len(r.Days) > 0 && len(r.Days) < 7 {
			days = strings.Join(r.Days, ",")
		}
		parts = append(parts, days+" "+r.Start+"-"+r.End)
	}
	return strings.Join(parts, "; ")
}

// layerFieldRE finds the form field a domain error about a layer belongs to.
var layerFieldRE = regexp.MustCompile(`^layers\[(\d+)\]\.([a-z_]+)`)

// scheduleFormError puts a domain error beside its field in the editor.
func scheduleFormError(err error, f *scheduleForm) bool {
	ve, ok := valid.As(err)
	if !ok {
		return formError(err, f.Errors, nil)
	}
	labels := map[string]string{"name": "Name", "description": "Description", "time_zone": "Time zone"}
	if l, ok := labels[ve.Field]; ok {
		f.Errors[ve.Field] = l + " " + ve.Msg + "."
		return true
	}
	if m := layerFieldRE.FindStringSubmatch(ve.Field); m != nil {
		f.Errors["layers["+m[1]+"]."+m[2]] = sentence(ve.Msg)
		return true
	}
	f.Errors[""] = sentence(ve.Error())
	return true
}

func (s *Server) renderScheduleForm(w http.ResponseWriter, r *http.Request, status int, f scheduleForm) {
	title := "New schedule"
	if f.Schedule != nil {
		title = "Edit " + f.Schedule.Name
	}
	s.render(w, r, status, "oncall_schedule_form", s.newView(r, title, "oncall", f))
}

func (s *Server) newSchedulePage(w http.ResponseWriter, r *http.Request) {
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderScheduleForm(w, r, http.StatusOK, s.newScheduleForm(nil, names, s.opts.OnCall.Now()))
}

func (s *Server) editSchedulePage(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.loadSchedule(w, r)
	if !ok {
		return
	}
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderScheduleForm(w, r, http.StatusOK, s.newScheduleForm(sc, names, s.opts.OnCall.Now()))
}

func (s *Server) saveScheduleForm(w http.ResponseWriter, r *http.Request, stored *oncall.Schedule) {
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f := scheduleForm{Schedule: stored, Zones: commonZones}
	in := readScheduleForm(r, &f, names)
	if stored != nil {
		in.ID = stored.ID
	}
	if len(f.Errors) == 0 {
		sc, err := s.opts.OnCall.SaveSchedule(r.Context(), in)
		switch {
		case err == nil:
			notice := "schedule-saved"
			if stored == nil {
				notice = "schedule-created"
			}
			http.Redirect(w, r, scheduleURL(sc.ID)+"?notice="+notice, http.StatusSeeOther)
			return
		case errors.Is(err, store.ErrNotFound) && stored != nil:
			s.renderError(w, r, http.StatusNotFound, "there is no such schedule; it may have been deleted")
			return
		case !scheduleFormError(err, &f):
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	// Offer a blank layer again if there is room.
	if len(f.Layers) < oncall.MaxLayers {
		loc, _ := time.LoadLocation(in.TimeZone)
		if loc == nil || in.TimeZone == "" || in.TimeZone == "Local" {
			loc = time.UTC
		}
		f.Layers = append(f.Layers, layerForm{Index: len(f.Layers), Rotation: oncall.RotationWeekly, Unit: oncall.UnitDays, Handoff: "09:00",
			StartDate: s.opts.OnCall.Now().In(loc).Format(time.DateOnly), New: true})
	}
	s.renderScheduleForm(w, r, http.StatusUnprocessableEntity, f)
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) {
	s.saveScheduleForm(w, r, nil)
}

func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.loadSchedule(w, r)
	if !ok {
		return
	}
	s.saveScheduleForm(w, r, sc)
}

// Number is the layer's 1-based position, as the schedule page shows it.
func (l layerForm) Number() int { return l.Index + 1 }
