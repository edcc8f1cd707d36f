package monitor

import (
	"container/heap"
	"context"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
)

// runtime is a scheduled monitor: its definition, its check, and its
// verdict. The scheduler owns it; mu guards the fields that change.
type runtime struct {
	mu      sync.Mutex
	mon     Monitor
	check   probe.Check
	v       verdict
	last    probe.Result
	lastAt  time.Time
	running bool
	removed bool
}

// entry is a runtime's place in the schedule.
type entry struct {
	rt    *runtime
	next  time.Time
	index int
}

type schedule []*entry

func (h schedule) Len() int           { return len(h) }
func (h schedule) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h schedule) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *schedule) Push(x any)        { e := x.(*entry); e.index = len(*h); *h = append(*h, e) }
func (h *schedule) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// scheduler starts each monitor's check once per interval. Start times are
// spread over the interval by a hash of the monitor id, so 10,000 monitors
// added at once do not all fire in the same second; at most `concurrency`
// checks run at a time; a check still running when its next turn comes is
// skipped (and counted), never run twice at once.
type scheduler struct {
	mu      sync.Mutex
	heap    schedule
	entries map[int64]*entry
	wake    chan struct{}
	sem     chan struct{}
	run     func(ctx context.Context, rt *runtime, due time.Time)
	skipped func(rt *runtime)
	now     func() time.Time
	wg      sync.WaitGroup
}

func newScheduler(concurrency int, now func() time.Time, run func(context.Context, *runtime, time.Time), skipped func(*runtime)) *scheduler {
	return &scheduler{entries: map[int64]*entry{}, wake: make(chan struct{}, 1), sem: make(chan struct{}, concurrency),
		run: run, skipped: skipped, now: now}
}

// phase spreads first runs: the same monitor always lands at the same offset
// within its interval, across restarts.
func phase(id int64, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(id, 10)))
	return time.Duration(h.Sum64() % uint64(interval))
}

// firstRun is the next time at or after now that falls on the monitor's phase.
func firstRun(now time.Time, id int64, interval time.Duration) time.Time {
	base := now.Truncate(interval).Add(phase(id, interval))
	if base.Before(now) {
		base = base.Add(interval)
	}
	return base
}

// upsert adds a monitor or replaces its definition, keeping its verdict.
func (s *scheduler) upsert(m Monitor, check probe.Check, v verdict) *runtime {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[m.ID]; ok {
		e.rt.mu.Lock()
		oldInterval := e.rt.mon.Interval
		e.rt.mon, e.rt.check = m, check
		e.rt.mu.Unlock()
		if oldInterval != m.Interval {
			e.next = firstRun(s.now(), m.ID, m.Interval)
			heap.Fix(&s.heap, e.index)
		}
		s.poke()
		return e.rt
	}
	rt := &runtime{mon: m, check: check, v: v}
	e := &entry{rt: rt, next: firstRun(s.now(), m.ID, m.Interval)}
	heap.Push(&s.heap, e)
	s.entries[m.ID] = e
	s.poke()
	return rt
}

func (s *scheduler) remove(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return
	}
	heap.Remove(&s.heap, e.index)
	delete(s.entries, id)
	e.rt.mu.Lock()
	e.rt.removed = true
	e.rt.mu.Unlock()
}

func (s *scheduler) get(id int64) *runtime {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[id]; ok {
		return e.rt
	}
	return nil
}

// each calls fn for every runtime (for metrics); fn must not call back.
func (s *scheduler) each(fn func(rt *runtime)) {
	s.mu.Lock()
	rts := make([]*runtime, 0, len(s.entries))
	for _, e := range s.entries {
		rts = append(rts, e.rt)
	}
	s.mu.Unlock()
	for _, rt := range rts {
		fn(rt)
	}
}

func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

type dispatch struct {
	rt  *runtime
	due time.Time
}

// loop runs until ctx ends, then waits for running checks to finish.
func (s *scheduler) loop(ctx context.Context) {
	defer s.wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []dispatch
	for {
		due = s.collectDue(due[:0])
		for _, d := range due {
			select {
			case s.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			s.wg.Add(1)
			go func(d dispatch) {
				defer s.wg.Done()
				defer func() { <-s.sem }()
				s.run(ctx, d.rt, d.due)
				d.rt.mu.Lock()
				d.rt.running = false
				d.rt.mu.Unlock()
			}(d)
		}
		s.mu.Lock()
		wait := time.Hour
		if len(s.heap) > 0 {
			wait = s.heap[0].next.Sub(s.now())
		}
		s.mu.Unlock()
		if len(due) > 0 {
			// Dispatching took time; look again before sleeping.
			continue
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// collectDue pops every entry whose time has come, reschedules it one
// interval later, and returns those to start.
func (s *scheduler) collectDue(out []dispatch) []dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for len(s.heap) > 0 && !s.heap[0].next.After(now) {
		e := s.heap[0]
		due := e.next
		e.next = due.Add(e.rt.mon.Interval)
		if !e.next.After(now) {
			// Far behind (the process stalled): skip missed turns rather than
			// firing them all at once, keeping the phase.
			e.next = firstRun(now, e.rt.mon.ID, e.rt.mon.Interval)
		}
		heap.Fix(&s.heap, 0)
		e.rt.mu.Lock()
		paused, running := e.rt.mon.Paused, e.rt.running
		if !paused && !running {
			e.rt.running = true
		}
		e.rt.mu.Unlock()
		switch {
		case paused:
		case running:
			s.skipped(e.rt)
		default:
			out = append(out, dispatch{rt: e.rt, due: due})
		}
	}
	return out
}
