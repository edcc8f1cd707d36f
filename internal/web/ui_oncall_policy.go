package web

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/oncall"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// policyList is the data of the escalation policies page.
type policyList struct {
	Policies []policyRow
	CanEdit  bool
}

// policyRow is a policy in words.
type policyRow struct {
	ID      int64
	Name    string
	Repeats int
	Levels  []string
}

// targetText names a target for people; deleted ones say so.
func targetText(t oncall.Target, names map[int64]string, schedules map[int64]string) string {
	if t.Type == oncall.TargetSchedule {
		if n, ok := schedules[t.ID]; ok {
			return "schedule " + n
		}
		return fmt.Sprintf("schedule #%d (deleted)", t.ID)
	}
	return userName(names, t.ID)
}

func (s *Server) scheduleNames(r *http.Request) (map[int64]string, []*oncall.Schedule, error) {
	scs, err := s.opts.OnCall.Schedules(r.Context())
	if err != nil {
		return nil, nil, err
	}
	out := map[int64]string{}
	for _, sc := range scs {
		out[sc.ID] = sc.Name
	}
	return out, scs, nil
}

func (s *Server) policiesPage(w http.ResponseWriter, r *http.Request) {
	ps, err := s.opts.OnCall.Policies(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	scn, _, err := s.scheduleNames(r)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := policyList{CanEdit: s.canRole(r, auth.RoleAdmin)}
	for _, p := range ps {
		row := policyRow{ID: p.ID, Name: p.Name, Repeats: p.Repeats}
		for _, l := range p.Levels {
			var ts []string
			for _, t := range l.Targets {
				ts = append(ts, targetText(t, names, scn))
			}
			row.Levels = append(row.Levels, fmt.Sprintf("%s, then %d min", strings.Join(ts, " and "), l.DelayMinutes))
		}
		d.Policies = append(d.Policies, row)
	}
	s.render(w, r, http.StatusOK, "oncall_policies", s.newView(r, "Escalation policies", "oncall", d))
}

// policyForm is the state of the policy editor: its levels and one blank
// level to add.
type policyForm struct {
	Policy                     *oncall.Policy
	Name, Description, Repeats string
	Levels                     []levelForm
	Schedules                  []userOption
	CanEdit                    bool
	Errors                     fieldErrors
}

// levelForm is one level's fields: the delay, users by name in order, and
// the ticked schedules.
type levelForm struct {
	Index     int
	Delay     string
	Users     string
	Schedules []int64
	Missing   []string
	New       bool
}

// Field is the form name of one of the level's fields.
func (l levelForm) Field(name string) string { return fmt.Sprintf("levels[%d].%s", l.Index, name) }

// Has reports whether the level targets schedule id.
func (l levelForm) Has(id int64) bool { return slices.Contains(l.Schedules, id) }

func (s *Server) newPolicyForm(r *http.Request, p *oncall.Policy) (policyForm, error) {
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		return policyForm{}, err
	}
	scn, scs, err := s.scheduleNames(r)
	if err != nil {
		return policyForm{}, err
	}
	f := policyForm{Policy: p, Repeats: "0", CanEdit: s.canRole(r, auth.RoleAdmin), Errors: fieldErrors{}}
	for _, sc := range scs {
		f.Schedules = append(f.Schedules, userOption{ID: sc.ID, Name: sc.Name})
	}
	if p != nil {
		f.Name, f.Description, f.Repeats = p.Name, p.Description, strconv.Itoa(p.Repeats)
		for i, l := range p.Levels {
			lf := levelForm{Index: i, Delay: strconv.Itoa(l.DelayMinutes)}
			var us []string
			for _, t := range l.Targets {
				switch {
				case t.Type == oncall.TargetUser:
					us = append(us, userName(names, t.ID))
				case scn[t.ID] != "":
					lf.Schedules = append(lf.Schedules, t.ID)
				default:
					lf.Missing = append(lf.Missing, targetText(t, names, scn))
				}
			}
			lf.Users = strings.Join(us, ", ")
			f.Levels = append(f.Levels, lf)
		}
	}
	f.Levels = append(f.Levels, levelForm{Index: len(f.Levels), Delay: "15", New: true})
	return f, nil
}

func (s *Server) renderPolicyForm(w http.ResponseWriter, r *http.Request, status int, f policyForm) {
	title := "New escalation policy"
	if f.Policy != nil {
		title = f.Policy.Name
	}
	s.render(w, r, status, "oncall_policy_form", s.newView(r, title, "oncall", f))
}

func (s *Server) newPolicyPage(w http.ResponseWriter, r *http.Request) {
	f, err := s.newPolicyForm(r, nil)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderPolicyForm(w, r, http.StatusOK, f)
}

func (s *Server) loadPolicy(w http.ResponseWriter, r *http.Request) (*oncall.Policy, bool) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such escalation policy")
		return nil, false
	}
	p, err := s.opts.OnCall.Policy(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "there is no such escalation policy; it may have been deleted")
		return nil, false
	}
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return nil, false
	}
	return p, true
}

