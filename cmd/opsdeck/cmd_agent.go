package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/agent"
	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/config"
)

// listFlag collects a repeatable flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// sizeFlag is a byte count written as 256MiB, 1GiB, 500MB or 1048576.
type sizeFlag int64

func (s *sizeFlag) String() string { return strconv.FormatInt(int64(*s), 10) }
func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	mult := map[string]float64{
		"": 1, "B": 1, "K": 1 << 10, "KiB": 1 << 10, "KB": 1e3, "M": 1 << 20, "MiB": 1 << 20, "MB": 1e6,
		"G": 1 << 30, "GiB": 1 << 30, "GB": 1e9,
	}[unit]
	x, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil || x <= 0 || x*mult > 1<<50 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (KiB, MiB, GiB, KB, MB, GB)", v)
	}
	return int64(x * mult), nil
}

func cmdAgent(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "agent", "agent --server URL --enroll TOKEN [flags]",
		"Runs the host agent: enrolls once with a one-time token (from 'opsdeck agent-token create'),\n"+
			"then every interval sends this host's facts, installed software, pending updates,\n"+
			"metrics and the drift of watched files. Reports wait in an on-disk spool while the\n"+
			"server is unreachable and are delivered later, in order. Needs no root. See docs/agent.md.")
	server := fs.String("server", "", "base `URL` of the opsdeck server, e.g. https://opsdeck.example.com; also $OPSDECK_SERVER (remembered after enrolling)")
	token := fs.String("enroll", "", "one-time enrollment `token` (odenr_...); also read from $OPSDECK_ENROLL_TOKEN; ignored once enrolled")
	state := fs.String("state", "", "state `folder`: credential, spool, watched file copies (default $STATE_DIRECTORY or "+agent.DefaultStateDir+")")
	interval := fs.Duration("interval", 0, "report `interval` (default 30s, or what the server asks for)")
	var watch listFlag
	fs.Var(&watch, "watch", "absolute `path` of a file to watch for drift; repeat or separate with commas")
	spoolMax := sizeFlag(agent.DefaultSpoolMax)
	fs.Var(&spoolMax, "spool-max", "spool `size` cap; past it the oldest reports are dropped (default 256MiB)")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log `format`: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	if *interval != 0 && *interval < agent.MinInterval {
		return fmt.Errorf("--interval %s is shorter than %s", *interval, agent.MinInterval)
	}
	if *server == "" {
		*server = c.env.get("OPSDECK_SERVER")
	}
	if *token == "" {
		*token = c.env.get("OPSDECK_ENROLL_TOKEN")
	}
	if *state == "" {
		// systemd's StateDirectory= sets this (possibly a list; the first is ours).
		*state, _, _ = strings.Cut(c.env.get("STATE_DIRECTORY"), ":")
	}
	return agent.Run(ctx, agent.Config{
		Server:      *server,
		EnrollToken: *token,
		StateDir:    *state,
		Interval:    *interval,
		Watch:       watch,
		SpoolMax:    int64(spoolMax),
		Version:     buildVersion(),
		Logger:      app.NewLogger(config.LogConfig{Level: *logLevel, Format: *logFormat}, c.stderr),
	})
}
