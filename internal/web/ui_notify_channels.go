package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// channelsData is the data of the channel list.
type channelsData struct {
	Channels []channelRow
}

// channelRow is a channel as the list shows it.
type channelRow struct {
	notify.ChannelConfig
	KindLabel string
}

// channelFormData is the state of the channel create and edit forms.
type channelFormData struct {
	// Channel is the stored channel; nil on the create form.
	Channel *notify.ChannelConfig
	// Kinds is set on the create form before a kind is chosen.
	Kinds   []notify.Kind
	Kind    notify.Kind
	Name    string
	Enabled bool
	Fields  []channelField
	Errors  fieldErrors
	// TestAddress and TestResult belong to the test-send box of the edit
	// page; TestOK says whether the receiver accepted the message.
	TestAddress string
	TestResult  string
	TestOK      bool
}

// HasErrors reports whether any field or the form as a whole has an error.
func (f channelFormData) HasErrors() bool {
	for _, cf := range f.Fields {
		if cf.Error != "" {
			return true
		}
	}
	return len(f.Errors) > 0
}

// channelField is one setting on the form: its description, the value to
// show (never a secret's) and whether a secret is stored.
type channelField struct {
	notify.SettingField
	Value     string
	Error     string
	SecretSet bool
}

// settingFormName is a setting's form field name, prefixed so that it can
// never clash with the form's own fields.
func settingFormName(name string) string { return "s_" + name }

func kindLabel(kind string) string {
	if k, ok := notify.KindByName(kind); ok {
		return k.Label
	}
	return kind
}

// channelsPage lists the channels.
func (s *Server) channelsPage(w http.ResponseWriter, r *http.Request) {
	cs, err := s.opts.Notify.Channels(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	var data channelsData
	for _, c := range cs {
		data.Channels = append(data.Channels, channelRow{ChannelConfig: c, KindLabel: kindLabel(c.Kind)})
	}
	s.render(w, r, http.StatusOK, "notify_channels", s.newView(r, "Notification channels", "notifications", data))
}

// fieldsOf lays out a kind's settings with values from settings.
func fieldsOf(k notify.Kind, settings map[string]any, secretsSet []string) []channelField {
	var out []channelField
	for _, f := range k.Field {
		cf := channelField{SettingField: f}
		if v, ok := settings[f.Name]; ok && !f.Secret {
			switch x := v.(type) {
			case string:
				cf.Value = x
			case float64:
				cf.Value = strconv.FormatFloat(x, 'f', -1, 64)
			default:
				b, _ := json.Marshal(x)
				cf.Value = string(b)
			}
		}
		for _, name := range secretsSet {
			if name == f.Name {
				cf.SecretSet = true
			}
		}
		out = append(out, cf)
	}
	return out
}

// newChannelPage offers the kinds, then the chosen kind's form.
func (s *Server) newChannelPage(w http.ResponseWriter, r *http.Request) {
	f := channelFormData{Enabled: true, Errors: fieldErrors{}}
	k, ok := notify.KindByName(r.URL.Query().Get("kind"))
	if !ok {
		f.Kinds = notify.Kinds()
		s.render(w, r, http.StatusOK, "notify_channel_form", s.newView(r, "New notification channel", "notifications", f))
		return
	}
	f.Kind, f.Fields = k, fieldsOf(k, nil, nil)
	if k.Name == "email" {
		f.Fields = fieldsOf(k, map[string]any{"security": "starttls", "auth": "plain"}, nil)
	}
	s.render(w, r, http.StatusOK, "notify_channel_form", s.newView(r, "New "+k.Label+" channel", "notifications", f))
}

// readChannelForm reads the submitted settings into f and the input for
// the service. Numbers that are not numbers are marked on their field.
func readChannelForm(r *http.Request, f *channelFormData) (notify.ChannelInput, bool) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	f.Name = echo(name)
	f.Enabled = r.PostFormValue("enabled") == "on"
	settings := map[string]any{}
	ok := true
	for i := range f.Fields {
		cf := &f.Fields[i]
		v := r.PostFormValue(settingFormName(cf.Name))
		if cf.Type != "password" && cf.Type != "textarea" {
			v = strings.TrimSpace(v)
		}
		if !cf.Secret {
			cf.Value = echo(v)
		}
		if v == "" {
			continue
		}
		if cf.Type == "number" {
			n, err := strconv.Atoi(v)
			if err != nil {
				cf.Error = cf.Label + " must be a whole number."
				ok = false
				continue
			}
			settings[cf.Name] = n
			continue
		}
		settings[cf.Name] = v
	}
	raw, _ := json.Marshal(settings)
	enabled := f.Enabled
	return notify.ChannelInput{Name: name, Kind: f.Kind.Name, Settings: raw, Enabled: &enabled}, ok
}

