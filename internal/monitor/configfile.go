package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// SourceFile marks monitors declared in YAML files; the API and UI refuse
// to edit them, since the next reload would undo the edit.
const SourceFile = "file"

// ErrManagedByFile refuses an API or UI change to a monitor declared in a file.
var ErrManagedByFile = errors.New("monitor: this monitor is declared in a file; change it there")

// FileError is a problem in a monitors file, with its place.
type FileError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *FileError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d", e.Line)
	}
	if e.Field != "" {
		return loc + ": " + e.Field + ": " + e.Msg
	}
	return loc + ": " + e.Msg
}

// maxMonitorsFile bounds one file's size.
const maxMonitorsFile = 8 << 20

// LoadFiles reads monitor definitions from a YAML file, or from every
// *.yaml and *.yml file in a folder (sorted by name). A file holds
//
//	monitors:
//	  - name: web
//	    type: http
//	    url: https://example.com
//	    interval: 30s
//
// Every definition is validated with checks; all problems are returned,
// each naming file, line and field.
func LoadFiles(path string, checks CheckFactory) ([]Definition, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, &FileError{File: path, Msg: "cannot read: " + err.Error()}
	}
	files := []string{path}
	if info.IsDir() {
		files = nil
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, &FileError{File: path, Msg: "cannot read folder: " + err.Error()}
		}
		for _, e := range entries {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(files)
	}
	var defs []Definition
	var errs []error
	names := map[string]string{} // name -> where first declared
	for _, f := range files {
		ds, lines, err := loadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, d := range ds {
			m, _, err := Parse(d, checks)
			if err != nil {
				fe := &FileError{File: f, Line: lines[i], Msg: err.Error()}
				if ve, ok := valid.As(err); ok {
					fe.Field, fe.Msg = fmt.Sprintf("monitors[%d].%s", i, ve.Field), ve.Msg
				}
				errs = append(errs, fe)
				continue
			}
			where := fmt.Sprintf("%s:%d", f, lines[i])
			if first, dup := names[m.Name]; dup {
				errs = append(errs, &FileError{File: f, Line: lines[i], Field: fmt.Sprintf("monitors[%d].name", i), Msg: fmt.Sprintf("%q is declared twice (first at %s)", m.Name, first)})
				continue
			}
			names[m.Name] = where
			defs = append(defs, d)
		}
	}
	return defs, errors.Join(errs...)
}

// loadFile parses one file into definitions and the line of each.
func loadFile(path string) ([]Definition, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &FileError{File: path, Msg: "cannot read: " + err.Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMonitorsFile+1))
	if err != nil {
		return nil, nil, &FileError{File: path, Msg: "cannot read: " + err.Error()}
	}
	if len(data) > maxMonitorsFile {
		return nil, nil, &FileError{File: path, Msg: fmt.Sprintf("larger than %d bytes", maxMonitorsFile)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil // an empty file declares nothing
		}
		return nil, nil, &FileError{File: path, Msg: "not valid YAML: " + err.Error()}
	}
	if len(doc.Content) == 0 {
		return nil, nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, &FileError{File: path, Line: root.Line, Msg: "the file must be a mapping with a \"monitors\" list"}
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Value != "monitors" {
			return nil, nil, &FileError{File: path, Line: k.Line, Field: k.Value, Msg: "unknown key; a monitors file has only \"monitors\""}
		}
		list = root.Content[i+1]
	}
	if list == nil || list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil, nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, nil, &FileError{File: path, Line: list.Line, Field: "monitors", Msg: "must be a list"}
	}
	var defs []Definition
	var lines []int
	for i, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			return nil, nil, &FileError{File: path, Line: item.Line, Field: fmt.Sprintf("monitors[%d]", i), Msg: "must be a mapping"}
		}
		var v map[string]any
		if err := item.Decode(&v); err != nil {
			return nil, nil, &FileError{File: path, Line: item.Line, Field: fmt.Sprintf("monitors[%d]", i), Msg: err.Error()}
		}
		d := Definition{}
		for k, val := range v {
			b, err := json.Marshal(jsonable(val))
			if err != nil {
				return nil, nil, &FileError{File: path, Line: item.Line, Field: fmt.Sprintf("monitors[%d].%s", i, k), Msg: "cannot be represented: " + err.Error()}
			}
			d[k] = b
		}
		defs = append(defs, d)
		lines = append(lines, item.Line)
	}
	return defs, lines, nil
}

