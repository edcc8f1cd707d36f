package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileSize caps the config file. A real config is a few hundred bytes; the
// cap stops a wrong path (a log, a disk image) from being read into memory.
const maxFileSize = 1 << 20

// origin records where a setting's current value came from, so validation
// errors can point at the layer the user has to fix.
type origin struct {
	source string
	line   int
}

// loader accumulates the configuration and every problem found on the way.
// It lives only for one Load call.
type loader struct {
	cfg     Config
	byKey   map[string]setting
	origins map[string]origin
	// failed holds keys whose last assignment was refused; their value is
	// whatever an earlier layer set, so validating it would only add noise.
	failed map[string]bool
	// itemLines holds the file line of each list item, for lists that came
	// from the file, so a bad entry is reported on its own line.
	itemLines map[string][]int
	errs      []error
}

func newLoader() *loader {
	l := &loader{
		cfg:       Default(),
		byKey:     map[string]setting{},
		origins:   map[string]origin{},
		failed:    map[string]bool{},
		itemLines: map[string][]int{},
	}
	for _, s := range settings() {
		l.byKey[s.key] = s
		l.origins[s.key] = origin{source: "default"}
	}
	return l
}

func (l *loader) errorf(o origin, field, format string, args ...any) {
	l.errs = append(l.errs, &Error{Source: o.source, Line: o.line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// set applies raw to the setting and records its origin, or records an error.
func (l *loader) set(s setting, raw string, o origin) {
	if msg := assign(s.ptr(&l.cfg), raw); msg != "" {
		l.failed[s.key] = true
		l.errorf(o, s.key, "%s", msg)
		return
	}
	delete(l.failed, s.key)
	delete(l.itemLines, s.key)
	l.origins[s.key] = o
}

// keys returns every setting key, for typo suggestions.
func (l *loader) keys() []string {
	var ks []string
	for _, s := range settings() {
		ks = append(ks, s.key)
	}
	return ks
}

// loadEnv applies OPSDECK_* variables. Later duplicates of a name are ignored,
// matching os.Getenv, and names are processed in sorted order so errors come
// out in a stable order.
func (l *loader) loadEnv(environ []string) {
	vals := map[string]string{}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || ignoredEnv(name) {
			continue
		}
		if _, dup := vals[name]; !dup {
			vals[name] = val
		}
	}
	byEnv := map[string]setting{}
	var envNames []string
	for _, s := range settings() {
		byEnv[envName(s.key)] = s
		envNames = append(envNames, envName(s.key))
	}
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		o := origin{source: "env " + name}
		s, ok := byEnv[name]
		if !ok {
			msg := "unknown setting"
			if hint := suggest(name, envNames); hint != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", hint)
			}
			l.errorf(o, "", "%s", msg)
			continue
		}
		if vals[name] == "" {
			continue
		}
		l.set(s, vals[name], o)
	}
}

// loadFlags applies flag values. An unknown key is a bug in the caller, but it
// is reported like any other problem rather than silently dropped.
func (l *loader) loadFlags(flags map[string]string) {
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := origin{source: "flag " + flagName(k)}
		s, ok := l.byKey[k]
		if !ok {
			l.errorf(o, k, "unknown setting")
			continue
		}
		l.set(s, flags[k], o)
	}
}

// loadFile reads and applies the YAML file at path.
func (l *loader) loadFile(path string) {
	whole := origin{source: path}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			l.errorf(whole, "", "config file not found")
		} else {
			l.errorf(whole, "", "cannot read config file: %v", unwrapPathError(err))
		}
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		l.errorf(whole, "", "config file is a directory")
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		l.errorf(whole, "", "cannot read config file: %v", unwrapPathError(err))
		return
	}
	if len(data) > maxFileSize {
		l.errorf(whole, "", "config file is larger than %d bytes (1 MiB); is this the right file?", maxFileSize)
		return
	}
	l.applyYAML(path, data)
}

// unwrapPathError drops the path from an *fs.PathError, since the Error
// already names the file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// applyYAML parses data and walks the node tree by hand rather than
// unmarshalling into a struct: struct decoding stops at the first problem,
// reports bad values in terms of Go types rather than dotted keys, and loses
// the line each value came from, which later validation errors need.
func (l *loader) applyYAML(path string, data []byte) {
	root, err := parseYAML(data)
	var multi *multiDocError
	if errors.As(err, &multi) {
		l.errorf(origin{source: path, line: multi.line}, "", "the file holds more than one YAML document (---); opsdeck reads exactly one")
		return
	}
	if err != nil {
		line, msg := splitYAMLError(err)
		l.errorf(origin{source: path, line: line}, "", "invalid YAML: %s", msg)
		return
	}
	if root == nil {
		return // empty file, or only comments: nothing to apply
	}
	doc := root
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return
		}
		doc = doc.Content[0]
	}
	doc = deref(doc)
	if isNull(doc) {
		return
	}
	if doc.Kind != yaml.MappingNode {
		l.errorf(origin{source: path, line: doc.Line}, "", "the file must be a mapping of settings (key: value), not %s", nodeKind(doc))
		return
	}
	l.walkMapping(path, doc, "")
}

