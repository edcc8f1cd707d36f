package servicedesk

import (
	"testing"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// assertField fails unless err is a validation error naming field.
func assertField(t *testing.T, err error, field string) {
	t.Helper()
	ve, ok := valid.As(err)
	if !ok {
		t.Fatalf("want a validation error on %q, got %v", field, err)
	}
	if ve.Field != field {
		t.Fatalf("error names field %q (%v), want %q", ve.Field, ve, field)
	}
}
