package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/statuspage"
	"github.com/opsdeck/opsdeck/internal/store"
)

// A public status page is read by many people at once, most of all during
// an outage, when everyone reloads it. Its view is kept for statusCacheTTL:
// within that time every request is served from memory. After it, the
// first request reads the view again while the others keep getting the
// older one, so no visitor waits behind another and the database sees one
// read per page at a time.
const (
	statusCacheTTL  = 30 * time.Second
	statusCacheSize = 32 // pages; a rendered page of 200 monitors is ~2 MB
	statusLoadLimit = 10 * time.Second
)

// statusCache holds the recent views of status pages by slug.
type statusCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*statusEntry
	gen     uint64 // bumped by clear, so loads begun before it are not kept
}

// statusEntry is one page's view and, made once on first use, its HTML.
type statusEntry struct {
	ready chan struct{} // closed when view and err are set
	view  statuspage.View
	err   error
	at    time.Time

	refreshing bool // guarded by statusCache.mu

	htmlOnce sync.Once
	html     []byte
	htmlErr  error
	gzOnce   sync.Once
	gz       []byte
}

func newStatusCache(ttl time.Duration, max int, now func() time.Time) *statusCache {
	return &statusCache{ttl: ttl, max: max, now: now, entries: map[string]*statusEntry{}}
}

func (e *statusEntry) done() bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// get returns the view of slug, from memory when it is fresh, else from
// load. Errors are not kept: a page not found now may be created next.
func (c *statusCache) get(ctx context.Context, slug string, load func(context.Context) (statuspage.View, error)) (*statusEntry, error) {
	c.mu.Lock()
	old := c.entries[slug]
	if old != nil {
		if !old.done() {
			// The first read is under way: wait for it.
			c.mu.Unlock()
			select {
			case <-old.ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if old.err != nil {
				return nil, old.err
			}
			return old, nil
		}
		if c.now().Sub(old.at) < c.ttl || old.refreshing {
			c.mu.Unlock()
			return old, nil
		}
		old.refreshing = true
	}
	e := &statusEntry{ready: make(chan struct{})}
	if old == nil {
		c.put(slug, e)
	}
	gen := c.gen
	c.mu.Unlock()

	// One caller leaving must not fail the others waiting for this read.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusLoadLimit)
	v, err := load(lctx)
	cancel()

	c.mu.Lock()
	defer c.mu.Unlock()
	e.view, e.err, e.at = v, err, c.now()
	close(e.ready)
	if old != nil {
		old.refreshing = false
	}
	switch {
	case err == nil:
		if c.gen == gen {
			c.put(slug, e)
		}
		return e, nil
	case old != nil && !errors.Is(err, store.ErrNotFound):
		// The database failed a refresh: the older view is better than an
		// error page, and the next request tries again.
		return old, nil
	}
	if cur := c.entries[slug]; cur == e || cur == old {
		delete(c.entries, slug)
	}
	return nil, err
}

// peek returns the view of slug when one has been read, fresh or not,
// without reading it.
func (c *statusCache) peek(slug string) (*statusEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[slug]
	if e == nil || !e.done() || e.err != nil {
		return nil, false
	}
	return e, true
}

// put stores e, first making room: expired entries go, then the oldest.
// Called with mu held.
func (c *statusCache) put(slug string, e *statusEntry) {
	if _, ok := c.entries[slug]; !ok && len(c.entries) >= c.max {
		now := c.now()
		var oldest string
		var oldestAt time.Time
		for k, x := range c.entries {
			if !x.done() || x.refreshing {
				continue
			}
			if now.Sub(x.at) >= c.ttl {
				delete(c.entries, k)
				continue
			}
			if oldest == "" || x.at.Before(oldestAt) {
				oldest, oldestAt = k, x.at
			}
		}
		if len(c.entries) >= c.max && oldest != "" {
			delete(c.entries, oldest)
		}
	}
	c.entries[slug] = e
}

// clear forgets every view, after a page was changed: a page made private
// must stop showing at once, not within the TTL.
func (c *statusCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[string]*statusEntry{}
	c.gen++
}

// renderOnce returns the entry's HTML, made by render on first use.
func (e *statusEntry) renderOnce(render func(statuspage.View) ([]byte, error)) ([]byte, error) {
	e.htmlOnce.Do(func() { e.html, e.htmlErr = render(e.view) })
	return e.html, e.htmlErr
}

// gzipped returns html compressed, made once. A page of 50 monitors is
// ~540 KiB of SVG bars that compress to a few percent of that, and one
// compression serves every visitor of the cache's lifetime.
func (e *statusEntry) gzipped(html []byte) []byte {
	e.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(html); err != nil {
			return
		}
		if err := zw.Close(); err != nil {
			return
		}
		e.gz = buf.Bytes()
	})
	return e.gz
}

// acceptsGzip reports whether a request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
