package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// myNotificationsData is the data of the "My notifications" page.
type myNotificationsData struct {
	Methods  []notify.ContactMethod
	Rules    []ruleRow
	Channels []channelChoice
	Method   methodForm
	Rule     ruleForm
	Errors   fieldErrors
	// TestMethod and TestResult report a test send to one contact method.
	TestMethod int64
	TestResult string
	TestOK     bool
}

// channelChoice is a channel in the contact method form, with what its
// address is.
type channelChoice struct {
	ID                      int64
	Name, Kind              string
	AddressLabel, Hint      string
	AddressRequired, Chosen bool
}

type methodForm struct{ ChannelID, Label, Address string }
type ruleForm struct{ ContactMethodID, DelayMinutes string }

// ruleRow is a rule with its contact method's name.
type ruleRow struct {
	notify.Rule
	Method string
}

// myUser is the signed-in user the page is about; tokens owned by nobody
// have none.
func (s *Server) myUser(w http.ResponseWriter, r *http.Request) (int64, bool) {
	a := auth.ActorFrom(r.Context())
	if a.UserID == 0 {
		s.renderError(w, r, http.StatusUnprocessableEntity, "this page is about a user's own notifications; this token belongs to no user")
		return 0, false
	}
	return a.UserID, true
}

func (s *Server) myNotificationsPage(w http.ResponseWriter, r *http.Request) {
	s.showMyNotifications(w, r, http.StatusOK, myNotificationsData{Rule: ruleForm{DelayMinutes: "0"}, Errors: fieldErrors{}})
}

