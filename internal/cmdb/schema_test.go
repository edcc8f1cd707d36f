package cmdb

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/valid"
)

func testSchema() Schema {
	return Schema{
		{Key: "hostname", Type: AttrString, Required: true},
		{Key: "cores", Type: AttrInt},
		{Key: "ram", Type: AttrFloat},
		{Key: "virtual", Type: AttrBool},
		{Key: "bought", Type: AttrDate},
		{Key: "tier", Type: AttrEnum, Values: []string{"gold", "silver"}},
		{Key: "ip", Type: AttrIP},
		{Key: "docs", Type: AttrURL},
	}
}

func TestSchemaCheckNamesTheAttribute(t *testing.T) {
	s := testSchema()
	for _, tc := range []struct {
		name  string
		attrs string
		field string
	}{
		{"unknown attribute", `{"hostname":"a","colour":"red"}`, "attributes.colour"},
		{"missing required", `{"cores":2}`, "attributes.hostname"},
		{"required empty", `{"hostname":"  "}`, "attributes.hostname"},
		{"string as number", `{"hostname":5}`, "attributes.hostname"},
		{"int as string", `{"hostname":"a","cores":"2"}`, "attributes.cores"},
		{"int fraction", `{"hostname":"a","cores":2.5}`, "attributes.cores"},
		{"int too big", `{"hostname":"a","cores":1e300}`, "attributes.cores"},
		{"float as bool", `{"hostname":"a","ram":true}`, "attributes.ram"},
		{"bool as string", `{"hostname":"a","virtual":"yes"}`, "attributes.virtual"},
		{"bad date", `{"hostname":"a","bought":"2026-13-01"}`, "attributes.bought"},
		{"enum outside", `{"hostname":"a","tier":"bronze"}`, "attributes.tier"},
		{"bad ip", `{"hostname":"a","ip":"300.1.1.1"}`, "attributes.ip"},
		{"bad url scheme", `{"hostname":"a","docs":"javascript:alert(1)"}`, "attributes.docs"},
		{"control char", `{"hostname":"a\u0000b"}`, "attributes.hostname"},
		{"oversize string", `{"hostname":"` + strings.Repeat("x", MaxAttrText+1) + `"}`, "attributes.hostname"},
		{"hostile key", `{"hostname":"a","<script>":"x"}`, "attributes.<script>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var attrs map[string]any
			if err := json.Unmarshal([]byte(tc.attrs), &attrs); err != nil {
				t.Fatal(err)
			}
			_, err := s.Check(attrs)
			ve, ok := valid.As(err)
			if !ok {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if ve.Field != tc.field {
				t.Fatalf("field = %q (%s), want %q", ve.Field, ve.Msg, tc.field)
			}
		})
	}
}

func TestSchemaCheckNormalizes(t *testing.T) {
	var attrs map[string]any
	_ = json.Unmarshal([]byte(`{"hostname":"web1","cores":8,"ram":15.5,"virtual":true,"bought":"2026-01-02","tier":"gold","ip":"2001:DB8::1","docs":"https://wiki/x","bought2":null}`), &attrs)
	delete(attrs, "bought2")
	got, err := testSchema().Check(attrs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"bought":"2026-01-02","cores":8,"docs":"https://wiki/x","hostname":"web1","ip":"2001:db8::1","ram":15.5,"tier":"gold","virtual":true}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestSchemaFromText(t *testing.T) {
	s := testSchema()
	got, err := s.FromText(map[string]string{"hostname": "h", "cores": "4", "ram": "2.5", "virtual": "1", "ip": "", "tier": "silver"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if string(b) != `{"cores":4,"hostname":"h","ram":2.5,"tier":"silver","virtual":true}` {
		t.Fatalf("got %s", b)
	}
	_, err = s.FromText(map[string]string{"hostname": "h", "cores": "four"})
	if ve, ok := valid.As(err); !ok || ve.Field != "attributes.cores" {
		t.Fatalf("err = %v, want attributes.cores", err)
	}
}

func TestSchemaDefinitionChecked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     Schema
		field string
	}{
		{"bad key", Schema{{Key: "Bad Key", Type: AttrString}}, "attributes[0].key"},
		{"duplicate key", Schema{{Key: "a", Type: AttrString}, {Key: "a", Type: AttrInt}}, "attributes[1].key"},
		{"unknown kind", Schema{{Key: "a", Type: "blob"}}, "attributes[0].type"},
		{"enum without values", Schema{{Key: "a", Type: AttrEnum}}, "attributes[0].values"},
		{"values on string", Schema{{Key: "a", Type: AttrString, Values: []string{"x"}}}, "attributes[0].values"},
		{"duplicate enum value", Schema{{Key: "a", Type: AttrEnum, Values: []string{"x", "x"}}}, "attributes[0].values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := CITypeInput{Key: "thing", Name: "Thing", Attributes: tc.s}
			err := in.normalize()
			if ve, ok := valid.As(err); !ok || ve.Field != tc.field {
				t.Fatalf("err = %v, want field %s", err, tc.field)
			}
		})
	}
}

// FuzzSchemaCheck feeds outside JSON (an API body's attributes) to the
// validator: it must never panic, and what it accepts must pass again
// unchanged.
func FuzzSchemaCheck(f *testing.F) {
	f.Add(`{"hostname":"a","cores":2,"ip":"10.0.0.1"}`)
	f.Add(`{"hostname":"a","cores":1e308,"bought":"2026-02-30"}`)
	f.Add(`{"tier":"gold","docs":"http://x","virtual":false,"ram":-0}`)
	s := testSchema()
	f.Fuzz(func(t *testing.T, body string) {
		var attrs map[string]any
		if json.Unmarshal([]byte(body), &attrs) != nil {
			return
		}
		got, err := s.Check(attrs)
		if err != nil {
			if _, ok := valid.As(err); !ok {
				t.Fatalf("non-validation error %v", err)
			}
			return
		}
		b, _ := json.Marshal(got)
		var again map[string]any
		_ = json.Unmarshal(b, &again)
		got2, err := s.Check(again)
		if err != nil {
			t.Fatalf("accepted value refused on second check: %v (%s)", err, b)
		}
		b2, _ := json.Marshal(got2)
		if string(b) != string(b2) {
			t.Fatalf("not stable: %s vs %s", b, b2)
		}
	})
}
