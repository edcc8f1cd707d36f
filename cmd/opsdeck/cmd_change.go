package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const changeHelp = `Subcommands (for CI/CD pipelines; they call a running server's API):
  open   --template ID [--title T] [--ci ID,...] [--start]   opens a standard change
                         from a template and prints its number
  start  NUMBER                                         marks the change implementing
  close  NUMBER --outcome successful|failed|rolled_back [--comment TEXT]
Each takes --url (or OPSDECK_URL) and --token (or OPSDECK_TOKEN: an operator's API token).`

func cmdChange(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "change", args, map[string]func(context.Context, *cli, []string) error{
		"open": changeOpen, "start": changeStart, "close": changeClose,
	}, changeHelp)
}

// apiFlags are the server address and token of the API commands.
type apiFlags struct {
	url, token *string
}

func addAPIFlags(fs *flag.FlagSet, c *cli) apiFlags {
	return apiFlags{
		url:   fs.String("url", c.env.get("OPSDECK_URL"), "the server's base `URL` (default $OPSDECK_URL)"),
		token: fs.String("token", "", "an API `token` (default $OPSDECK_TOKEN)"),
	}
}

// call sends one JSON request to the API and decodes the answer into out;
// an API error is returned with the server's message and field.
func (a apiFlags) call(ctx context.Context, c *cli, method, path string, body, out any) error {
	token := *a.token
	if token == "" {
		token = c.env.get("OPSDECK_TOKEN")
	}
	if *a.url == "" {
		return errors.New("--url (or OPSDECK_URL) is required")
	}
	if token == "" {
		return errors.New("--token (or OPSDECK_TOKEN) is required")
	}
	base, err := url.Parse(strings.TrimRight(*a.url, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("--url: %q is not an http(s) URL", *a.url)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base.String()+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Message, Field string }
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s (HTTP %d)", e.Error.Message, resp.StatusCode)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.Unmarshal(raw, out)
}

// changeNumber reads the one NUMBER argument.
func changeNumber(fs *flag.FlagSet) (int64, error) {
	if fs.NArg() != 1 {
		fs.Usage()
		return 0, errUsage
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(fs.Arg(0), "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a change number", fs.Arg(0))
	}
	return n, nil
}

type changeAnswer struct {
	ID      int64  `json:"id"`
	State   string `json:"state"`
	Outcome string `json:"outcome"`
}

func changeOpen(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "change open", "change open --template ID [--title T] [--ci ID,...] [--start] [flags]",
		"Opens a standard change from a pre-approved template and prints its number on stdout.")
	af := addAPIFlags(fs, c)
	tmpl := fs.Int64("template", 0, "the template's `id`")
	title := fs.String("title", "", "the change's `title` (default: the template's name)")
	cis := fs.String("ci", "", "more affected CI `ids`, comma-separated")
	start := fs.Bool("start", false, "mark it implementing at once")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	body := map[string]any{"template_id": *tmpl, "title": *title, "start": *start}
	if *cis != "" {
		var ids []int64
		for _, p := range strings.Split(*cis, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("--ci: %q is not a CI id", p)
			}
			ids = append(ids, id)
		}
		body["ci_ids"] = ids
	}
	var out changeAnswer
	if err := af.call(ctx, c, "POST", "/api/v1/changes/standard", body, &out); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, out.ID)
	return nil
}

func changeStep(ctx context.Context, c *cli, name, usageLine, help string, args []string, extra func(fs *flag.FlagSet) func() map[string]any) error {
	fs := newFlagSet(c, "change "+name, usageLine, help)
	af := addAPIFlags(fs, c)
	more := extra(fs)
	// "close 12 --outcome x" reads like the docs: the number may come
	// before the flags, which the flag package would otherwise stop at.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append(append([]string{}, args[1:]...), args[0])
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	n, err := changeNumber(fs)
	if err != nil {
		return err
	}
	body := more()
	var out changeAnswer
	if err := af.call(ctx, c, "POST", "/api/v1/changes/"+strconv.FormatInt(n, 10)+"/transitions", body, &out); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "change %d is %s%s\n", out.ID, out.State, map[bool]string{true: " (" + out.Outcome + ")", false: ""}[out.Outcome != ""])
	return nil
}

func changeStart(ctx context.Context, c *cli, args []string) error {
	return changeStep(ctx, c, "start", "change start NUMBER [flags]", "Marks a scheduled change implementing (its CIs' monitors go into maintenance).", args,
		func(*flag.FlagSet) func() map[string]any {
			return func() map[string]any { return map[string]any{"action": "start"} }
		})
}

func changeClose(ctx context.Context, c *cli, args []string) error {
	return changeStep(ctx, c, "close", "change close NUMBER --outcome successful|failed|rolled_back [--comment TEXT] [flags]",
		"Closes an implementing (or reviewed) change with its outcome.", args,
		func(fs *flag.FlagSet) func() map[string]any {
			outcome := fs.String("outcome", "", "`outcome`: successful, failed or rolled_back")
			comment := fs.String("comment", "", "a `comment` for the timeline")
			return func() map[string]any {
				return map[string]any{"action": "close", "outcome": *outcome, "comment": *comment}
			}
		})
}
