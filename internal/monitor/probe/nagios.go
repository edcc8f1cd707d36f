package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Limits on what a plugin may print and on what of it is kept. Plugins run
// every few seconds for thousands of monitors, so a runaway plugin must not
// cost more than a few kilobytes of memory.
const (
	// nagiosMaxStdout and nagiosMaxStderr together are the 64 KiB read from
	// a run; the rest is read and thrown away so the plugin never blocks.
	nagiosMaxStdout = 60 << 10
	nagiosMaxStderr = 4 << 10
	// nagiosMaxOutput caps Result.Output (long text and stderr).
	nagiosMaxOutput = 16 << 10
	// nagiosMaxMessage caps Result.Message, the first line.
	nagiosMaxMessage = 1024
	// nagiosMaxMetrics caps the perfdata items kept from one run.
	nagiosMaxMetrics = 1000
	// nagiosKillGrace is how long Probe waits, after killing the plugin's
	// process group, for it to be reaped and its pipes to close.
	nagiosKillGrace = 500 * time.Millisecond
)

// NagiosSettings are the settings of a nagios check: a Nagios-compatible
// plugin (Monitoring Plugins, Icinga or home-made) to run.
type NagiosSettings struct {
	// Command is the absolute path of the plugin.
	Command string `json:"command"`
	// Args are passed to the plugin as they are: no shell splits, expands
	// or globs them.
	Args []string `json:"args,omitempty"`
	// Env adds to (or overrides) the plugin's small default environment:
	// PATH, HOME and TZ from opsdeck's own, and LC_ALL=C so that numbers in
	// perfdata use a decimal point. Nothing else of opsdeck's environment,
	// which may hold secrets, reaches the plugin.
	Env map[string]string `json:"env,omitempty"`
}

// Nagios is a validated nagios check. Its exit code gives the status: 0 up,
// 1 degraded, 2 down, 3 unknown. The plugin is executed directly, never
// through a shell, in its own process group so that a timeout kills
// whatever it started too.
type Nagios struct {
	settings NagiosSettings
}

var _ Check = (*Nagios)(nil)

// NewNagios decodes and validates the settings of a nagios check. Errors
// name the offending field as a *valid.Error, except for malformed JSON.
// The plugin need not exist yet: it is looked for at each run, and a
// missing plugin is an unknown result, as in Nagios.
func NewNagios(raw json.RawMessage) (*Nagios, error) {
	var s NagiosSettings
	if err := decodeSettings("nagios", raw, &s); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &Nagios{settings: s}, nil
}

// Settings returns the check's settings.
func (n *Nagios) Settings() NagiosSettings { return n.settings }

