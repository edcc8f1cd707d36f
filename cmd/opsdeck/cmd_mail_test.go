package main

import (
	"strings"
	"testing"
)

func TestCLIMailDeliver(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "", "migrate", "--data", dir); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	msg := "From: Pat <pat@example.com>\r\nSubject: Piped in\r\nMessage-ID: <pipe1@example.com>\r\n\r\nFrom the MTA.\r\n"
	code, out, errs := runCLI(t, msg, "mail", "deliver", "--data", dir)
	if code != 0 || strings.TrimSpace(out) != "ticket #1" {
		t.Fatalf("deliver: code %d, %q %s", code, out, errs)
	}
	if code, out, _ = runCLI(t, msg, "mail", "deliver", "--data", dir); code != 0 || !strings.HasPrefix(out, "duplicate") {
		t.Fatalf("again: code %d, %q", code, out)
	}
	reply := "From: pat@example.com\r\nSubject: Re: [#1] Piped in\r\nMessage-ID: <pipe2@example.com>\r\n\r\nMore.\r\n"
	if code, out, _ = runCLI(t, reply, "mail", "deliver", "--data", dir); code != 0 || strings.TrimSpace(out) != "reply #1" {
		t.Fatalf("reply: code %d, %q", code, out)
	}
	ooo := "From: pat@example.com\r\nSubject: Away\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <pipe3@example.com>\r\n\r\nAway.\r\n"
	if code, out, _ = runCLI(t, ooo, "mail", "deliver", "--data", dir); code != 0 || !strings.HasPrefix(out, "loop:") {
		t.Fatalf("auto-reply: code %d, %q", code, out)
	}
	// A database that cannot be reached is a temporary failure for the MTA.
	code, _, errs = runCLI(t, msg, "mail", "deliver", "--db", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if code != exTempFail {
		t.Fatalf("unreachable database: code %d: %s", code, errs)
	}
	if code, _, errs = runCLI(t, "", "mail", "poll", "--data", dir); code != 1 || !strings.Contains(errs, "mail.imap_url") {
		t.Fatalf("poll without a mailbox: code %d: %s", code, errs)
	}
}
