package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// loginLimiterMaxKeys bounds how many usernames and addresses the limiter
// tracks at once (a few MB at most), whatever a flood of logins throws at it.
const loginLimiterMaxKeys = 100_000

// loginLimiter counts login attempts per username and per source address in
// a sliding window. Each attempt counts as a failure from the moment it
// starts, until it turns out to have succeeded: so a burst of parallel
// guesses cannot all pass the check before the first one has failed. Once
// either count reaches its limit, further attempts for that key are refused
// without checking the password, until the oldest failure leaves the window.
// State is per process: on several nodes each node limits on its own, which
// still bounds guessing to a small multiple.
type loginLimiter struct {
	mu      sync.Mutex
	perUser int
	perIP   int
	window  time.Duration
	maxKeys int
	fails   map[string][]time.Time // userKey or addrKey -> failure times, oldest first
}

func newLoginLimiter(perUser, perIP int, window time.Duration) *loginLimiter {
	return &loginLimiter{perUser: perUser, perIP: perIP, window: window, maxKeys: loginLimiterMaxKeys, fails: make(map[string][]time.Time)}
}

// maxKeyLen bounds the bytes a key keeps; longer names are hashed.
const maxKeyLen = 64

func boundedKey(prefix, s string) string {
	if len(s) <= maxKeyLen {
		return prefix + s
	}
	sum := sha256.Sum256([]byte(s))
	return prefix + "#" + hex.EncodeToString(sum[:16])
}

func userKey(user string) string { return boundedKey("u:", user) }

// addrKey counts an address without its port, and an IPv6 address by its
// /64, the smallest block a site is usually given: otherwise one client
// could spread its guesses over ports or over the addresses of its own
// network.
func addrKey(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if ip, err := netip.ParseAddr(addr); err == nil {
		ip = ip.Unmap().WithZone("")
		if ip.Is6() {
			p, _ := ip.Prefix(64)
			return "a:" + p.String()
		}
		return "a:" + ip.String()
	}
	return boundedKey("a:", addr)
}

// attempt starts a login attempt for user from addr. When either is at its
// limit it refuses, reporting how long until the earliest of them frees up;
// otherwise it counts the attempt as a failure and returns 0. The caller then
// calls succeed or release, or nothing when the attempt failed.
func (l *loginLimiter) attempt(user, addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	uk, ak := userKey(user), addrKey(addr)
	wait := max(l.wait(uk, l.perUser, now), l.wait(ak, l.perIP, now))
	if wait > 0 {
		return wait
	}
	l.add(uk, now)
	l.add(ak, now)
	return 0
}

// succeed ends an attempt started at at that succeeded: the user's failures
// are forgotten, and the address only loses this attempt, so one valid
// account cannot be used to reset guessing against others.
func (l *loginLimiter) succeed(user, addr string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, userKey(user))
	l.remove(addrKey(addr), at)
}

// release takes back an attempt started at at that ended without a verdict,
// such as on a database error.
func (l *loginLimiter) release(user, addr string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remove(userKey(user), at)
	l.remove(addrKey(addr), at)
}

// wait reports how long key stays at or over limit; 0 when it is under.
func (l *loginLimiter) wait(key string, limit int, now time.Time) time.Duration {
	ts := l.recent(key, now)
	if len(ts) < limit {
		return 0
	}
	return max(ts[len(ts)-limit].Add(l.window).Sub(now), time.Nanosecond)
}

func (l *loginLimiter) add(key string, now time.Time) {
	ts, ok := l.fails[key]
	if !ok && len(l.fails) >= l.maxKeys {
		l.evict(now)
	}
	// Keep the times sorted: callers read the clock before the lock, so
	// they can arrive slightly out of order.
	i, _ := slices.BinarySearchFunc(ts, now, func(a, b time.Time) int { return a.Compare(b) })
	ts = slices.Insert(ts, i, now)
	// Keep only what the larger limit can need, so one key cannot grow.
	if n := max(l.perUser, l.perIP); len(ts) > n {
		ts = ts[len(ts)-n:]
	}
	l.fails[key] = ts
}

func (l *loginLimiter) remove(key string, at time.Time) {
	ts := l.fails[key]
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Equal(at) {
			ts = slices.Delete(ts, i, i+1)
			break
		}
	}
	if len(ts) == 0 {
		delete(l.fails, key)
		return
	}
	l.fails[key] = ts
}

// evict makes room for new keys once the map is full: first by forgetting
// what left the window, then, if a flood keeps it full, by dropping a
// quarter of the keys, those not at their limit first, so that a blocked
// account stays blocked while the flood goes on.
func (l *loginLimiter) evict(now time.Time) {
	for key := range l.fails {
		l.recent(key, now)
	}
	target := l.maxKeys * 3 / 4
	for _, keepBlocked := range []bool{true, false} {
		for key, ts := range l.fails {
			if len(l.fails) <= target {
				return
			}
			if keepBlocked && len(ts) >= l.limitFor(key) {
				continue
			}
			delete(l.fails, key)
		}
	}
}

func (l *loginLimiter) limitFor(key string) int {
	if key[0] == 'u' {
		return l.perUser
	}
	return l.perIP
}

// recent drops key's failures that left the window and returns the rest.
func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	cut := now.Add(-l.window)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	if i == 0 {
		return ts
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

// prune forgets every failure that left the window.
func (l *loginLimiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key := range l.fails {
		l.recent(key, now)
	}
}
