package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/deskmail"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
)

const mailHelp = `Subcommands:
  deliver [--rcpt ADDR]   reads one message (RFC 5322) on stdin and turns it into a ticket or a
                          reply, like the SMTP listener; for an MTA's pipe transport. Exits 75
                          (EX_TEMPFAIL) when it could not be processed now, so the MTA retries.
  poll                    polls the IMAP mailbox (mail.imap_url) once
Each takes --data, --db and --config like 'serve'. See docs/servicedesk.md#email.`

func cmdMail(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "mail", args, map[string]func(context.Context, *cli, []string) error{
		"deliver": mailDeliver, "poll": mailPoll,
	}, mailHelp)
}

// exitError is an error with its own exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exTempFail is sysexits.h EX_TEMPFAIL: MTAs defer and retry.
const exTempFail = 75

// withDeskMail opens the store and the email side of the service desk.
func withDeskMail(ctx context.Context, cfg config.Config, fn func(ctx context.Context, m *deskmail.Service) error) error {
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	desk := servicedesk.New(db, servicedesk.Options{ReopenWindow: cfg.ServiceDesk.ReopenWindow, MaxAttachmentBytes: cfg.ServiceDesk.MaxAttachmentBytes})
	m, err := deskmail.New(db, desk, notify.NewService(db, notify.Options{}), deskmail.FromSettings(cfg.Mail), deskmail.Options{})
	if err != nil {
		return err
	}
	return fn(ctx, m)
}

func mailDeliver(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "mail deliver", "mail deliver [--rcpt ADDR] < message.eml",
		"Turns one message read on stdin into a ticket or a reply, or drops it (loops, bulk mail), and prints the outcome.")
	sf := addStoreFlags(fs)
	rcpt := fs.String("rcpt", "", "envelope recipient `address`, which picks the group (mail.recipients)")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(c.stdin, cfg.Mail.MaxMessageBytes+1))
	if err != nil {
		return &exitError{exTempFail, fmt.Errorf("read the message: %w", err)}
	}
	env := deskmail.Envelope{Via: "pipe"}
	if *rcpt != "" {
		env.Rcpts = []string{*rcpt}
	}
	err = withDeskMail(ctx, cfg, func(ctx context.Context, m *deskmail.Service) error {
		res, err := m.Ingest(ctx, raw, env)
		if err != nil {
			return err
		}
		switch {
		case res.Outcome == deskmail.OutcomeTicket || res.Outcome == deskmail.OutcomeReply:
			fmt.Fprintf(c.stdout, "%s #%d\n", res.Outcome, res.TicketID)
		default:
			fmt.Fprintf(c.stdout, "%s: %s\n", res.Outcome, res.Reason)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errUsage) {
		return &exitError{exTempFail, err}
	}
	return err
}

func mailPoll(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "mail poll", "mail poll", "Polls the IMAP mailbox of mail.imap_url once and prints how many messages it took in.")
	sf := addStoreFlags(fs)
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if cfg.Mail.IMAPURL == "" {
		return errors.New("no mailbox: set mail.imap_url and mail.imap_password")
	}
	return withDeskMail(ctx, cfg, func(ctx context.Context, m *deskmail.Service) error {
		n, err := m.PollOnce(ctx)
		fmt.Fprintf(c.stdout, "%d messages taken in\n", n)
		return err
	})
}