// jsonable turns YAML's map[string]any / []any into JSON-encodable values
// (yaml.v3 already yields string keys for mappings decoded into any).
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		for i := range x {
			x[i] = jsonable(x[i])
		}
	}
	return v
}

// ReconcileResult says what a reconcile changed.
type ReconcileResult struct {
	Created, Updated, Deleted, Unchanged []string
}

// Reconcile makes the file-managed monitors equal the definitions: it
// creates missing ones, updates changed ones, deletes file monitors no
// longer declared, and takes over monitors of the same name made by API or
// UI (the file is the declared truth). Each change is audited as the system.
func (s *Service) Reconcile(ctx context.Context, defs []Definition, file string) (ReconcileResult, error) {
	var res ReconcileResult
	ctx = auth.WithActor(ctx, auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "file:" + file, Role: auth.RoleAdmin}, Via: auth.ViaSystem})
	existing := map[string]WithStatus{}
	var after int64
	for {
		page, next, err := s.List(ctx, ListFilter{After: after, Limit: 1000})
		if err != nil {
			return res, err
		}
		for _, w := range page {
			existing[w.Name] = w
		}
		if next == 0 {
			break
		}
		after = next
	}
	declared := map[string]bool{}
	for _, d := range defs {
		m, _, err := Parse(d, s.opts.Checks)
		if err != nil {
			return res, err
		}
		declared[m.Name] = true
		cur, ok := existing[m.Name]
		switch {
		case !ok:
			if _, err := s.create(ctx, d, SourceFile); err != nil {
				return res, fmt.Errorf("monitor %q: %w", m.Name, err)
			}
			res.Created = append(res.Created, m.Name)
		case cur.Source == SourceFile && sameDefinition(cur.Monitor, m):
			res.Unchanged = append(res.Unchanged, m.Name)
		default:
			if _, err := s.modify(ctx, cur.ID, d, SourceFile); err != nil {
				return res, fmt.Errorf("monitor %q: %w", m.Name, err)
			}
			res.Updated = append(res.Updated, m.Name)
		}
	}
	for name, w := range existing {
		if w.Source == SourceFile && !declared[name] {
			if err := s.deleteMonitor(ctx, w.ID); err != nil {
				return res, fmt.Errorf("monitor %q: %w", name, err)
			}
			res.Deleted = append(res.Deleted, name)
		}
	}
	for _, l := range [][]string{res.Created, res.Updated, res.Deleted, res.Unchanged} {
		slices.Sort(l)
	}
	return res, nil
}

func sameDefinition(a, b Monitor) bool {
	da, _ := json.Marshal(a.Definition())
	db, _ := json.Marshal(b.Definition())
	return bytes.Equal(da, db)
}

// ReconcileFiles loads path and reconciles it; errors in the files leave
// every monitor as it was.
func (s *Service) ReconcileFiles(ctx context.Context, path string) (ReconcileResult, error) {
	defs, err := LoadFiles(path, s.opts.Checks)
	if err != nil {
		return ReconcileResult{}, err
	}
	res, err := s.Reconcile(ctx, defs, path)
	if err != nil {
		return res, err
	}
	s.log.Info("monitors file applied", "path", path, "created", len(res.Created), "updated", len(res.Updated),
		"deleted", len(res.Deleted), "unchanged", len(res.Unchanged))
	return res, nil
}