// explainChannelError puts a service error beside its field.
func explainChannelError(err error, f *channelFormData) bool {
	ve, ok := valid.As(err)
	if !ok {
		if errors.Is(err, store.ErrConflict) {
			f.Errors["name"] = "Another channel has this name."
			return true
		}
		return false
	}
	if name, isSetting := strings.CutPrefix(ve.Field, "settings."); isSetting {
		for i := range f.Fields {
			if f.Fields[i].Name == name {
				f.Fields[i].Error = f.Fields[i].Label + " " + ve.Msg + "."
				return true
			}
		}
	}
	switch ve.Field {
	case "name":
		f.Errors["name"] = "Name " + ve.Msg + "."
	default:
		f.Errors[""] = sentence(ve.Error())
	}
	return true
}

// createChannel saves a new channel of the kind in the query.
func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) {
	k, ok := notify.KindByName(r.URL.Query().Get("kind"))
	if !ok {
		s.renderError(w, r, http.StatusUnprocessableEntity, "choose a kind of channel first")
		return
	}
	f := channelFormData{Kind: k, Fields: fieldsOf(k, nil, nil), Errors: fieldErrors{}}
	in, ok := readChannelForm(r, &f)
	if ok {
		c, err := s.opts.Notify.SaveChannel(r.Context(), 0, in)
		if err == nil {
			http.Redirect(w, r, "/notification-channels/"+itoa64(c.ID)+"?notice=channel-created", http.StatusSeeOther)
			return
		}
		if !explainChannelError(err, &f) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, "notify_channel_form", s.newView(r, "New "+k.Label+" channel", "notifications", f))
}

// loadChannelForm fills the edit form from the stored channel.
func (s *Server) loadChannelForm(w http.ResponseWriter, r *http.Request) (channelFormData, bool) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such channel")
		return channelFormData{}, false
	}
	c, err := s.opts.Notify.Channel(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "no such channel; it may have been deleted")
		return channelFormData{}, false
	}
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return channelFormData{}, false
	}
	k, _ := notify.KindByName(c.Kind)
	var settings map[string]any
	_ = json.Unmarshal(c.Settings, &settings)
	return channelFormData{Channel: &c, Kind: k, Name: c.Name, Enabled: c.Enabled, Fields: fieldsOf(k, settings, c.SecretsSet), Errors: fieldErrors{}}, true
}

func (s *Server) editChannelPage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.loadChannelForm(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "notify_channel_form", s.newView(r, f.Channel.Name, "notifications", f))
}

func (s *Server) updateChannel(w http.ResponseWriter, r *http.Request) {
	f, ok := s.loadChannelForm(w, r)
	if !ok {
		return
	}
	in, ok := readChannelForm(r, &f)
	if ok {
		_, err := s.opts.Notify.SaveChannel(r.Context(), f.Channel.ID, in)
		if err == nil {
			http.Redirect(w, r, "/notification-channels/"+itoa64(f.Channel.ID)+"?notice=channel-saved", http.StatusSeeOther)
			return
		}
		if !explainChannelError(err, &f) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, "notify_channel_form", s.newView(r, f.Channel.Name, "notifications", f))
}

// testChannel sends a test message and shows the receiver's verdict on
// the edit page.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) {
	f, ok := s.loadChannelForm(w, r)
	if !ok {
		return
	}
	f.TestAddress = echo(strings.TrimSpace(r.PostFormValue("address")))
	err := s.opts.Notify.TestChannel(r.Context(), f.Channel.ID, strings.TrimSpace(r.PostFormValue("address")))
	status := http.StatusOK
	switch ve, bad := valid.As(err); {
	case err == nil:
		f.TestOK, f.TestResult = true, "Sent: the receiver accepted the test message."
	case bad && ve.Field == "address":
		status = http.StatusUnprocessableEntity
		f.Errors["address"] = "Address " + ve.Msg + "."
	default:
		f.TestResult = "Not delivered: " + err.Error()
	}
	s.render(w, r, status, "notify_channel_form", s.newView(r, f.Channel.Name, "notifications", f))
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such channel")
		return
	}
	if err := s.opts.Notify.DeleteChannel(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "no such channel; it may have been deleted already")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/notification-channels?notice=channel-deleted", http.StatusSeeOther)
}
