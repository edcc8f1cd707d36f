package servicedesk

import (
	"context"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// FieldType is the kind of answer a request form field takes.
type FieldType string

// The field types of request forms.
const (
	FieldText        FieldType = "text"        // one line
	FieldLongText    FieldType = "textarea"    // several lines
	FieldNumber      FieldType = "number"      // optionally between Min and Max
	FieldDate        FieldType = "date"        // YYYY-MM-DD
	FieldSelect      FieldType = "select"      // one of Options
	FieldMultiSelect FieldType = "multiselect" // any of Options
	FieldCheckbox    FieldType = "checkbox"    // yes or no
	FieldUser        FieldType = "user"        // a username of an enabled user
	FieldAsset       FieldType = "asset"       // an asset tag
)

// FieldTypes lists the field types.
func FieldTypes() []FieldType {
	return []FieldType{FieldText, FieldLongText, FieldNumber, FieldDate, FieldSelect, FieldMultiSelect, FieldCheckbox, FieldUser, FieldAsset}
}

// FormField is one question of a catalog item's request form.
type FormField struct {
	// Key names the answer (lower-case letters, digits, underscores).
	Key      string    `json:"key"`
	Label    string    `json:"label"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
	Help     string    `json:"help,omitempty"`
	// Options are the choices of select and multiselect fields.
	Options []string `json:"options,omitempty"`
	// Min and Max bound number fields when set.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Limits of catalog items and their forms.
const (
	MaxFormFields   = 50
	MaxFieldOptions = 100
	MaxAnswerText   = 500
	MaxAnswerLong   = 5000
)

var fieldKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

func (f *FormField) check(prefix string) error {
	f.Key = strings.TrimSpace(f.Key)
	if !fieldKey.MatchString(f.Key) {
		return valid.Errorf(prefix+"key", "must start with a letter and hold only a-z, 0-9 and _ (at most 40)")
	}
	f.Label = strings.TrimSpace(f.Label)
	if err := valid.Text(prefix+"label", f.Label, true, 100, false); err != nil {
		return err
	}
	if !slices.Contains(FieldTypes(), f.Type) {
		return valid.Errorf(prefix+"type", "must be one of text, textarea, number, date, select, multiselect, checkbox, user, asset")
	}
	if err := valid.Text(prefix+"help", f.Help, false, 300, false); err != nil {
		return err
	}
	opts := []string{}
	for _, o := range f.Options {
		o = strings.TrimSpace(o)
		if o == "" || slices.Contains(opts, o) {
			continue
		}
		if err := valid.Text(prefix+"options", o, false, 100, false); err != nil {
			return err
		}
		opts = append(opts, o)
	}
	f.Options = opts
	switch {
	case f.Type == FieldSelect || f.Type == FieldMultiSelect:
		if len(opts) == 0 {
			return valid.Errorf(prefix+"options", "a %s field needs at least one option", f.Type)
		}
		if len(opts) > MaxFieldOptions {
			return valid.Errorf(prefix+"options", "at most %d options", MaxFieldOptions)
		}
	case len(opts) > 0:
		return valid.Errorf(prefix+"options", "only select and multiselect fields have options")
	}
	if f.Type != FieldNumber && (f.Min != nil || f.Max != nil) {
		return valid.Errorf(prefix+"min", "only number fields have a minimum and maximum")
	}
	for _, v := range []*float64{f.Min, f.Max} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return valid.Errorf(prefix+"min", "must be a number")
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return valid.Errorf(prefix+"max", "must not be below the minimum")
	}
	return nil
}

// CatalogItem is a service the desk offers, with the request form that
// orders it and the defaults of the ticket that form opens. Priority comes
// from the matrix and the SLA from the policies, as for any ticket.
type CatalogItem struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Category groups items on the catalog page.
	Category string `json:"category"`
	// Icon is a short text shown beside the name (an emoji or two letters).
	Icon     string `json:"icon"`
	Active   bool   `json:"active"`
	Position int    `json:"position"`
	// OrgIDs, when not empty, limit the item to members of these
	// organisations; empty means every requester.
	OrgIDs         []int64     `json:"org_ids"`
	TicketType     Type        `json:"ticket_type"`
	TicketCategory string      `json:"ticket_category"`
	GroupID        int64       `json:"group_id"`
	Group          string      `json:"group,omitempty"`
	Impact         Level       `json:"impact"`
	Urgency        Level       `json:"urgency"`
	Fields         []FormField `json:"fields"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

func (c *CatalogItem) check() error {
	c.Name = strings.TrimSpace(c.Name)
	if err := valid.Text("name", c.Name, true, 100, false); err != nil {
		return err
	}
	if err := valid.Text("description", c.Description, false, 2000, true); err != nil {
		return err
	}
	c.Category = strings.TrimSpace(c.Category)
	if err := valid.Text("category", c.Category, false, MaxCategory, false); err != nil {
		return err
	}
	c.Icon = strings.TrimSpace(c.Icon)
	if err := valid.Text("icon", c.Icon, false, 8, false); err != nil {
		return err
	}
	if c.TicketType == "" {
		c.TicketType = TypeServiceRequest
	}
	if !slices.Contains(Types(), c.TicketType) {
		return valid.Errorf("ticket_type", "must be incident, service_request or question")
	}
	if err := checkCategory(&c.TicketCategory); err != nil {
		return valid.Errorf("ticket_category", "%s", mustMsg(err))
	}
	if c.Impact == 0 {
		c.Impact = 2
	}
	if c.Urgency == 0 {
		c.Urgency = 2
	}
	if err := checkLevel("impact", c.Impact); err != nil {
		return err
	}
	if err := checkLevel("urgency", c.Urgency); err != nil {
		return err
	}
	if c.GroupID < 0 {
		return valid.Errorf("group_id", "no such group")
	}
	if c.Position < 0 || c.Position > 1e6 {
		return valid.Errorf("position", "must be 0 to 1000000")
	}
	if len(c.Fields) > MaxFormFields {
		return valid.Errorf("fields", "at most %d fields", MaxFormFields)
	}
	seen := map[string]bool{}
	for i := range c.Fields {
		f := &c.Fields[i]
		if err := f.check("fields." + strconv.Itoa(i) + "."); err != nil {
			return err
		}
		if seen[f.Key] {
			return valid.Errorf("fields."+strconv.Itoa(i)+".key", "%q is used by another field", f.Key)
		}
		seen[f.Key] = true
	}
	if c.Fields == nil {
		c.Fields = []FormField{}
	}
	slices.Sort(c.OrgIDs)
	c.OrgIDs = slices.Compact(c.OrgIDs)
	if c.OrgIDs == nil {
		c.OrgIDs = []int64{}
	}
	return nil
}

func mustMsg(err error) string {
	if ve, ok := valid.As(err); ok {
		return ve.Msg
	}
	return err.Error()
}

// Answer is one answered question of a request form, as stored with the
// ticket: the label and the value in words at the time of the request.
type Answer struct {
	Key    string    `json:"key"`
	Label  string    `json:"label"`
	Type   FieldType `json:"type"`
	Values []string  `json:"values"`
}

// Text is the answer as one line.
func (a Answer) Text() string { return strings.Join(a.Values, ", ") }

// answerField names a form field in validation errors.
func answerField(key string) string { return "answers." + key }

// checkAnswers validates raw form answers (by field key; several values
// only for multiselect) against the item's fields and returns them in the
// form's order. Users and assets must exist.
func checkAnswers(ctx context.Context, q store.Querier, fields []FormField, raw map[string][]string) ([]Answer, error) {
	for k := range raw {
		if !slices.ContainsFunc(fields, func(f FormField) bool { return f.Key == k }) {
			return nil, valid.Errorf("answers", "the form has no field %q", truncate(k, 40))
		}
	}
	out := []Answer{}
	for _, f := range fields {
		name := answerField(f.Key)
		var vals []string
		for _, v := range raw[f.Key] {
			if f.Type != FieldLongText {
				v = strings.TrimSpace(v)
			}
			if strings.TrimSpace(v) != "" {
				vals = append(vals, v)
			}
		}
		if f.Type == FieldCheckbox {
			yes := len(vals) > 0 && slices.Contains([]string{"on", "true", "yes", "1"}, strings.ToLower(vals[0]))
			if len(vals) > 1 || (len(vals) == 1 && !yes && !slices.Contains([]string{"off", "false", "no", "0"}, strings.ToLower(vals[0]))) {
				return nil, valid.Errorf(name, "must be ticked or not")
			}
			if f.Required && !yes {
				return nil, valid.Errorf(name, "must be ticked")
			}
			vals = []string{"no"}
			if yes {
				vals = []string{"yes"}
			}
			out = append(out, Answer{Key: f.Key, Label: f.Label, Type: f.Type, Values: vals})
			continue
		}
		if len(vals) == 0 {
			if f.Required {
				return nil, valid.Errorf(name, "is required")
			}
			continue
		}
		if len(vals) > 1 && f.Type != FieldMultiSelect {
			return nil, valid.Errorf(name, "takes one value")
		}
		v := vals[0]
		switch f.Type {
		case FieldText:
			if err := valid.Text(name, v, true, MaxAnswerText, false); err != nil {
				return nil, err
			}
		case FieldLongText:
			if err := valid.Text(name, v, true, MaxAnswerLong, true); err != nil {
				return nil, err
			}
		case FieldNumber:
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || len(v) > 40 {
				return nil, valid.Errorf(name, "must be a number")
			}
			if f.Min != nil && n < *f.Min {
				return nil, valid.Errorf(name, "must be at least %s", strconv.FormatFloat(*f.Min, 'f', -1, 64))
			}
			if f.Max != nil && n > *f.Max {
				return nil, valid.Errorf(name, "must be at most %s", strconv.FormatFloat(*f.Max, 'f', -1, 64))
			}
			vals = []string{strconv.FormatFloat(n, 'f', -1, 64)}
		case FieldDate:
			d, err := time.Parse(time.DateOnly, v)
			if err != nil || d.Year() < 1900 || d.Year() > 2200 {
				return nil, valid.Errorf(name, "must be a date such as 2026-12-24")
			}
		case FieldSelect:
			if !slices.Contains(f.Options, v) {
				return nil, valid.Errorf(name, "must be one of the choices")
			}
		case FieldMultiSelect:
			var picked []string
			for _, o := range f.Options { // keep the form's order, once each
				if slices.Contains(vals, o) {
					picked = append(picked, o)
				}
			}
			for _, x := range vals {
				if !slices.Contains(f.Options, x) {
					return nil, valid.Errorf(name, "must be among the choices")
				}
			}
			vals = picked
		case FieldUser:
			var username string
			if len(v) > 100 || q.QueryRowContext(ctx, `SELECT username FROM users WHERE LOWER(username) = LOWER($1) AND NOT disabled`, v).Scan(&username) != nil {
				return nil, valid.Errorf(name, "must be the username of a person who can sign in")
			}
			vals = []string{username}
		case FieldAsset:
			var tag string
			if len(v) > 100 || q.QueryRowContext(ctx, `SELECT tag FROM assets WHERE LOWER(tag) = LOWER($1)`, v).Scan(&tag) != nil {
				return nil, valid.Errorf(name, "must be the tag of an asset, such as LAP-0042")
			}
			vals = []string{tag}
		}
		out = append(out, Answer{Key: f.Key, Label: f.Label, Type: f.Type, Values: vals})
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
