package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var lats []time.Duration
	for i := 1; i <= 100; i++ {
		lats = append(lats, time.Duration(i)*time.Millisecond)
	}
	r := summarize(100, lats, 2, 0, time.Second)
	if r.P50 != 50*time.Millisecond || r.P99 != 99*time.Millisecond || r.Mx != 100*time.Millisecond || r.Achieved != 98 {
		t.Fatalf("%+v", r)
	}
}

func TestFlagsAreChecked(t *testing.T) {
	var errOut strings.Builder
	for _, args := range [][]string{{"-mode", "x", "-key", "k"}, {"-mode", "rate"}, {"-mode", "storm", "-key", "k", "-events", "5", "-keys", "10"}} {
		errOut.Reset()
		if code := run(t.Context(), args, io.Discard, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, %q", args, code, errOut.String())
		}
	}
	if e := string(event("K", 1003, 1000, 10)); !strings.Contains(e, `"dedup_key":"load-3"`) || !strings.Contains(e, `"source":"src-3"`) {
		t.Fatalf("event %s", e)
	}
}
