package servicedesk

import (
	"context"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// FuzzCheckAnswers feeds arbitrary answers to a form of every type but
// the two that look things up: any input is accepted (and then each kept
// value is one the field allows) or refused naming an answer field.
func FuzzCheckAnswers(f *testing.F) {
	lo, hi := -5.0, 5.0
	fields := []FormField{
		{Key: "t", Label: "T", Type: FieldText, Required: true},
		{Key: "l", Label: "L", Type: FieldLongText},
		{Key: "n", Label: "N", Type: FieldNumber, Min: &lo, Max: &hi},
		{Key: "d", Label: "D", Type: FieldDate},
		{Key: "s", Label: "S", Type: FieldSelect, Options: []string{"a", "b"}},
		{Key: "m", Label: "M", Type: FieldMultiSelect, Options: []string{"x", "y", "z"}},
		{Key: "c", Label: "C", Type: FieldCheckbox},
	}
	for _, seed := range [][]string{{"t", "hello"}, {"n", "1e309"}, {"n", "-0"}, {"d", "2026-02-30"}, {"s", "a"}, {"m", "y\x00x"}, {"c", "on"}, {"zz", "1"}, {"t", strings.Repeat("é", 600)}} {
		f.Add(seed[0], seed[1], "ok")
	}
	f.Fuzz(func(t *testing.T, key, value, text string) {
		raw := map[string][]string{"t": {text}, key: strings.Split(value, "\x00")}
		out, err := checkAnswers(context.Background(), nil, fields, raw)
		if err != nil {
			ve, ok := valid.As(err)
			if !ok || (ve.Field != "answers" && !strings.HasPrefix(ve.Field, "answers.")) {
				t.Fatalf("error %v does not name an answer", err)
			}
			return
		}
		for _, a := range out {
			for _, v := range a.Values {
				switch a.Type {
				case FieldSelect, FieldMultiSelect:
					if v != "a" && v != "b" && v != "x" && v != "y" && v != "z" {
						t.Fatalf("%s kept %q", a.Key, v)
					}
				case FieldCheckbox:
					if v != "yes" && v != "no" {
						t.Fatalf("checkbox kept %q", v)
					}
				case FieldText:
					if len(v) > 4*MaxAnswerText || strings.ContainsAny(v, "\n\r") {
						t.Fatalf("text kept %q", v)
					}
				}
			}
		}
	})
}

// FuzzRatingLink checks that no token but the ones the server signed
// passes, however it is mangled.
func FuzzRatingLink(f *testing.F) {
	db := storetest.SQLite(f)
	svc := New(db, Options{})
	link, err := svc.RatingLink(context.Background(), "", 1)
	if err != nil {
		f.Fatal(err)
	}
	good := strings.TrimPrefix(link, "/rate/")
	f.Add(good)
	f.Add("1.99999999999.AAAA")
	f.Add("")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		_, _, err := svc.RatingLinkTicket(context.Background(), token)
		if token != good && err == nil {
			t.Fatalf("token %q accepted", token)
		}
	})
}
