package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/store"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// subcommand dispatches "opsdeck NAME SUB [flags]".
func subcommand(ctx context.Context, c *cli, name string, args []string, subs map[string]func(context.Context, *cli, []string) error, help string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(c.stderr, "Usage: opsdeck %s <subcommand> [flags]\n\n%s\n", name, help)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "unknown subcommand %q\n\nUsage: opsdeck %s <subcommand> [flags]\n\n%s\n", args[0], name, help)
		return errUsage
	}
	return sub(ctx, c, args[1:])
}

// withAuth opens the store and the identity service for one CLI command,
// acting as the operator at the command line (recorded in the audit log).
func withAuth(ctx context.Context, cfg config.Config, fn func(ctx context.Context, as *auth.Service) error) error {
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	as := app.NewAuth(db, cfg, nil)
	return fn(auth.WithActor(ctx, auth.CLIActor(osUser())), as)
}

// readSecret reads one line from stdin (for --password-stdin).
func readSecret(c *cli) (string, error) {
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

const userHelp = `Subcommands:
  create   --username NAME [--role ROLE] [--name N] [--email E] [--password-stdin]
  list
  passwd   --username NAME [--password-stdin]   (without it a password is generated and printed)
  disable  --username NAME
  enable   --username NAME
  reset-2fa --username NAME   (turns off two-factor sign-in of a user who lost their device)
Each takes --data, --db and --config like 'serve'; they work while the server runs.`

func cmdUser(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "user", args, map[string]func(context.Context, *cli, []string) error{
		"create": userCreate, "list": userList, "passwd": userPasswd,
		"disable":   func(ctx context.Context, c *cli, a []string) error { return userSetDisabled(ctx, c, a, true) },
		"enable":    func(ctx context.Context, c *cli, a []string) error { return userSetDisabled(ctx, c, a, false) },
		"reset-2fa": userResetTwoFactor,
	}, userHelp)
}

func userCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "user create", "user create --username NAME [flags]",
		"Creates a user. The password is read from stdin with --password-stdin; otherwise one\nis generated, printed once, and must be changed at first sign-in.")
	sf := addStoreFlags(fs)
	username := fs.String("username", "", "login `name` (a-z, 0-9, '.', '_', '-')")
	role := fs.String("role", "viewer", "`role`: admin, operator, viewer or requester")
	name := fs.String("name", "", "display `name`")
	email := fs.String("email", "", "email `address`")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	pw, generated := "", false
	if *fromStdin {
		if pw, err = readSecret(c); err != nil {
			return err
		}
	} else {
		pw, generated = auth.RandomSecret(12), true
	}
	return withAuth(ctx, cfg, func(ctx context.Context, as *auth.Service) error {
		u, err := as.CreateUser(ctx, auth.NewUser{Username: *username, Name: *name, Email: *email, Role: auth.Role(*role), Password: pw, MustChangePassword: generated})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "created user %s (id %d, role %s)\n", u.Username, u.ID, u.Role)
		if generated {
			fmt.Fprintf(c.stderr, "temporary password (shown once, must be changed at first sign-in):\n")
			fmt.Fprintln(c.stdout, pw)
		}
		return nil
	})
}

func userList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "user list", "user list [flags]", "Lists users.")
	cfg, err := addStoreFlags(fs).parse(c, args)
	if err != nil {
		return err
	}
	return withAuth(ctx, cfg, func(ctx context.Context, as *auth.Service) error {
		us, err := as.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tROLE\tSTATUS\tNAME\tEMAIL\tLAST LOGIN")
		for _, u := range us {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			last := "never"
			if u.LastLoginAt != nil {
				last = u.LastLoginAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Role, status, u.Name, u.Email, last)
		}
		return tw.Flush()
	})
}

func userPasswd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "user passwd", "user passwd --username NAME [--password-stdin]",
		"Sets a user's password and ends their sessions. Without --password-stdin a temporary\npassword is generated, printed once, and must be changed at next sign-in.")
	sf := addStoreFlags(fs)
	username := fs.String("username", "", "login `name`")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	pw, generated := "", false
	if *fromStdin {
		if pw, err = readSecret(c); err != nil {
			return err
		}
	} else {
		pw, generated = auth.RandomSecret(12), true
	}
	return withAuth(ctx, cfg, func(ctx context.Context, as *auth.Service) error {
		u, err := findUser(ctx, as, *username)
		if err != nil {
			return err
		}
		if err := as.SetPassword(ctx, u.ID, pw, generated, ""); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "password of %s changed; their sessions were ended\n", u.Username)
		if generated {
			fmt.Fprintln(c.stdout, pw)
		}
		return nil
	})
}

func userSetDisabled(ctx context.Context, c *cli, args []string, disabled bool) error {
	verb := map[bool]string{true: "disable", false: "enable"}[disabled]
	fs := newFlagSet(c, "user "+verb, "user "+verb+" --username NAME", "Disables or enables a user; disabling ends their sessions and stops their tokens.")
	sf := addStoreFlags(fs)
	username := fs.String("username", "", "login `name`")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	return withAuth(ctx, cfg, func(ctx context.Context, as *auth.Service) error {
		u, err := findUser(ctx, as, *username)
		if err != nil {
			return err
		}
		if _, err := as.UpdateUser(ctx, u.ID, auth.UserUpdate{Disabled: &disabled}); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "user %s %sd\n", u.Username, verb)
		return nil
	})
}

func findUser(ctx context.Context, as *auth.Service, username string) (auth.User, error) {
	if username == "" {
		return auth.User{}, errors.New("--username is required")
	}
	u, err := as.GetUserByName(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return auth.User{}, fmt.Errorf("no user named %q", username)
	}
	return u, err
}