func (s *Server) showMyNotifications(w http.ResponseWriter, r *http.Request, status int, d myNotificationsData) {
	uid, ok := s.myUser(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var err error
	if d.Methods, err = s.opts.Notify.ContactMethods(ctx, uid); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	names := map[int64]string{}
	for _, m := range d.Methods {
		names[m.ID] = m.Label
	}
	rules, err := s.opts.Notify.Rules(ctx, uid)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, rl := range rules {
		d.Rules = append(d.Rules, ruleRow{Rule: rl, Method: names[rl.ContactMethodID]})
	}
	cs, err := s.opts.Notify.Channels(ctx)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, c := range cs {
		if !c.Enabled {
			continue
		}
		k, _ := notify.KindByName(c.Kind)
		d.Channels = append(d.Channels, channelChoice{ID: c.ID, Name: c.Name, Kind: k.Label, AddressLabel: k.AddressLabel, Hint: k.AddressHint,
			AddressRequired: k.AddressRequired, Chosen: d.Method.ChannelID == itoa64(c.ID)})
	}
	s.render(w, r, status, "notify_account", s.newView(r, "My notifications", "my-notifications", d))
}

// myFormError puts a service error beside the field it names on either
// of the page's two forms.
func myFormError(err error, d *myNotificationsData) bool {
	ve, ok := valid.As(err)
	if !ok {
		return false
	}
	labels := map[string]string{"channel_id": "Channel", "label": "Name", "address": "Address", "contact_method_id": "Contact method", "delay_minutes": "Delay"}
	if l, known := labels[ve.Field]; known {
		d.Errors[ve.Field] = l + " " + ve.Msg + "."
	} else {
		d.Errors[""] = sentence(ve.Error())
	}
	return true
}

func (s *Server) addMyMethod(w http.ResponseWriter, r *http.Request) {
	uid, ok := s.myUser(w, r)
	if !ok {
		return
	}
	d := myNotificationsData{Errors: fieldErrors{}, Rule: ruleForm{DelayMinutes: "0"}}
	d.Method = methodForm{ChannelID: r.PostFormValue("channel_id"), Label: echo(strings.TrimSpace(r.PostFormValue("label"))), Address: echo(strings.TrimSpace(r.PostFormValue("address")))}
	chID, err := strconv.ParseInt(d.Method.ChannelID, 10, 64)
	if err != nil || chID <= 0 {
		d.Errors["channel_id"] = "Channel: choose one."
		s.showMyNotifications(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	_, err = s.opts.Notify.AddContactMethod(r.Context(), uid, notify.ContactMethod{ChannelID: chID,
		Label: strings.TrimSpace(r.PostFormValue("label")), Address: strings.TrimSpace(r.PostFormValue("address"))})
	if err != nil {
		if myFormError(err, &d) {
			s.showMyNotifications(w, r, http.StatusUnprocessableEntity, d)
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/account/notifications?notice=method-added", http.StatusSeeOther)
}

func (s *Server) addMyRule(w http.ResponseWriter, r *http.Request) {
	uid, ok := s.myUser(w, r)
	if !ok {
		return
	}
	d := myNotificationsData{Errors: fieldErrors{}}
	d.Rule = ruleForm{ContactMethodID: r.PostFormValue("contact_method_id"), DelayMinutes: echo(strings.TrimSpace(r.PostFormValue("delay_minutes")))}
	cmID, err := strconv.ParseInt(d.Rule.ContactMethodID, 10, 64)
	if err != nil || cmID <= 0 {
		d.Errors["contact_method_id"] = "Contact method: choose one."
	}
	delay, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("delay_minutes")))
	if err != nil {
		d.Errors["delay_minutes"] = "Delay must be a whole number of minutes, 0 for at once."
	}
	if len(d.Errors) > 0 {
		s.showMyNotifications(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	if _, err := s.opts.Notify.AddRule(r.Context(), uid, notify.Rule{ContactMethodID: cmID, DelayMinutes: delay}); err != nil {
		if myFormError(err, &d) {
			s.showMyNotifications(w, r, http.StatusUnprocessableEntity, d)
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/account/notifications?notice=rule-added", http.StatusSeeOther)
}

// myItemDelete removes one of the caller's own methods or rules; another
// user's id is "not found", never someone else's row.
func (s *Server) myItemDelete(w http.ResponseWriter, r *http.Request, del func(uid, id int64) error, notice string) {
	uid, ok := s.myUser(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err == nil {
		err = del(uid, id)
	}
	if err != nil {
		if _, bad := valid.As(err); bad || errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "nothing of yours to delete there; it may have been deleted already")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/account/notifications?notice="+notice, http.StatusSeeOther)
}

func (s *Server) deleteMyMethod(w http.ResponseWriter, r *http.Request) {
	s.myItemDelete(w, r, func(uid, id int64) error { return s.opts.Notify.DeleteContactMethod(r.Context(), uid, id) }, "method-deleted")
}

func (s *Server) deleteMyRule(w http.ResponseWriter, r *http.Request) {
	s.myItemDelete(w, r, func(uid, id int64) error { return s.opts.Notify.DeleteRule(r.Context(), uid, id) }, "rule-deleted")
}

// testMyMethod sends the test message to one of the caller's own contact
// methods and shows the verdict.
func (s *Server) testMyMethod(w http.ResponseWriter, r *http.Request) {
	uid, ok := s.myUser(w, r)
	if !ok {
		return
	}
	id, _ := pathID(r)
	ms, err := s.opts.Notify.ContactMethods(r.Context(), uid)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, m := range ms {
		if m.ID != id {
			continue
		}
		d := myNotificationsData{Errors: fieldErrors{}, Rule: ruleForm{DelayMinutes: "0"}, TestMethod: id}
		if err := s.opts.Notify.TestChannel(r.Context(), m.ChannelID, m.Address); err != nil {
			d.TestResult = "Not delivered: " + err.Error()
		} else {
			d.TestOK, d.TestResult = true, "Sent to "+m.Label+": check that it arrived."
		}
		s.showMyNotifications(w, r, http.StatusOK, d)
		return
	}
	s.renderError(w, r, http.StatusNotFound, "no such contact method of yours")
}
