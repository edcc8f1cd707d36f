package auth

import (
	"sync"
	"time"
)

// loginLimiter counts failed logins per username and per source address in a
// sliding window. Once either count reaches its limit, further attempts for
// that key are refused without checking the password, until the oldest
// failure leaves the window. State is per process: on several nodes each
// node limits on its own, which still bounds guessing to a small multiple.
type loginLimiter struct {
	mu      sync.Mutex
	perUser int
	perIP   int
	window  time.Duration
	fails   map[string][]time.Time // "u:name" or "a:addr" -> failure times, oldest first
}

func newLoginLimiter(perUser, perIP int, window time.Duration) *loginLimiter {
	return &loginLimiter{perUser: perUser, perIP: perIP, window: window, fails: make(map[string][]time.Time)}
}

// blocked reports whether user or addr is over its limit, and when the
// earliest of them frees up.
func (l *loginLimiter) blocked(user, addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	check := func(key string, limit int) {
		ts := l.recent(key, now)
		if len(ts) >= limit {
			if w := ts[len(ts)-limit].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	check("u:"+user, l.perUser)
	check("a:"+addr, l.perIP)
	return wait > 0, wait
}

func (l *loginLimiter) fail(user, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range []string{"u:" + user, "a:" + addr} {
		ts := append(l.recent(key, now), now)
		// Keep only what the larger limit can need, so a flood cannot grow memory.
		if max := max(l.perUser, l.perIP); len(ts) > max {
			ts = ts[len(ts)-max:]
		}
		l.fails[key] = ts
	}
}

// succeed clears the user's failures; the address keeps its count so one
// valid account cannot be used to reset guessing against others.
func (l *loginLimiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "u:"+user)
}

func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	cut := now.Add(-l.window)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	}
	return ts
}

func (l *loginLimiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key := range l.fails {
		l.recent(key, now)
	}
}
