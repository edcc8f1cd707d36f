// Command backupload measures opsdeck's own backup and restore on a large
// SQLite database under a steady write load: it builds a database of the
// given size once (in -dir, reused on later runs), writes at -rate rows per
// second through the store's one writer connection, takes a backup with
// backup.CreateFile meanwhile, and reports the backup's duration, the write
// latency before and during it, and the restore's duration.
//
//	go run ./bench/backupload -size 1GiB -rate 100
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/store"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "opsdeck-backupload"), "work `folder` (the database is built once and kept)")
	sizeFlag := flag.String("size", "1GiB", "database `size` to build: 100MiB, 1GiB…")
	rate := flag.Int("rate", 100, "writes per second during the measurement")
	uncompressed := flag.Bool("store", false, "write the archive uncompressed (opsdeck backup --store)")
	baseline := flag.Duration("baseline", 5*time.Second, "how long to measure write latency before the backup")
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	dbPath := filepath.Join(*dir, "data", "opsdeck.db")
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if err := fill(ctx, db, dbPath, size); err != nil {
		log.Fatal(err)
	}
	st, _ := os.Stat(dbPath)
	fmt.Printf("database: %s (%.2f GiB)\n", dbPath, float64(st.Size())/(1<<30))
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_writes (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT NOT NULL)`); err != nil {
		log.Fatal(err)
	}

	w := startWriter(ctx, db, *rate)
	time.Sleep(*baseline)
	before := w.cut()
	archive := filepath.Join(*dir, "backup.tar.gz")
	_ = os.Remove(archive)
	began := time.Now()
	m, err := backup.CreateFile(ctx, db, archive, backup.CreateOptions{Version: "backupload", Store: *uncompressed})
	took := time.Since(began)
	during := w.cut()
	w.stop()
	if err != nil {
		log.Fatal(err)
	}
	ast, _ := os.Stat(archive)
	fmt.Printf("backup: %s in %s (database copy %.2f GiB, archive %.2f GiB, %.0f MiB/s)\n", archive, took.Round(time.Millisecond),
		float64(m.Size)/(1<<30), float64(ast.Size())/(1<<30), float64(m.Size)/(1<<20)/took.Seconds())
	fmt.Printf("writes before the backup: %s\n", before)
	fmt.Printf("writes during the backup: %s\n", during)

	target := filepath.Join(*dir, "restored")
	_ = os.RemoveAll(target)
	began = time.Now()
	res, err := backup.Restore(ctx, archive, target)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("restore (unpack, checksum, integrity check, move): %s in %s\n", res.Path, time.Since(began).Round(time.Millisecond))
	_ = os.RemoveAll(target)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"GiB": 1 << 30, "MiB": 1 << 20, "GB": 1e9, "MB": 1e6} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a number with MiB or GiB", s)
	}
	return int64(n * float64(mult)), nil
}

// fill grows the database to size with 4 KiB rows of hex text (which
// compresses about as well as opsdeck's own text data, roughly 2:1).
func fill(ctx context.Context, db *store.DB, path string, size int64) error {
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_fill (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)`); err != nil {
		return err
	}
	buf := make([]byte, 2048)
	began := time.Now()
	for {
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if st.Size() >= size {
			if time.Since(began) > time.Second {
				fmt.Printf("built the database in %s\n", time.Since(began).Round(time.Second))
			}
			return nil
		}
		tx, err := db.W.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i := 0; i < 5000; i++ {
			_, _ = rand.Read(buf)
			if _, err := tx.ExecContext(ctx, `INSERT INTO bench_fill (payload) VALUES ($1)`, hex.EncodeToString(buf)); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if _, err := db.W.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return err
		}
	}
}

// writer inserts rows at a fixed rate and records each insert's latency.
type writer struct {
	mu    sync.Mutex
	lat   []time.Duration
	errs  int
	done  chan struct{}
	wg    sync.WaitGroup
	begin time.Time
}

func startWriter(ctx context.Context, db *store.DB, rate int) *writer {
	w := &writer{done: make(chan struct{}), begin: time.Now()}
	w.wg.Go(func() {
		// Paced by absolute times, so a slow write is caught up rather
		// than its tick dropped: the rate holds unless writes stall.
		step := time.Second / time.Duration(rate)
		next := time.Now()
		for {
			next = next.Add(step)
			select {
			case <-w.done:
				return
			case <-time.After(time.Until(next)):
			}
			s := time.Now()
			_, err := db.W.ExecContext(ctx, `INSERT INTO bench_writes (at, v) VALUES ($1, $2)`, s.UTC().Format(time.RFC3339Nano), "load")
			d := time.Since(s)
			w.mu.Lock()
			w.lat = append(w.lat, d)
			if err != nil {
				w.errs++
			}
			w.mu.Unlock()
		}
	})
	return w
}

// cut returns the statistics since the last cut and starts anew.
func (w *writer) cut() string {
	w.mu.Lock()
	lat, errs, span := w.lat, w.errs, time.Since(w.begin)
	w.lat, w.errs, w.begin = nil, 0, time.Now()
	w.mu.Unlock()
	if len(lat) == 0 {
		return "none"
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return fmt.Sprintf("%d writes in %s (%.0f/s), latency p50 %s, p99 %s, max %s, errors %d", len(lat), span.Round(time.Millisecond),
		float64(len(lat))/span.Seconds(), q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), errs)
}

func (w *writer) stop() { close(w.done); w.wg.Wait() }
