package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The series read from opsdeck's /metrics. The rest (per-monitor gauges,
// 30,000 series with 10,000 monitors) is skipped by prefix.
const (
	delayHist    = "opsdeck_monitor_check_start_delay_seconds"
	checksTotal  = "opsdeck_monitor_checks_total"
	skippedTotal = "opsdeck_monitor_checks_skipped_total"
	heapInuse    = "go_memstats_heap_inuse_bytes"
	goroutines   = "go_goroutines"
)

var wanted = []string{delayHist, checksTotal, skippedTotal, heapInuse, goroutines}

// scrape is one reading of /metrics.
type scrape struct {
	at       time.Time     // middle of the request
	took     time.Duration // whole request, body included
	bytes    int64
	checks   map[string]float64 // by result label
	skipped  float64
	buckets  []bucket // cumulative, by upper bound
	count    float64
	heap     float64
	routines float64
}

type bucket struct {
	le    float64
	count float64
}

func (s scrape) checksSum() float64 {
	var n float64
	for _, v := range s.checks {
		n += v
	}
	return n
}

// fetchMetrics reads and parses url (the server's /metrics) with token.
func fetchMetrics(ctx context.Context, c *http.Client, url, token string) (scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return scrape{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return scrape{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return scrape{}, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	cr := &countingReader{r: resp.Body}
	s, err := parseMetrics(cr)
	s.took = time.Since(start)
	s.at = start.Add(s.took / 2)
	s.bytes = cr.n
	return s, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// parseMetrics reads the Prometheus text format, keeping only the series
// in wanted.
func parseMetrics(r io.Reader) (scrape, error) {
	s := scrape{checks: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || !hasAnyPrefix(line) {
			continue
		}
		name, labels, value, err := splitSample(line)
		if err != nil {
			return s, err
		}
		switch name {
		case delayHist + "_bucket":
			le, err := strconv.ParseFloat(label(labels, "le"), 64)
			if err != nil {
				return s, fmt.Errorf("metrics: bucket %q: %w", line, err)
			}
			s.buckets = append(s.buckets, bucket{le: le, count: value})
		case delayHist + "_count":
			s.count = value
		case checksTotal:
			s.checks[label(labels, "result")] = value
		case skippedTotal:
			s.skipped = value
		case heapInuse:
			s.heap = value
		case goroutines:
			s.routines = value
		}
	}
	slices.SortFunc(s.buckets, func(a, b bucket) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	return s, sc.Err()
}

func hasAnyPrefix(line string) bool {
	for _, p := range wanted {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// splitSample splits `name{a="b",c="d"} 1.5` (an optional timestamp after
// the value is ignored).
func splitSample(line string) (name, labels string, value float64, err error) {
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", "", 0, fmt.Errorf("metrics: bad line %q", line)
		}
		name, labels, rest = line[:i], line[i+1:j], strings.TrimSpace(line[j+1:])
	} else {
		name, rest, _ = strings.Cut(line, " ")
	}
	v, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	value, err = strconv.ParseFloat(v, 64)
	if err != nil {
		return "", "", 0, fmt.Errorf("metrics: bad value in %q", line)
	}
	return name, labels, value, nil
}

// label returns one label's value from `a="b",c="d"` (values here never
// hold quotes or commas).
func label(labels, key string) string {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == key {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// delayDelta is the start-delay histogram between two scrapes.
func delayDelta(a, b scrape) []bucket {
	out := make([]bucket, len(b.buckets))
	for i, bk := range b.buckets {
		out[i] = bk
		if i < len(a.buckets) && a.buckets[i].le == bk.le {
			out[i].count -= a.buckets[i].count
		}
	}
	return out
}

// quantile estimates the q-quantile of a cumulative histogram the way
// Prometheus's histogram_quantile does: linear within the bucket that holds
// the rank; in the +Inf bucket it returns the highest finite bound.
func quantile(q float64, bs []bucket) float64 {
	if len(bs) == 0 || bs[len(bs)-1].count == 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].count
	rank := q * total
	prevLE, prevCount := 0.0, 0.0
	for _, b := range bs {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return prevLE
			}
			if b.count == prevCount {
				return b.le
			}
			return prevLE + (b.le-prevLE)*(rank-prevCount)/(b.count-prevCount)
		}
		prevLE, prevCount = b.le, b.count
	}
	return prevLE
}

// fractionWithin is the share of observations at or under bound, exact when
// bound is a bucket boundary.
func fractionWithin(bound float64, bs []bucket) float64 {
	if len(bs) == 0 || bs[len(bs)-1].count == 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].count
	for _, b := range bs {
		if b.le >= bound {
			return b.count / total
		}
	}
	return 1
}

// slowestBucket is the lowest bucket bound that holds every observation:
// no check started later than this.
func slowestBucket(bs []bucket) float64 {
	if len(bs) == 0 || bs[len(bs)-1].count == 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].count
	for _, b := range bs {
		if b.count >= total {
			return b.le
		}
	}
	return math.Inf(1)
}