func (n *NagiosSettings) validate() error {
	switch {
	case n.Command == "":
		return valid.Errorf("command", "is required")
	case len(n.Command) > 4096:
		return valid.Errorf("command", "is too long")
	case !utf8.ValidString(n.Command) || strings.ContainsFunc(n.Command, isControl):
		return valid.Errorf("command", "contains a control character or invalid UTF-8")
	case !filepath.IsAbs(n.Command):
		return valid.Errorf("command", "must be an absolute path, such as /usr/lib/nagios/plugins/check_tcp")
	}
	if strings.ContainsAny(n.Command, " \t") {
		if _, err := os.Stat(n.Command); err != nil {
			return valid.Errorf("command", "must be the plugin's path alone; put its arguments in args (no shell is used)")
		}
	}
	if len(n.Args) > 128 {
		return valid.Errorf("args", "has %d arguments, at most 128", len(n.Args))
	}
	for i, a := range n.Args {
		if len(a) > 4096 {
			return valid.Errorf("args", "argument %d is too long (at most 4096 bytes)", i+1)
		}
		if strings.ContainsRune(a, 0) || !utf8.ValidString(a) {
			return valid.Errorf("args", "argument %d contains a NUL byte or invalid UTF-8", i+1)
		}
	}
	if len(n.Env) > 64 {
		return valid.Errorf("env", "has %d variables, at most 64", len(n.Env))
	}
	for _, k := range slices.Sorted(maps.Keys(n.Env)) {
		if !isEnvName(k) {
			return valid.Errorf("env", "%q is not a variable name (letters, digits and _, not starting with a digit)", k)
		}
		v := n.Env[k]
		if len(v) > 4096 || strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
			return valid.Errorf("env", "the value of %s is too long or contains a NUL byte or invalid UTF-8", k)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// controlToSpace is a strings.Map function that keeps a message on one
// line and free of terminal escapes.
func controlToSpace(r rune) rune {
	if unicode.IsControl(r) {
		return ' '
	}
	return r
}

func isEnvName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Target returns the command line, quoted where an argument needs it.
func (n *Nagios) Target() string {
	parts := make([]string, 0, 1+len(n.settings.Args))
	for _, s := range append([]string{n.settings.Command}, n.settings.Args...) {
		parts = append(parts, shellQuote(s))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for display the way a POSIX shell would read it back.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// environ is the plugin's environment: a small safe base plus Env.
func (n *NagiosSettings) environ() []string {
	env := map[string]string{
		"PATH":   "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LC_ALL": "C",
		"LANG":   "C",
	}
	for _, k := range []string{"PATH", "HOME", "TZ"} {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			env[k] = v
		}
	}
	maps.Copy(env, n.Env)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// Probe runs the plugin once. At ctx's deadline the plugin's whole process
// group is killed and the result is down, as Nagios treats a timed-out
// service check as critical by default.
func (n *Nagios) Probe(ctx context.Context) Result {
	ctx, cancel, budget := withProbeDeadline(ctx)
	defer cancel()
	s := n.settings
	if msg := checkPlugin(s.Command); msg != "" {
		return Result{Status: StatusUnknown, Message: msg}
	}
	run, err := startPlugin(s.Command, s.Args, s.environ())
	if err != nil {
		return Result{Status: StatusUnknown, Message: "cannot run plugin: " + describeExecError(err)}
	}
	timedOut := run.wait(ctx)
	res := Result{Latency: run.elapsed}
	if run.stuck {
		return Result{Status: StatusUnknown, Latency: run.elapsed,
			Message: "plugin did not exit after being killed at the timeout"}
	}

	stdout, stderr := run.stdout.text(), run.stderr.text()
	po := ParsePluginOutput(stdout)
	if len(po.Metrics) > nagiosMaxMetrics {
		po.Metrics = po.Metrics[:nagiosMaxMetrics]
	}
	res.Metrics = po.Metrics
	res.Output = nagiosOutput(po.LongText, stderr, run.stdout.dropped, run.stderr.dropped)
	text := po.Text
	if text == "" {
		text, _, _ = strings.Cut(strings.TrimSpace(stderr), "\n")
	}
	text = truncateText(strings.TrimSpace(strings.Map(controlToSpace, text)), nagiosMaxMessage)

	ws, _ := run.cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case timedOut:
		res.Status = StatusDown
		res.Message = "timeout after " + formatBudget(budget) + "; plugin killed with its process group"
		if errors.Is(ctx.Err(), context.Canceled) {
			res.Status = StatusUnknown
			res.Message = "check canceled before it finished; plugin killed"
		}
		if text != "" {
			res.Message += ": " + text
		}
		return res
	case ws.Signaled():
		res.Status = StatusUnknown
		res.Message = fmt.Sprintf("plugin killed by signal %s", unix.SignalName(ws.Signal()))
		if text != "" {
			res.Message += ": " + text
		}
		return res
	}
	code := run.cmd.ProcessState.ExitCode()
	switch code {
	case 0:
		res.Status = StatusUp
	case 1:
		res.Status = StatusDegraded
	case 2:
		res.Status = StatusDown
	case 3:
		res.Status = StatusUnknown
	default:
		res.Status = StatusUnknown
		res.Message = fmt.Sprintf("plugin exited with code %d (want 0-3)", code)
		if text != "" {
			res.Message += ": " + text
		}
		return res
	}
	res.Message = text
	if res.Message == "" {
		res.Message = fmt.Sprintf("plugin exited with code %d and printed nothing", code)
	}
	return res
}

// checkPlugin says why path cannot be run, or returns "".
func checkPlugin(path string) string {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "plugin " + path + " not found"
	case err != nil:
		return "cannot run plugin: " + describeExecError(err)
	case !fi.Mode().IsRegular():
		return "plugin " + path + " is not a regular file"
	case fi.Mode().Perm()&0o111 == 0:
		return "plugin " + path + " is not executable"
	}
	return ""
}

func describeExecError(err error) string {
	if errors.Is(err, syscall.ENOEXEC) {
		return "exec format error (a script needs a #! line)"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// nagiosOutput joins the long text and stderr into Result.Output, with a
// note when output was cut.
func nagiosOutput(long, stderr string, droppedOut, droppedErr int64) string {
	var b strings.Builder
	b.WriteString(long)
	if stderr = strings.TrimSpace(stderr); stderr != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("[stderr]\n")
		b.WriteString(stderr)
	}
	out := truncateText(b.String(), nagiosMaxOutput)
	if droppedOut > 0 || droppedErr > 0 {
		if out != "" {
			out += "\n"
		}
		out += fmt.Sprintf("[output too long: %d bytes of stdout and %d of stderr not kept]", droppedOut, droppedErr)
	}
	return out
}

// truncateText cuts s to at most max bytes on a rune boundary, marking the
// cut with an ellipsis.
func truncateText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// pluginRun is one started plugin process and the readers of its output.
type pluginRun struct {
	cmd            *exec.Cmd
	start          time.Time
	elapsed        time.Duration
	stdout, stderr *cappedOutput
	outR, errR     *os.File
	readers        sync.WaitGroup
	// stuck is set when the plugin outlived SIGKILL by the grace period; a
	// goroutine keeps waiting to reap it.
	stuck bool
}

// startPlugin starts path in a new process group with stdin on /dev/null
// and its stdout and stderr read, capped, by two goroutines.
func startPlugin(path string, args, env []string) (*pluginRun, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	run := &pluginRun{
		cmd:    cmd,
		start:  time.Now(),
		stdout: &cappedOutput{max: nagiosMaxStdout},
		stderr: &cappedOutput{max: nagiosMaxStderr},
		outR:   outR,
		errR:   errR,
	}
	err = cmd.Start()
	// The child has its own copies of the write ends; ours must go so the
	// readers see EOF when the plugin's processes are gone.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	run.readers.Go(func() { run.stdout.readFrom(outR) })
	run.readers.Go(func() { run.stderr.readFrom(errR) })
	return run, nil
}

// wait waits for the plugin to exit or ctx to end, kills the plugin's
// process group either way (a plugin's leftover children must not outlive
// it), reaps the plugin and collects its output. It reports whether ctx
// ended first.
//
// The group is killed while the plugin is a zombie not yet reaped, so its
// pid, which is the group's id, cannot have been reused by then.
func (r *pluginRun) wait(ctx context.Context) (timedOut bool) {
	pid := r.cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
			if err != unix.EINTR {
				return
			}
		}
	}()
	select {
	case <-exited:
	case <-ctx.Done():
		select {
		case <-exited: // exited just as the deadline passed
		default:
			timedOut = true
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if timedOut {
		select {
		case <-exited:
		case <-time.After(nagiosKillGrace):
			// Uninterruptible sleep, most likely a hung NFS mount. Reap
			// it whenever it dies rather than block the scheduler.
			r.elapsed = time.Since(r.start)
			r.stuck = true
			go func() {
				<-exited
				_ = r.cmd.Wait()
				r.readers.Wait()
				r.outR.Close()
				r.errR.Close()
			}()
			return true
		}
	}
	r.elapsed = time.Since(r.start)
	_ = r.cmd.Wait() // the status is in r.cmd.ProcessState

	// A process that left the group (setsid) may still hold the pipes.
	done := make(chan struct{})
	go func() { r.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(nagiosKillGrace):
		_ = r.outR.SetReadDeadline(time.Now())
		_ = r.errR.SetReadDeadline(time.Now())
		<-done
	}
	r.outR.Close()
	r.errR.Close()
	return timedOut
}

// cappedOutput keeps the first max bytes written to it and counts the rest.
type cappedOutput struct {
	max     int
	buf     bytes.Buffer
	dropped int64
}

// readFrom reads f to its end, keeping at most max bytes, so a plugin
// printing megabytes neither blocks on a full pipe nor fills memory.
func (c *cappedOutput) readFrom(f io.Reader) {
	chunk := make([]byte, 32<<10)
	for {
		n, err := f.Read(chunk)
		if n > 0 {
			keep := min(n, c.max-c.buf.Len())
			c.buf.Write(chunk[:keep])
			c.dropped += int64(n - keep)
		}
		if err != nil {
			return
		}
	}
}

// text returns what was kept as valid UTF-8 without NUL bytes (which
// PostgreSQL text refuses). When output was cut, the last, partial line is
// left out so no half perfdata item is parsed.
func (c *cappedOutput) text() string {
	b := c.buf.Bytes()
	if c.dropped > 0 {
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			b = b[:i+1]
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}
