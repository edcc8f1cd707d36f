package agent

import (
	"strconv"
	"strings"
)

// A small line-based unified diff for configuration drift: common prefix and
// suffix trimmed, then Myers' O(ND) algorithm on the middle with a cap on D
// (past it the middle is shown as removed and re-added, still a correct
// diff, just not a minimal one), then hunks with three lines of context.

const (
	diffContext = 3
	diffMaxD    = 1000 // edit distance past which the diff stops searching for a minimal script
)

type diffOp struct {
	kind byte // ' ', '-' or '+'
	line string
}

// splitLines cuts s into lines that keep their "\n" (the last may lack one).
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.SplitAfter(s, "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// diffLines returns the edit script turning a into b.
func diffLines(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]diffOp, 0, len(a)+len(b)-pre-suf)
	for _, l := range a[:pre] {
		ops = append(ops, diffOp{' ', l})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if mid, ok := myers(ma, mb, diffMaxD); ok {
		ops = append(ops, mid...)
	} else {
		for _, l := range ma {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range mb {
			ops = append(ops, diffOp{'+', l})
		}
	}
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, diffOp{' ', l})
	}
	return ops
}

// myers finds a shortest edit script of at most maxD edits, or ok=false.
// It keeps, for each d, only the 2d+3 furthest-reaching x values it needs to
// walk back, so memory is O(maxD²) whatever the file sizes.
func myers(a, b []string, maxD int) ([]diffOp, bool) {
	n, m := len(a), len(b)
	if n == 0 && m == 0 {
		return nil, true
	}
	off := maxD + 2
	v := make([]int, 2*maxD+5)
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		snap := make([]int, 2*d+3)
		copy(snap, v[off-d-1:off+d+2])
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace), true
			}
		}
	}
	return nil, false
}

func backtrack(a, b []string, trace [][]int) []diffOp {
	x, y := len(a), len(b)
	var rev []diffOp
	for d := len(trace) - 1; d >= 0; d-- {
		snap := trace[d]
		at := func(k int) int { return snap[k+d+1] }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py && x > 0 && y > 0 {
			rev = append(rev, diffOp{' ', a[x-1]})
			x--
			y--
		}
		if d > 0 {
			if x == px {
				rev = append(rev, diffOp{'+', b[y-1]})
			} else {
				rev = append(rev, diffOp{'-', a[x-1]})
			}
		}
		x, y = px, py
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// unifiedDiff writes the unified diff of old and new content labelled with
// path, at most max bytes (cut at a line); truncated says it was cut.
func unifiedDiff(path, old, new string, max int) (diff string, truncated bool) {
	ops := diffLines(splitLines(old), splitLines(new))
	var changes []int
	for i, op := range ops {
		if op.kind != ' ' {
			changes = append(changes, i)
		}
	}
	if len(changes) == 0 {
		return "", false
	}
	var sb strings.Builder
	write := func(s string) bool {
		if sb.Len()+len(s) > max {
			truncated = true
			return false
		}
		sb.WriteString(s)
		return true
	}
	if !write("--- a" + path + "\n+++ b" + path + "\n") {
		return "", true
	}
	// aLine[i], bLine[i]: lines of old and new before ops[i].
	aLine := make([]int, len(ops)+1)
	bLine := make([]int, len(ops)+1)
	for i, op := range ops {
		aLine[i+1], bLine[i+1] = aLine[i], bLine[i]
		if op.kind != '+' {
			aLine[i+1]++
		}
		if op.kind != '-' {
			bLine[i+1]++
		}
	}
	for c := 0; c < len(changes); {
		first, last := changes[c], changes[c]
		c++
		for c < len(changes) && changes[c]-last <= 2*diffContext+1 {
			last = changes[c]
			c++
		}
		start := max0(first - diffContext)
		end := min(len(ops), last+diffContext+1)
		al, bl := aLine[end]-aLine[start], bLine[end]-bLine[start]
		if !write("@@ -" + hunkRange(aLine[start], al) + " +" + hunkRange(bLine[start], bl) + " @@\n") {
			break
		}
		ok := true
		for _, op := range ops[start:end] {
			l := string(op.kind) + op.line
			if !strings.HasSuffix(l, "\n") {
				l += "\n\\ No newline at end of file\n"
			}
			if ok = write(l); !ok {
				break
			}
		}
		if !ok {
			break
		}
	}
	return sb.String(), truncated
}

// hunkRange prints a unified diff range: the first line (1-based; the line
// before when the range is empty) and the count.
func hunkRange(before, count int) string {
	if count == 0 {
		return strconv.Itoa(before) + ",0"
	}
	return strconv.Itoa(before+1) + "," + strconv.Itoa(count)
}

func max0(x int) int {
	if x < 0 {
		return 0
	}
	return x
}
