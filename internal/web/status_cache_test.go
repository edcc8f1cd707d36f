package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/statuspage"
	"github.com/opsdeck/opsdeck/internal/store"
)

func TestStatusCache(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newStatusCache(30*time.Second, 3, clock)
	ctx := context.Background()
	var loads atomic.Int32
	load := func(title string) func(context.Context) (statuspage.View, error) {
		return func(context.Context) (statuspage.View, error) {
			loads.Add(1)
			return statuspage.View{Title: title}, nil
		}
	}

	e, err := c.get(ctx, "a", load("one"))
	if err != nil || e.view.Title != "one" {
		t.Fatalf("first get: %+v %v", e, err)
	}
	if e, _ := c.get(ctx, "a", load("two")); e.view.Title != "one" || loads.Load() != 1 {
		t.Fatalf("fresh entry reloaded: %s after %d loads", e.view.Title, loads.Load())
	}
	advance(31 * time.Second)
	if e, _ := c.get(ctx, "a", load("two")); e.view.Title != "two" || loads.Load() != 2 {
		t.Fatalf("stale entry not reloaded: %s", e.view.Title)
	}

	// While one caller refreshes a stale entry, the others get the old one.
	advance(31 * time.Second)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan string)
	go func() {
		e, _ := c.get(ctx, "a", func(context.Context) (statuspage.View, error) {
			close(started)
			<-release
			return statuspage.View{Title: "three"}, nil
		})
		done <- e.view.Title
	}()
	<-started
	if e, _ := c.get(ctx, "a", load("never")); e.view.Title != "two" {
		t.Fatalf("during a refresh got %q, want the stale view", e.view.Title)
	}
	close(release)
	if got := <-done; got != "three" {
		t.Fatalf("refresher got %q", got)
	}

	// Concurrent first reads of a page wait for one load.
	loads.Store(0)
	var wg sync.WaitGroup
	slow := func(context.Context) (statuspage.View, error) {
		loads.Add(1)
		time.Sleep(20 * time.Millisecond)
		return statuspage.View{Title: "b"}, nil
	}
	for range 20 {
		wg.Go(func() {
			if e, err := c.get(ctx, "b", slow); err != nil || e.view.Title != "b" {
				t.Errorf("concurrent get: %v", err)
			}
		})
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("20 concurrent first reads made %d loads", n)
	}

	// Errors are not kept; not found drops a stale entry, other errors
	// keep serving it.
	notFound := func(context.Context) (statuspage.View, error) { return statuspage.View{}, store.ErrNotFound }
	if _, err := c.get(ctx, "gone", notFound); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("not found: %v", err)
	}
	if _, ok := c.entries["gone"]; ok {
		t.Error("a not-found answer was kept")
	}
	advance(31 * time.Second)
	if e, err := c.get(ctx, "b", func(context.Context) (statuspage.View, error) { return statuspage.View{}, errors.New("db down") }); err != nil || e.view.Title != "b" {
		t.Errorf("failed refresh: %v, want the stale view", err)
	}
	if _, err := c.get(ctx, "b", notFound); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted page: %v", err)
	}

	// Bounded: never more than max entries.
	for i := range 10 {
		if _, err := c.get(ctx, fmt.Sprintf("p%d", i), load("x")); err != nil {
			t.Fatal(err)
		}
		advance(time.Second)
	}
	if n := len(c.entries); n > 3 {
		t.Errorf("%d entries, at most 3", n)
	}

	// clear forgets everything, and a load begun before it is not kept.
	started2, release2 := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = c.get(ctx, "late", func(context.Context) (statuspage.View, error) {
			close(started2)
			<-release2
			return statuspage.View{Title: "old"}, nil
		})
		close(done)
	}()
	<-started2
	c.clear()
	close(release2)
	<-done
	if e, _ := c.get(ctx, "late", load("new")); e.view.Title != "new" {
		t.Errorf("after clear got %q", e.view.Title)
	}
}

// TestPrivatePageNotReadForAnonymous checks that refusing a private page
// reads only whether it is public: its view is never read or cached for a
// caller who may not see it, so the refusal costs what an unknown page's
// does.
func TestPrivatePageNotReadForAnonymous(t *testing.T) {
	e := newTestEnv(t)
	id := createMonitorAPI(t, e, `{"name":"m1","type":"heartbeat","period":"1h"}`)
	createStatusPageAPI(t, e, fmt.Sprintf(`{"slug":"secret","title":"Secret","public":false,"monitors":[{"monitor_id":%d}]}`, id))
	sp := &statusPages{s: e.srv, pages: statuspage.NewService(e.db, statuspage.Options{Uptime: e.mons}), cache: newStatusCache(statusCacheTTL, statusCacheSize, time.Now)}
	serve := func(ctx context.Context) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/status/secret", nil).WithContext(ctx)
		req.SetPathValue("slug", "secret")
		sp.publicPage(rec, req)
		return rec.Code
	}
	anonymous := auth.WithActor(context.Background(), auth.Actor{Via: auth.ViaUI})
	if code := serve(anonymous); code != http.StatusNotFound {
		t.Fatalf("anonymous: %d", code)
	}
	if _, ok := sp.cache.peek("secret"); ok {
		t.Fatal("the private page's view was read for an anonymous caller")
	}
	viewer := auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: 1, Name: "v", Role: auth.RoleViewer}, Via: auth.ViaUI})
	if code := serve(viewer); code != http.StatusOK {
		t.Fatalf("viewer: %d", code)
	}
	if _, ok := sp.cache.peek("secret"); !ok {
		t.Fatal("the viewer's read was not cached")
	}
	// Cached now, it is still refused to anonymous callers.
	if code := serve(anonymous); code != http.StatusNotFound {
		t.Fatalf("anonymous after a viewer: %d", code)
	}
}