// parseYAML decodes a single YAML document. It returns a nil node for empty
// input. yaml.v3 is third-party code fed operator-supplied bytes; a panic in
// it is turned into an error so a bad file cannot crash the binary.
func parseYAML(data []byte) (node *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			node, err = nil, fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return nil, err
	default:
		return nil, &multiDocError{line: extra.Line}
	}
	return &n, nil
}

// multiDocError reports a second YAML document, which would otherwise be
// silently ignored.
type multiDocError struct{ line int }

func (e *multiDocError) Error() string { return "more than one YAML document" }

// splitYAMLError pulls the line number out of yaml.v3's "yaml: line N: msg"
// errors so it can go in Error.Line like every other file problem.
func splitYAMLError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				return n, tail
			}
		}
	}
	return 0, msg
}

// walkMapping applies one mapping: the top level when prefix is "", or a
// section such as "http" otherwise. Sections nest one level only.
func (l *loader) walkMapping(path string, m *yaml.Node, prefix string) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn, vn := m.Content[i], deref(m.Content[i+1])
		at := origin{source: path, line: kn.Line}
		if kn.Kind != yaml.ScalarNode {
			l.errorf(at, prefix, "keys must be plain names, not %s", nodeKind(kn))
			continue
		}
		key := kn.Value
		full := key
		if prefix != "" {
			full = prefix + "." + key
		}
		if first, dup := seen[key]; dup {
			l.errorf(at, full, "duplicate key (first set on line %d)", first)
			continue
		}
		seen[key] = kn.Line
		if key == "<<" {
			l.errorf(at, prefix, "YAML merge keys (<<) are not supported; write the settings out")
			continue
		}
		if prefix == "" && l.isSection(key) {
			if isNull(vn) {
				continue // "http:" with nothing under it changes nothing
			}
			if vn.Kind != yaml.MappingNode {
				l.errorf(origin{source: path, line: vn.Line}, full, "expected a mapping of %s settings, got %s", key, nodeKind(vn))
				continue
			}
			l.walkMapping(path, vn, key)
			continue
		}
		s, ok := l.byKey[full]
		if !ok {
			msg := "unknown key"
			if hint := suggest(full, l.keys()); hint != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", hint)
			}
			l.errorf(at, full, "%s", msg)
			continue
		}
		l.setNode(s, vn, origin{source: path, line: vn.Line})
	}
}

// isSection reports whether key names a nested group of settings.
func (l *loader) isSection(key string) bool {
	for _, s := range settings() {
		if strings.HasPrefix(s.key, key+".") {
			return true
		}
	}
	return false
}

// setNode applies one YAML value to a setting, checking its shape first.
func (l *loader) setNode(s setting, vn *yaml.Node, o origin) {
	ptr := s.ptr(&l.cfg)
	if list, ok := ptr.(*[]string); ok {
		if isNull(vn) {
			*list = nil
			delete(l.itemLines, s.key)
			delete(l.failed, s.key)
			l.origins[s.key] = o
			return
		}
		if vn.Kind != yaml.SequenceNode {
			l.failed[s.key] = true
			l.errorf(o, s.key, "expected a list, got %s", nodeKind(vn))
			return
		}
		var items []string
		var lines []int
		for _, item := range vn.Content {
			item = deref(item)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				l.failed[s.key] = true
				l.errorf(origin{source: o.source, line: item.Line}, s.key, "list items must be strings, got %s", nodeKind(item))
				return
			}
			items = append(items, strings.TrimSpace(item.Value))
			lines = append(lines, item.Line)
		}
		*list = items
		l.itemLines[s.key] = lines
		delete(l.failed, s.key)
		l.origins[s.key] = o
		return
	}
	if vn.Kind != yaml.ScalarNode {
		l.failed[s.key] = true
		l.errorf(o, s.key, "expected %s, got %s", kindName(ptr), nodeKind(vn))
		return
	}
	if isNull(vn) {
		if _, ok := ptr.(*string); ok {
			l.set(s, "", o) // "base_url:" with no value reads naturally as empty
			return
		}
		l.failed[s.key] = true
		l.errorf(o, s.key, "missing value; expected %s", kindName(ptr))
		return
	}
	l.set(s, vn.Value, o)
}

// deref follows an alias to the node it names, so anchors work as in any
// YAML file. Aliases cannot nest, so one step is enough.
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// isNull reports whether n is YAML null ("", "~", "null").
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// nodeKind names a node's shape for messages.
func nodeKind(n *yaml.Node) string {
	switch {
	case n == nil || isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	case n.Kind == yaml.ScalarNode:
		return "a scalar " + quote(n.Value)
	default:
		return "a YAML node"
	}
}
