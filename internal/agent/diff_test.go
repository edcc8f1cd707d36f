package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testTime = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// applyUnified applies a unified diff to old, checking every context and
// removed line; it is the test's independent reading of the format.
func applyUnified(old, diff string) (string, error) {
	dl := splitLines(diff)
	if len(dl) < 2 || !strings.HasPrefix(dl[0], "--- ") || !strings.HasPrefix(dl[1], "+++ ") {
		return "", fmt.Errorf("no header")
	}
	type op struct {
		kind byte
		text string
	}
	src := splitLines(old)
	var out []string
	pos := 0
	i := 2
	for i < len(dl) {
		var a, al, b, bl int
		if _, err := fmt.Sscanf(dl[i], "@@ -%d,%d +%d,%d @@", &a, &al, &b, &bl); err != nil {
			return "", fmt.Errorf("hunk header %q: %v", dl[i], err)
		}
		i++
		var ops []op
		for i < len(dl) && !strings.HasPrefix(dl[i], "@@") {
			l := dl[i]
			if strings.HasPrefix(l, `\ No newline`) {
				if len(ops) == 0 {
					return "", fmt.Errorf("no-newline marker first")
				}
				ops[len(ops)-1].text = strings.TrimSuffix(ops[len(ops)-1].text, "\n")
			} else {
				ops = append(ops, op{l[0], l[1:]})
			}
			i++
		}
		start := a - 1
		if al == 0 {
			start = a
		}
		if start < pos || start > len(src) {
			return "", fmt.Errorf("hunk start %d at %d", start, pos)
		}
		out = append(out, src[pos:start]...)
		pos = start
		na, nb := 0, 0
		for _, o := range ops {
			switch o.kind {
			case ' ', '-':
				if pos >= len(src) || src[pos] != o.text {
					return "", fmt.Errorf("line %d: have %q, diff says %q", pos+1, at(src, pos), o.text)
				}
				pos++
				na++
				if o.kind == ' ' {
					out = append(out, o.text)
					nb++
				}
			case '+':
				out = append(out, o.text)
				nb++
			default:
				return "", fmt.Errorf("bad line kind %q", o.kind)
			}
		}
		if na != al || nb != bl {
			return "", fmt.Errorf("hunk counts -%d +%d, header says -%d +%d", na, nb, al, bl)
		}
	}
	out = append(out, src[pos:]...)
	return strings.Join(out, ""), nil
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<end>"
}

func TestUnifiedDiff(t *testing.T) {
	var big, bigNew strings.Builder
	for i := range 2000 {
		big.WriteString("line " + strconv.Itoa(i) + "\n")
		if i%100 == 7 {
			bigNew.WriteString("changed " + strconv.Itoa(i) + "\n")
		} else {
			bigNew.WriteString("line " + strconv.Itoa(i) + "\n")
		}
	}
	cases := []struct{ name, old, new string }{
		{"one line", "a\nb\nc\n", "a\nB\nc\n"},
		{"append", "a\n", "a\nb\n"},
		{"from empty", "", "a\nb\n"},
		{"to empty", "a\nb\n", ""},
		{"no final newline", "a\nb", "a\nb\n"},
		{"far apart", strings.Repeat("x\n", 20) + "y\n" + strings.Repeat("x\n", 20), "z\n" + strings.Repeat("x\n", 40)},
		{"many hunks", big.String(), bigNew.String()},
		{"rewrite", "a\nb\nc\n", "d\ne\nf\ng\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, truncated := unifiedDiff("/etc/x.conf", c.old, c.new, 1<<20)
			if truncated || d == "" {
				t.Fatalf("truncated %v, diff %q", truncated, d)
			}
			got, err := applyUnified(c.old, d)
			if err != nil || got != c.new {
				t.Fatalf("apply: %v\ngot %q\ndiff:\n%s", err, got, d)
			}
			checkWithPatch(t, c.old, c.new, d)
		})
	}
	d, _ := unifiedDiff("/etc/x", "a\nb\nc\n", "a\nB\nc\n", 1<<20)
	want := "--- a/etc/x\n+++ b/etc/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
	if d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}
	if d, tr := unifiedDiff("/x", "same\n", "same\n", 100); d != "" || tr {
		t.Errorf("equal texts: %q %v", d, tr)
	}
}

// checkWithPatch applies the diff with GNU patch too, when it is installed.
func checkWithPatch(t *testing.T, old, new, diff string) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		return
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(patch, "-s", "--no-backup-if-mismatch", f)
	cmd.Stdin = strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch: %v: %s", err, out)
	}
	b, _ := os.ReadFile(f)
	if string(b) != new {
		t.Fatalf("patch gave %q, want %q", b, new)
	}
}

func TestUnifiedDiffCap(t *testing.T) {
	old := strings.Repeat("a line of configuration\n", 10000)
	new := strings.Repeat("another line entirely!!\n", 10000)
	start := time.Now()
	d, truncated := unifiedDiff("/etc/big", old, new, 64<<10)
	if !truncated || len(d) > 64<<10 || len(d) < 60<<10 {
		t.Fatalf("truncated %v len %d", truncated, len(d))
	}
	if !strings.HasSuffix(d, "\n") {
		t.Error("cut inside a line")
	}
	t.Logf("20,000-line rewrite diffed in %s", time.Since(start))
	// Past diffMaxD edits the middle is shown removed and re-added; the
	// result must still apply.
	var a, b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&a, "%d\n", i)
		fmt.Fprintf(&b, "%d\n", i*7)
	}
	d, truncated = unifiedDiff("/x", a.String(), b.String(), 1<<22)
	if truncated {
		t.Fatal("truncated")
	}
	got, err := applyUnified(a.String(), d)
	if err != nil || got != b.String() {
		t.Fatalf("apply after the D cap: %v", err)
	}
	if d, tr := unifiedDiff("/x", "a\n", "b\n", 5); d != "" || !tr {
		t.Errorf("cap below the header: %q %v", d, tr)
	}
}

func TestMyersMinimal(t *testing.T) {
	ops, ok := myers(strings.Split("ABCABBA", ""), strings.Split("CBABAC", ""), 100)
	if !ok {
		t.Fatal("no script")
	}
	edits := 0
	for _, o := range ops {
		if o.kind != ' ' {
			edits++
		}
	}
	if edits != 5 { // the classic example from Myers' paper: D = 5
		t.Errorf("edits = %d, want 5", edits)
	}
	if _, ok := myers(strings.Split("abcdef", ""), strings.Split("uvwxyz", ""), 3); ok {
		t.Error("D cap ignored")
	}
}
