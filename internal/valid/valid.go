// Package valid carries input validation errors that name the offending
// field, so every domain reports bad input the same way and the web layer can
// show the message beside the right form field or in the API error's "field".
package valid

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is one invalid field.
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string { return e.Field + ": " + e.Msg }

// Errorf returns an *Error for field with a formatted message.
func Errorf(field, format string, args ...any) error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// As returns the first *Error in err's tree, if any.
func As(err error) (*Error, bool) {
	var ve *Error
	ok := errors.As(err, &ve)
	return ve, ok
}

// Text checks a free-text field: valid UTF-8, no control characters other
// than newline and tab (when multiline), and at most max runes. Empty is
// allowed unless required.
func Text(field, s string, required bool, max int, multiline bool) error {
	if strings.TrimSpace(s) == "" {
		if required {
			return Errorf(field, "is required")
		}
		return nil
	}
	if !utf8.ValidString(s) {
		return Errorf(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Errorf(field, "is too long (%d characters, at most %d)", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return Errorf(field, "contains a control character")
		}
	}
	return nil
}
