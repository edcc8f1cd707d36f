package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// TestBackupUnderWriteLoad takes a backup while writers commit rows as
// fast as they can, restores it into a new folder, and finds every row
// committed before the backup started.
func TestBackupUnderWriteLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "data", "opsdeck.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`CREATE TABLE load_rows (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	// committed is the highest id whose INSERT has returned: a committed
	// row. Writers insert ids in order through the one writer connection.
	var committed atomic.Int64
	var next atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := next.Add(1)
				if _, err := db.W.Exec(`INSERT INTO load_rows (id, v) VALUES ($1, $2)`, id, strings.Repeat("x", 200)); err != nil {
					t.Error(err)
					return
				}
				for {
					c := committed.Load()
					if id <= c || committed.CompareAndSwap(c, id) {
						break
					}
				}
			}
		})
	}
	for committed.Load() < 2000 {
		time.Sleep(5 * time.Millisecond)
	}
	// Every id up to the lowest one not yet returned is committed; take
	// the ids that returned before the backup began.
	var before []int64
	rows, err := db.R.Query(`SELECT id FROM load_rows`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		before = append(before, id)
	}
	rows.Close()
	archive := filepath.Join(dir, "b.tar.gz")
	m, err := CreateFile(ctx, db, archive, CreateOptions{Version: "test", Store: true})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if m.Dialect != "sqlite" || m.SchemaVersion < 19 || m.Size == 0 || len(m.SHA256) != 64 {
		t.Fatalf("manifest %+v", m)
	}
	var after int64
	_ = db.R.QueryRow(`SELECT COUNT(*) FROM load_rows`).Scan(&after)

	target := filepath.Join(dir, "restored")
	res, err := Restore(ctx, archive, target)
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := sql.Open("sqlite", "file:"+res.Path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	var n int64
	if err := rdb.QueryRow(`SELECT COUNT(*) FROM load_rows`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, id := range before {
		var x int64
		if err := rdb.QueryRow(`SELECT id FROM load_rows WHERE id = $1`, id).Scan(&x); err != nil {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d rows committed before the backup are missing from the restore", missing, len(before))
	}
	t.Logf("%d rows before the backup, %d in the restore, %d at the end", len(before), n, after)
	if n < int64(len(before)) || n > after {
		t.Fatalf("restored %d rows, outside [%d, %d]", n, len(before), after)
	}
}

// writeTestArchive builds a small real archive of a fresh database.
func writeTestArchive(t *testing.T) (string, []byte) {
	t.Helper()
	db := storetest.SQLite(t)
	p := filepath.Join(t.TempDir(), "ok.tar.gz")
	if _, err := CreateFile(context.Background(), db, p, CreateOptions{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

// rebuild writes an archive with the given manifest and data entries.
func rebuild(t *testing.T, m any, name string, data []byte) []byte {
	t.Helper()
	return rebuildTB(t, m, name, data)
}

func rebuildTB(t testing.TB, m any, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	mb, _ := json.Marshal(m)
	_ = tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(mb)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(mb)
	if name != "" {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(data)
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// TestRestoreRefusesBadArchives: corrupt, truncated and foreign files fail
// with a clear message and leave the data folder untouched.
func TestRestoreRefusesBadArchives(t *testing.T) {
	_, good := writeTestArchive(t)
	m, data := readGood(t, good)
	foreign := func() []byte {
		// A whole SQLite database that is not opsdeck's.
		p := filepath.Join(t.TempDir(), "other.db")
		db, err := sql.Open("sqlite", "file:"+p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = db.Exec(`CREATE TABLE notes (x TEXT)`)
		db.Close()
		return must(os.ReadFile(p))
	}()
	fm := m
	fm.SHA256, fm.Size = sha(foreign), int64(len(foreign))
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)/2] ^= 0xff
	badPage := append([]byte(nil), data...)
	for pg := 1; pg < 6 && (pg+1)*4096 <= len(badPage); pg++ {
		copy(badPage[pg*4096:], bytes.Repeat([]byte{0xAA}, 12)) // damage b-tree page headers, fix the checksum
	}
	bm := m
	bm.SHA256 = sha(badPage)
	newer := m
	newer.FormatVersion = 9
	wrongFile := m
	wrongFile.File = "../../etc/passwd"

	cases := []struct {
		name string
		body []byte
		want string
	}{
		{"empty file", nil, "not gzip"},
		{"text file", []byte("hello, I am not a backup\n"), "not gzip"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"truncated tail", good[:len(good)-4], "damaged"},
		{"flipped byte in data", rebuild(t, m, m.File, corrupt), "checksum does not match"},
		{"damaged database", rebuild(t, bm, m.File, badPage), "damaged"},
		{"foreign sqlite", rebuild(t, fm, m.File, foreign), "opsdeck"},
		{"no data entry", rebuild(t, m, "", nil), "missing"},
		{"format version", rebuild(t, newer, m.File, data), "format version 9"},
		{"path in manifest", rebuild(t, wrongFile, wrongFile.File, data), "unknown data file"},
		{"manifest is not JSON", rebuild(t, "just a string", m.File, data), "manifest is not valid"},
		{"other tar", func() []byte {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			tw := tar.NewWriter(zw)
			_ = tw.WriteHeader(&tar.Header{Name: "etc/hosts", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg})
			_, _ = tw.Write([]byte("abc"))
			_ = tw.Close()
			_ = zw.Close()
			return buf.Bytes()
		}(), "first entry"},
		{"trailing garbage", append(append([]byte(nil), good...), "junk"...), "damaged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "in.tar.gz")
			if err := os.WriteFile(src, tc.body, 0o600); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(dir, "data")
			_, err := Restore(context.Background(), src, target)
			if err == nil {
				t.Fatal("restore accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if _, serr := os.Stat(target); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("the data folder was created or touched: %v", serr)
			}
			left, _ := os.ReadDir(dir)
			if len(left) != 1 {
				t.Fatalf("staging left behind: %v", left)
			}
		})
	}
}

func TestRestoreOnlyIntoEmptyFolder(t *testing.T) {
	p, _ := writeTestArchive(t)
	target := t.TempDir()
	keep := filepath.Join(target, "opsdeck.db")
	if err := os.WriteFile(keep, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(context.Background(), p, target); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("non-empty folder: %v", err)
	}
	if b, _ := os.ReadFile(keep); string(b) != "precious" {
		t.Fatal("the existing file was touched")
	}
	// An empty existing folder is fine, and the result is an opsdeck
	// database that opens and migrates.
	empty := t.TempDir()
	res, err := Restore(context.Background(), p, empty)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), res.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.Migrate(context.Background()); err != nil || n != 0 {
		t.Fatalf("migrate restored: %d %v", n, err)
	}
}

func readGood(t *testing.T, b []byte) (Manifest, []byte) {
	t.Helper()
	dir := t.TempDir()
	m, p, err := Extract(bytes.NewReader(b), dir)
	if err != nil {
		t.Fatal(err)
	}
	return m, must(os.ReadFile(p))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func sha(b []byte) string {
	p := filepath.Join(os.TempDir(), "sha-"+time.Now().Format("150405.000000000"))
	_ = os.WriteFile(p, b, 0o600)
	defer os.Remove(p)
	s, _, _ := fileSHA256(p)
	return s
}

func FuzzExtract(f *testing.F) {
	// Small seeds (a real archive is mostly database pages) keep the
	// mutator on the parts that matter: framing, manifest, entries.
	data := []byte("SQLite format 3\x00 pretend pages")
	m := Manifest{Format: ArchiveFormat, FormatVersion: archiveVersion, Version: "seed", Dialect: "sqlite", SchemaVersion: 19,
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), File: sqliteFile, Size: int64(len(data)), SHA256: sha(data)}
	good := rebuildTB(f, m, m.File, data)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(rebuildTB(f, m, "", nil))
	f.Add([]byte{})
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		dir, err := os.MkdirTemp(base, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		m, out, err := Extract(bytes.NewReader(b), dir)
		if err != nil {
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("error is not ErrBadArchive: %v", err)
			}
			return
		}
		got, size, err := fileSHA256(out)
		if err != nil || got != m.SHA256 || size != m.Size || filepath.Dir(out) != dir {
			t.Fatalf("accepted archive does not match its manifest: %+v %s %d", m, got, size)
		}
	})
}

func TestPostgresBackup(t *testing.T) {
	db := storetest.Postgres(t)
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "pg.tar.gz")
	if _, err := CreateFile(ctx, db, p, CreateOptions{PGDump: "/nonexistent/pg_dump", DSN: "postgres://x"}); err == nil {
		t.Fatal("missing pg_dump accepted")
	}
	if _, err := exec.LookPath("pg_dump"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_dump missing under CI")
		}
		t.Skip("pg_dump not installed")
	}
	// The test database's DSN: the admin DSN with the test database's name.
	var name string
	if err := db.R.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(os.Getenv(storetest.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	dsn := u.String()
	m, err := CreateFile(ctx, db, p, CreateOptions{DSN: dsn, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Dialect != "postgres" || m.File != pgDumpFile || m.Size < 1000 {
		t.Fatalf("manifest %+v", m)
	}
	res, err := Restore(ctx, p, filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pg_restore", "--list", res.Path).CombinedOutput(); err != nil || !strings.Contains(string(out), "backup_jobs") {
		t.Fatalf("pg_restore --list: %v\n%.500s", err, out)
	}
}

func FuzzParseManifest(f *testing.F) {
	data := []byte("x")
	good, _ := json.Marshal(Manifest{Format: ArchiveFormat, FormatVersion: archiveVersion, Dialect: "sqlite", File: sqliteFile, Size: 1, SHA256: sha(data)})
	f.Add(good)
	f.Add([]byte(`{"format":"opsdeck-backup","format_version":1,"dialect":"postgres","file":"opsdeck.pgdump","size":-1,"sha256":""}`))
	f.Add([]byte(`{"file":"../../etc/passwd"}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("error is not ErrBadArchive: %v", err)
			}
			return
		}
		if (m.File != sqliteFile && m.File != pgDumpFile) || strings.ContainsAny(m.File, "/\\") || m.Size < 0 || len(m.SHA256) != 64 {
			t.Fatalf("accepted %+v", m)
		}
	})
}
