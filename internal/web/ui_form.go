package web

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// fieldErrors maps a form field's name to the message shown beside it; the
// key "" holds an error about the whole form, shown above it.
type fieldErrors map[string]string

// formField is what the "field" partial renders: label, input, hint and
// error, tied together by ids so screen readers announce the error with the
// input it belongs to.
type formField struct {
	Name, Label, Type, Value, Error, Hint, Autocomplete string
	Required, Autofocus                                 bool
	MaxLength                                           int
}

// newField builds a formField inside a template. Options after errs are
// "required", "autofocus", "autocomplete=VALUE", "hint=TEXT" and
// "maxlength=N", so a form reads as one line per field:
//
//	{{template "field" field "name" "Name" "text" .Form.Name .Errors "maxlength=200"}}
//
// An unknown option is an error, which fails the render: a typo in a
// template shows in the first test of its page instead of silently
// dropping a constraint.
func newField(name, label, typ, value string, errs fieldErrors, opts ...string) (formField, error) {
	f := formField{Name: name, Label: label, Type: typ, Value: value, Error: errs[name]}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		var err error
		switch k {
		case "required":
			f.Required = true
		case "autofocus":
			f.Autofocus = true
		case "autocomplete":
			f.Autocomplete = v
		case "hint":
			f.Hint = v
		case "maxlength":
			f.MaxLength, err = strconv.Atoi(v)
		default:
			err = errors.New("unknown option")
		}
		if err != nil {
			return f, fmt.Errorf("web: field %s: option %q: %w", name, o, err)
		}
	}
	return f, nil
}

// formError explains err beside the field it names, when it is an input
// error of a field on the form (labels maps field names to their labels).
// It reports false for errors a form cannot explain, which the caller then
// treats as server errors.
func formError(err error, errs fieldErrors, labels map[string]string) bool {
	if ve, ok := valid.As(err); ok {
		if label, known := labels[ve.Field]; known {
			errs[ve.Field] = label + " " + ve.Msg + "."
		} else {
			errs[""] = sentence(ve.Error())
		}
		return true
	}
	if errors.Is(err, store.ErrConflict) {
		errs[""] = "A record with these values already exists."
		return true
	}
	return false
}

// checkText validates a free-text form field the way the domain does, so a
// form can report every bad field at once and before anything is written.
func checkText(errs fieldErrors, field, label, v string, required bool, max int) {
	if err := valid.Text(field, v, required, max, false); err != nil {
		ve, _ := valid.As(err)
		errs[field] = label + " " + ve.Msg + "."
	}
}

// checkEmail validates an optional email address as the domain does (the
// address alone, no display name), to report it with the other fields.
func checkEmail(errs fieldErrors, field, label, v string) {
	checkText(errs, field, label, v, false, 254)
	if v == "" || errs[field] != "" {
		return
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
		errs[field] = label + " is not an email address."
	}
}

// sentence starts s with a capital letter and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// maxEcho bounds how much of a refused value is shown back in its field.
const maxEcho = 1000

// echo prepares a submitted value for showing back in its field: valid
// UTF-8, control characters replaced, and at most maxEcho characters. The
// user can correct a refused value without the page carrying hostile bytes
// verbatim.
func echo(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range v {
		if n == maxEcho {
			break
		}
		if unicode.IsControl(r) {
			r = '\uFFFD'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// roleChoice is what the "roles" partial renders: the field and the roles
// offered.
type roleChoice struct {
	Field formField
	Roles []auth.Role
}

func newRoleChoice(f formField, roles []auth.Role) roleChoice {
	return roleChoice{Field: f, Roles: roles}
}

// secretValue is what the "secret" partial renders: a value shown once.
type secretValue struct {
	ID, Label, Value string
}

func newSecret(id, label, value string) secretValue {
	return secretValue{ID: id, Label: label, Value: value}
}
