package cmdb

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// AttrType is the kind of value an attribute holds.
type AttrType string

// The attribute kinds.
const (
	AttrString AttrType = "string"
	AttrInt    AttrType = "int"
	AttrFloat  AttrType = "float"
	AttrBool   AttrType = "bool"
	AttrDate   AttrType = "date"
	AttrEnum   AttrType = "enum"
	AttrIP     AttrType = "ip"
	AttrURL    AttrType = "url"
)

// AttrTypes lists every attribute kind.
func AttrTypes() []AttrType {
	return []AttrType{AttrString, AttrInt, AttrFloat, AttrBool, AttrDate, AttrEnum, AttrIP, AttrURL}
}

// Attribute is one typed attribute of a CI type.
type Attribute struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	Type     AttrType `json:"type"`
	Required bool     `json:"required"`
	// Values are the choices of an enum.
	Values []string `json:"values,omitempty"`
	Help   string   `json:"help,omitempty"`
}

// Schema is a CI type's attributes, in the order forms show them.
type Schema []Attribute

// CIType is a kind of CI with its attribute schema. Service marks business
// services: the CIs impact analysis reports.
type CIType struct {
	ID          int64     `json:"id"`
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Builtin     bool      `json:"builtin"`
	Service     bool      `json:"service"`
	Attributes  Schema    `json:"attributes"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CITypeInput is what creating or changing a CI type takes. A built-in
// type keeps its key and service flag.
type CITypeInput struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Service     bool   `json:"service"`
	Attributes  Schema `json:"attributes"`
}

// Limits on schemas and attribute values.
const (
	MaxAttributes  = 50
	MaxEnumValues  = 100
	MaxAttrText    = 1000
	MaxAttrsBytes  = 64 << 10
	maxLabel       = 100
	maxHelp        = 300
	maxEnumValue   = 100
	dateLayout     = "2006-01-02"
	maxSafeInteger = 1 << 53
)

func (in *CITypeInput) normalize() error {
	in.Key = strings.TrimSpace(in.Key)
	in.Name = strings.TrimSpace(in.Name)
	if err := checkKey("key", in.Key); err != nil {
		return err
	}
	if err := valid.Text("name", in.Name, true, maxLabel, false); err != nil {
		return err
	}
	if err := valid.Text("description", in.Description, false, MaxDescription, true); err != nil {
		return err
	}
	if in.Attributes == nil {
		in.Attributes = Schema{}
	}
	return in.Attributes.check()
}

// check validates a schema: unique keys, known kinds, enum values for enums.
func (s Schema) check() error {
	if len(s) > MaxAttributes {
		return valid.Errorf("attributes", "at most %d attributes", MaxAttributes)
	}
	seen := map[string]bool{}
	for i := range s {
		a := &s[i]
		f := fmt.Sprintf("attributes[%d]", i)
		a.Key = strings.TrimSpace(a.Key)
		a.Label = strings.TrimSpace(a.Label)
		if err := checkKey(f+".key", a.Key); err != nil {
			return err
		}
		if seen[a.Key] {
			return valid.Errorf(f+".key", "%q appears twice", a.Key)
		}
		seen[a.Key] = true
		if a.Label == "" {
			a.Label = a.Key
		}
		if err := valid.Text(f+".label", a.Label, true, maxLabel, false); err != nil {
			return err
		}
		if err := valid.Text(f+".help", a.Help, false, maxHelp, false); err != nil {
			return err
		}
		if !slices.Contains(AttrTypes(), a.Type) {
			return valid.Errorf(f+".type", "must be one of string, int, float, bool, date, enum, ip, url")
		}
		if a.Type != AttrEnum {
			if len(a.Values) > 0 {
				return valid.Errorf(f+".values", "only enum attributes have values")
			}
			a.Values = nil
			continue
		}
		var vals []string
		for _, v := range a.Values {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			if err := valid.Text(f+".values", v, true, maxEnumValue, false); err != nil {
				return err
			}
			if slices.Contains(vals, v) {
				return valid.Errorf(f+".values", "%q appears twice", v)
			}
			vals = append(vals, v)
		}
		if len(vals) == 0 {
			return valid.Errorf(f+".values", "an enum needs at least one value")
		}
		if len(vals) > MaxEnumValues {
			return valid.Errorf(f+".values", "at most %d values", MaxEnumValues)
		}
		a.Values = vals
	}
	return nil
}

// Find returns the attribute with key.
func (s Schema) Find(key string) (Attribute, bool) {
	for _, a := range s {
		if a.Key == key {
			return a, true
		}
	}
	return Attribute{}, false
}

// Check validates CI attribute values against the schema and returns them
// normalized: numbers as int64 or float64, dates as YYYY-MM-DD, IPs in
// canonical form. Unknown keys, wrong kinds and missing required values are
// refused with the attribute named in the error ("attributes.KEY"). Null
// values and empty strings mean "not set".
func (s Schema) Check(attrs map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range attrs {
		a, ok := s.Find(k)
		if !ok {
			return nil, valid.Errorf("attributes."+clip(k, 64), "is not an attribute of this type")
		}
		if v == nil {
			continue
		}
		if str, isStr := v.(string); isStr && strings.TrimSpace(str) == "" {
			continue
		}
		nv, err := a.value(v)
		if err != nil {
			return nil, err
		}
		if str, isStr := nv.(string); isStr && str == "" {
			continue
		}
		out[k] = nv
	}
	for _, a := range s {
		if _, ok := out[a.Key]; a.Required && !ok {
			return nil, valid.Errorf("attributes."+a.Key, "is required")
		}
	}
	if b, _ := json.Marshal(out); len(b) > MaxAttrsBytes {
		return nil, valid.Errorf("attributes", "are too large (%d bytes, at most %d)", len(b), MaxAttrsBytes)
	}
	return out, nil
}

// value checks one value of a (from JSON: string, float64, json.Number,
// bool) and returns it normalized.
func (a Attribute) value(v any) (any, error) {
	field := "attributes." + a.Key
	wrong := func(what string) error { return valid.Errorf(field, "must be %s", what) }
	str, isStr := v.(string)
	switch a.Type {
	case AttrString:
		if !isStr {
			return nil, wrong("a string")
		}
		if err := valid.Text(field, str, false, MaxAttrText, true); err != nil {
			return nil, err
		}
		return str, nil
	case AttrInt:
		f, ok := number(v)
		if !ok || f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
			if n, isNum := v.(json.Number); isNum {
				if i, err := n.Int64(); err == nil && math.Abs(float64(i)) <= maxSafeInteger {
					return i, nil
				}
			}
			return nil, wrong("a whole number")
		}
		return int64(f), nil
	case AttrFloat:
		f, ok := number(v)
		if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, wrong("a number")
		}
		return f, nil
	case AttrBool:
		b, ok := v.(bool)
		if !ok {
			return nil, wrong("true or false")
		}
		return b, nil
	case AttrDate:
		if !isStr {
			return nil, wrong("a date as YYYY-MM-DD")
		}
		d, err := time.Parse(dateLayout, strings.TrimSpace(str))
		if err != nil {
			return nil, wrong("a date as YYYY-MM-DD")
		}
		return d.Format(dateLayout), nil
	case AttrEnum:
		if !isStr || !slices.Contains(a.Values, str) {
			return nil, wrong("one of " + strings.Join(a.Values, ", "))
		}
		return str, nil
	case AttrIP:
		if !isStr {
			return nil, wrong("an IP address")
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(str))
		if err != nil {
			return nil, wrong("an IP address such as 192.0.2.10 or 2001:db8::1")
		}
		return ip.String(), nil
	case AttrURL:
		if !isStr {
			return nil, wrong("a URL")
		}
		str = strings.TrimSpace(str)
		u, err := url.Parse(str)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(str) > 2000 || !utf8.ValidString(str) {
			return nil, wrong("an http or https URL")
		}
		return str, nil
	}
	return nil, wrong("a known kind")
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// FromText turns form input (every value a string; an unticked checkbox
// absent) into attribute values of the right kinds, then checks them as
// Check does. Values that do not parse are refused naming the attribute.
func (s Schema) FromText(form map[string]string) (map[string]any, error) {
	attrs := map[string]any{}
	for k, raw := range form {
		a, ok := s.Find(k)
		if !ok {
			return nil, valid.Errorf("attributes."+clip(k, 64), "is not an attribute of this type")
		}
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		switch a.Type {
		case AttrInt:
			i, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				return nil, valid.Errorf("attributes."+k, "must be a whole number")
			}
			attrs[k] = json.Number(strconv.FormatInt(i, 10))
		case AttrFloat:
			f, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return nil, valid.Errorf("attributes."+k, "must be a number")
			}
			attrs[k] = f
		case AttrBool:
			attrs[k] = raw == "1" || raw == "true" || raw == "on"
		default:
			attrs[k] = raw
		}
	}
	return s.Check(attrs)
}

// Text shows an attribute value as a person reads it.
func (a Attribute) Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		if a.Type == AttrInt || x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// FormValue is the value to put back in a form input (a checkbox: "1").
func (a Attribute) FormValue(v any) string {
	if a.Type == AttrBool {
		if b, _ := v.(bool); b {
			return "1"
		}
		return ""
	}
	return a.Text(v)
}
