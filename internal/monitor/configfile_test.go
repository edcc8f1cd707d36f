package monitor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFilesNamesFileLineAndField(t *testing.T) {
	f := &factory{}
	dir := t.TempDir()
	for _, tc := range []struct {
		body string
		want string
	}{
		{"monitors:\n  - name: a\n    type: scripted\n    key: a\n    interval: 1ms\n", "m.yaml:2: monitors[0].interval"},
		{"monitors:\n  - name: a\n    type: scripted\n    key: a\n  - name: b\n    type: scripted\n", "m.yaml:5: monitors[1].key"},
		{"monitors:\n  - name: a\n    type: scripted\n    key: a\n  - name: a\n    type: scripted\n    key: b\n", "m.yaml:5: monitors[1].name: \"a\" is declared twice"},
		{"checks:\n  - name: a\n", "m.yaml:1: checks: unknown key"},
		{"monitors: web\n", "m.yaml:1: monitors: must be a list"},
		{"monitors:\n  - just a string\n", "m.yaml:2: monitors[0]: must be a mapping"},
		{"monitors: [\n", "not valid YAML"},
		{"- a\n- b\n", "must be a mapping with a \"monitors\" list"},
	} {
		p := filepath.Join(dir, "m.yaml")
		writeFile(t, p, tc.body)
		_, err := LoadFiles(p, f.build)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.body, err, tc.want)
		}
	}
	if _, err := LoadFiles(filepath.Join(dir, "missing.yaml"), f.build); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	writeFile(t, big, "monitors:\n"+strings.Repeat("  - name: x\n", maxMonitorsFile/12+10))
	if _, err := LoadFiles(big, f.build); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversize file: %v", err)
	}
}

func TestReconcileFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := &factory{}
		s, _ := startService(t, db, f, nil)
		ctx := context.Background()
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "10-web.yaml"), "monitors:\n  - name: web\n    type: scripted\n    key: web\n    interval: 1s\n    tags: [prod]\n")
		writeFile(t, filepath.Join(dir, "20-db.yml"), "monitors:\n  - name: db\n    type: scripted\n    key: db\n")
		writeFile(t, filepath.Join(dir, "notes.txt"), "ignored")
		// A monitor made through the API with a declared name is taken over.
		if _, err := s.Create(ctx, def(t, `{"name":"db","type":"scripted","key":"old"}`)); err != nil {
			t.Fatal(err)
		}
		res, err := s.ReconcileFiles(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(res.Created, ",") != "web" || strings.Join(res.Updated, ",") != "db" {
			t.Fatalf("first apply: %+v", res)
		}
		ws, _, _ := s.List(ctx, ListFilter{})
		for _, w := range ws {
			if w.Source != SourceFile {
				t.Fatalf("%s source %q", w.Name, w.Source)
			}
		}
		// The API refuses to edit or delete them.
		if _, err := s.Update(ctx, ws[0].ID, ws[0].Definition()); !errors.Is(err, ErrManagedByFile) {
			t.Fatalf("update file monitor: %v", err)
		}
		if err := s.Delete(ctx, ws[0].ID); !errors.Is(err, ErrManagedByFile) {
			t.Fatalf("delete file monitor: %v", err)
		}
		// Applying again changes nothing; a change and a removal apply.
		if res, err := s.ReconcileFiles(ctx, dir); err != nil || len(res.Unchanged) != 2 || len(res.Created)+len(res.Updated)+len(res.Deleted) != 0 {
			t.Fatalf("second apply: %+v %v", res, err)
		}
		writeFile(t, filepath.Join(dir, "10-web.yaml"), "monitors:\n  - name: web\n    type: scripted\n    key: web\n    interval: 5s\n")
		os.Remove(filepath.Join(dir, "20-db.yml"))
		res, err = s.ReconcileFiles(ctx, dir)
		if err != nil || strings.Join(res.Updated, ",") != "web" || strings.Join(res.Deleted, ",") != "db" {
			t.Fatalf("third apply: %+v %v", res, err)
		}
		// A broken file changes nothing.
		writeFile(t, filepath.Join(dir, "10-web.yaml"), "monitors:\n  - name: web\n    type: nope\n")
		if _, err := s.ReconcileFiles(ctx, dir); err == nil || !strings.Contains(err.Error(), "10-web.yaml:2") {
			t.Fatalf("broken file: %v", err)
		}
		ws, _, _ = s.List(ctx, ListFilter{})
		if len(ws) != 1 || ws[0].Interval.String() != "5s" {
			t.Fatalf("after broken file: %+v", ws)
		}
	})
}

func FuzzLoadFiles(f *testing.F) {
	for _, s := range []string{"monitors:\n  - name: a\n    type: scripted\n    key: a\n", "monitors: []", "", "monitors:\n  - {name: [1], type: {}}\n", "a: &x [*x]\n", "monitors:\n  - <<: {name: a}\n"} {
		f.Add(s)
	}
	fac := &factory{}
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(t.TempDir(), "m.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		defs, err := LoadFiles(p, fac.build)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FileError", err)
			}
			return
		}
		for _, d := range defs {
			if _, _, err := Parse(d, fac.build); err != nil {
				t.Fatalf("LoadFiles returned a definition Parse refuses: %v", err)
			}
		}
	})
}
