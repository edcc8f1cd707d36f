package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

const tokenHelp = `Subcommands:
  create  --name NAME --role ROLE [--user USERNAME] [--expires 90d|2027-01-31]
          prints the new token (only) on stdout; it is shown this once
  list
  revoke  --id ID
Each takes --data, --db and --config like 'serve'; they work while the server runs.`

func cmdToken(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "token", args, map[string]func(context.Context, *cli, []string) error{
		"create": tokenCreate, "list": tokenList, "revoke": tokenRevoke,
	}, tokenHelp)
}

func tokenCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "token create", "token create --name NAME --role ROLE [flags]",
		"Creates an API token and prints it on stdout, once. Send it as 'Authorization: Bearer TOKEN'.")
	sf := addStoreFlags(fs)
	name := fs.String("name", "", "what the token is for, e.g. `ci-deploy`")
	role := fs.String("role", "", "`role`: admin, operator, viewer or requester")
	user := fs.String("user", "", "owning `username` (the token never outranks its owner); default: a service token owned by nobody")
	expires := fs.String("expires", "", "expiry as a `duration` in days (90d) or hours (12h), or a date (2027-01-31); default never")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	exp, err := parseExpiry(*expires, time.Now())
	if err != nil {
		return err
	}
	return withAuth(ctx, cfg, func(ctx context.Context, as *auth.Service) error {
		var uid int64
		if *user != "" {
			u, err := findUser(ctx, as, *user)
			if err != nil {
				return err
			}
			uid = u.ID
		}
		raw, t, err := as.CreateToken(ctx, auth.NewToken{Name: *name, Role: auth.Role(*role), UserID: uid, ExpiresAt: exp})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "created token %d %q with role %s\n", t.ID, t.Name, t.Role)
		fmt.Fprintln(c.stdout, raw)
		return nil
	})
}

// parseExpiry reads "90d", "12h" or "2027-01-31".
func parseExpiry(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 3650 {
			return nil, fmt.Errorf("--expires: %q is not a number of days from 1 to 3650", s)
		}
		t := now.Add(time.Duration(n) * 24 * time.Hour)
		return &t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return nil, errors.New("--expires: must be in the future")
		}
		t := now.Add(d)
		return &t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil, fmt.Errorf("--expires: %q is neither a duration (90d, 12h) nor a date (2027-01-31)", s)
	}
	return &t, nil
}

func tokenList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "token list", "token list [flags]", "Lists API tokens (never their secrets).")
	cfg, err := addStoreFlags(fs).parse(c, args)
	if err != nil {
		return err
	}
	return withAuth(ctx, cfg, func(ctx context.Context, as *auth.Service) error {
		ts, err := as.ListTokens(ctx, 0)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tROLE\tOWNER\tSTATUS\tEXPIRES\tLAST USED")
		for _, t := range ts {
			status := "active"
			switch {
			case t.RevokedAt != nil:
				status = "revoked"
			case !t.Active(now):
				status = "expired"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.Role, orDash(t.Owner), status, timeOr(t.ExpiresAt, "never"), timeOr(t.LastUsedAt, "never"))
		}
		return tw.Flush()
	})
}

func tokenRevoke(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "token revoke", "token revoke --id ID", "Revokes an API token. A running server stops accepting it within auth.token_cache_ttl (default 30s).")
	sf := addStoreFlags(fs)
	id := fs.Int64("id", 0, "token `id` (see 'opsdeck token list')")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if *id <= 0 {
		return errors.New("--id is required")
	}
	return withAuth(ctx, cfg, func(ctx context.Context, as *auth.Service) error {
		if err := as.RevokeToken(ctx, *id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no active token with id %d", *id)
			}
			return err
		}
		fmt.Fprintf(c.stderr, "token %d revoked\n", *id)
		return nil
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}