func (s *Server) editPolicyPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPolicy(w, r)
	if !ok {
		return
	}
	f, err := s.newPolicyForm(r, p)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderPolicyForm(w, r, http.StatusOK, f)
}

// maxFormLevels bounds the level fieldsets a submitted form may carry.
const maxFormLevels = oncall.MaxLevels + 1

var levelFieldRE = regexp.MustCompile(`^levels\[(\d+)\]\.([a-z_]+)`)

func (s *Server) savePolicyForm(w http.ResponseWriter, r *http.Request, stored *oncall.Policy) {
	f, err := s.newPolicyForm(r, stored)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	byName := map[string]int64{}
	for id, n := range names {
		byName[n] = id
	}
	f.Name, f.Description, f.Repeats = echo(r.PostFormValue("name")), echo(r.PostFormValue("description")), echo(strings.TrimSpace(r.PostFormValue("repeats")))
	in := oncall.Policy{Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	if stored != nil {
		in.ID = stored.ID
	}
	if n, err := strconv.Atoi(f.Repeats); err != nil {
		f.Errors["repeats"] = "Repeats must be a whole number."
	} else {
		in.Repeats = n
	}
	f.Levels = nil
	for i := 0; i < maxFormLevels; i++ {
		key := func(k string) string { return fmt.Sprintf("levels[%d].%s", i, k) }
		if _, present := r.PostForm[key("delay_minutes")]; !present {
			break
		}
		lf := levelForm{Index: len(f.Levels), Delay: echo(strings.TrimSpace(r.PostFormValue(key("delay_minutes")))), Users: echo(strings.TrimSpace(r.PostFormValue(key("users"))))}
		for _, v := range r.PostForm[key("schedules")] {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil {
				lf.Schedules = append(lf.Schedules, id)
			}
		}
		if r.PostFormValue(key("remove")) != "" || (r.PostFormValue(key("new")) != "" && lf.Users == "" && len(lf.Schedules) == 0) {
			continue
		}
		lv := oncall.Level{Targets: []oncall.Target{}}
		d, err := strconv.Atoi(lf.Delay)
		if err != nil {
			f.Errors[lf.Field("delay_minutes")] = "Delay must be a whole number of minutes."
		}
		lv.DelayMinutes = d
		for _, u := range splitList(lf.Users) {
			id, ok := byName[u]
			if !ok {
				f.Errors[lf.Field("targets")] = fmt.Sprintf("There is no user named %q.", u)
				break
			}
			lv.Targets = append(lv.Targets, oncall.Target{Type: oncall.TargetUser, ID: id})
		}
		for _, id := range lf.Schedules {
			lv.Targets = append(lv.Targets, oncall.Target{Type: oncall.TargetSchedule, ID: id})
		}
		f.Levels = append(f.Levels, lf)
		in.Levels = append(in.Levels, lv)
	}
	if len(f.Errors) == 0 {
		_, err := s.opts.OnCall.SavePolicy(r.Context(), in)
		switch {
		case err == nil:
			notice := "policy-saved"
			if stored == nil {
				notice = "policy-created"
			}
			http.Redirect(w, r, "/oncall/policies?notice="+notice, http.StatusSeeOther)
			return
		case errors.Is(err, store.ErrNotFound) && stored != nil:
			s.renderError(w, r, http.StatusNotFound, "there is no such escalation policy; it may have been deleted")
			return
		default:
			ve, ok := valid.As(err)
			switch {
			case !ok:
				if !formError(err, f.Errors, nil) {
					s.serverError(w, r, SurfaceUI, err)
					return
				}
			case ve.Field == "name" || ve.Field == "description" || ve.Field == "repeats":
				f.Errors[ve.Field] = sentence(strings.ReplaceAll(ve.Field, "_", " ") + " " + ve.Msg)
			case ve.Field == "levels":
				f.Errors[""] = sentence("levels: " + ve.Msg)
			default:
				if m := levelFieldRE.FindStringSubmatch(ve.Field); m != nil {
					field := m[2]
					if field != "delay_minutes" {
						field = "targets"
					}
					f.Errors["levels["+m[1]+"]."+field] = sentence(ve.Msg)
				} else {
					f.Errors[""] = sentence(ve.Error())
				}
			}
		}
	}
	if len(f.Levels) < oncall.MaxLevels {
		f.Levels = append(f.Levels, levelForm{Index: len(f.Levels), Delay: "15", New: true})
	}
	s.renderPolicyForm(w, r, http.StatusUnprocessableEntity, f)
}

func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request) { s.savePolicyForm(w, r, nil) }

func (s *Server) updatePolicy(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPolicy(w, r)
	if !ok {
		return
	}
	s.savePolicyForm(w, r, p)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such escalation policy")
		return
	}
	if err := s.opts.OnCall.DeletePolicy(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such escalation policy; it may have been deleted already")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/oncall/policies?notice=policy-deleted", http.StatusSeeOther)
}

// Number is the level's 1-based position.
func (l levelForm) Number() int { return l.Index + 1 }
