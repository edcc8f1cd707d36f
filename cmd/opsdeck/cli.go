package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/opsdeck/opsdeck/internal/config"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; a
// plain build reports the module version or the VCS revision instead.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// env is the process environment in os.Environ form, with a lookup.
type env []string

func (e env) get(key string) string {
	for _, kv := range e {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// cli carries the standard streams so commands can be tested.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            env
}

type command struct {
	name, summary string
	run           func(ctx context.Context, c *cli, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the opsdeck server", cmdServe},
		{"migrate", "apply pending database migrations and exit", cmdMigrate},
		{"user", "manage users: create, list, passwd, disable, enable", cmdUser},
		{"token", "manage API tokens: create, list, revoke", cmdToken},
		{"agent-token", "manage agent enrollment tokens: create, list, revoke", cmdAgentToken},
		{"secrets", "rotate the key that seals secrets stored in the database", cmdSecrets},
		{"cmdb", "CMDB export (JSON or CSV) and import (JSON)", cmdCMDB},
		{"asset", "asset export and import (CSV)", cmdAsset},
		{"license", "software licenses: list and CSV export", cmdLicense},
		{"mail", "service-desk email: deliver a message from stdin, poll IMAP once", cmdMail},
		{"change", "open, start and close changes from pipelines (through the API)", cmdChange},
		{"backup", "write an online backup of opsdeck's database to a file", cmdBackup},
		{"restore", "restore a backup file into an empty data folder", cmdRestore},
		{"agent", "run the host agent: report facts, software, metrics and file drift", cmdAgent},
		{"desk", "service-desk metrics", cmdDesk},
		{"version", "print the version", cmdVersion},
	}
}

const usageHead = `opsdeck — IT operations in one binary: monitoring, incidents, CMDB, changes, service desk.

Usage: opsdeck <command> [flags]

Commands:
`

func usage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'opsdeck <command> --help' for a command's flags.")
}

// errUsage marks errors already explained by a usage message.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, env: env(environ)}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(stdout)
		return 0
	}
	for _, cmd := range commands() {
		if cmd.name == name {
			err := cmd.run(ctx, c, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintln(stderr, "opsdeck "+name+": "+err.Error())
			if ee := (*exitError)(nil); errors.As(err, &ee) {
				return ee.code
			}
			return 1
		}
	}
	fmt.Fprintf(stderr, "opsdeck: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// storeFlags are the flags of every command that opens the database.
type storeFlags struct {
	fs       *flag.FlagSet
	config   string
	settings map[string]*string // config key -> flag value
}

func newFlagSet(c *cli, name, usageLine, help string) *flag.FlagSet {
	fs := flag.NewFlagSet("opsdeck "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: opsdeck %s\n\n%s\n\nFlags:\n", usageLine, help)
		// The flag package prints "-name"; opsdeck documents "--name" (both parse).
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(c.stderr)
		fmt.Fprint(c.stderr, strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --")[1:])
	}
	return fs
}

func addStoreFlags(fs *flag.FlagSet) *storeFlags {
	sf := &storeFlags{fs: fs, settings: map[string]*string{}}
	fs.StringVar(&sf.config, "config", "", "YAML configuration `file` (default: $OPSDECK_CONFIG)")
	sf.settings["data"] = fs.String("data", "", "data `folder` holding the SQLite database and other state (default ./opsdeck-data)")
	sf.settings["db"] = fs.String("db", "", "database: a postgres:// `DSN` selects PostgreSQL; default is SQLite in the data folder")
	return sf
}

// parse parses args and loads the configuration with flag > env > file
// precedence; only flags the user set override.
func (sf *storeFlags) parse(c *cli, args []string) (config.Config, error) {
	if err := sf.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Config{}, err
		}
		return config.Config{}, errUsage
	}
	if sf.fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "unexpected arguments: %s\n", strings.Join(sf.fs.Args(), " "))
		sf.fs.Usage()
		return config.Config{}, errUsage
	}
	set := map[string]string{}
	sf.fs.Visit(func(f *flag.Flag) {
		for key, p := range sf.settings {
			if flagKey(key) == f.Name {
				set[key] = *p
			}
		}
	})
	path := sf.config
	if path == "" {
		path = c.env.get("OPSDECK_CONFIG")
	}
	cfg, err := config.Load(path, c.env, set)
	if err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// flagKey names the flag of a config key: log.level -> log-level.
func flagKey(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

func osUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	return os.Getenv("USER")
}
