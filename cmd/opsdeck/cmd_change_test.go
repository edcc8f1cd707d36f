package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/config"
)

// TestCLIChangePipeline runs the deploy job of docs/changes.md against a
// real server: open a standard change from a template, start it, close it.
func TestCLIChangePipeline(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, _, errs := runCLI(t, "", "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	code, out, errs := runCLI(t, "", "token", "create", "--data", data, "--name", "deploy", "--role", "operator")
	if code != 0 {
		t.Fatalf("token: %s", errs)
	}
	tok := strings.TrimSpace(out)
	cfg := config.Default()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", data
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.Options{Version: "test", AdminPassword: "a fine admin password", Console: io.Discard,
			Logger: slog.New(slog.DiscardHandler), Ready: ready})
	}()
	t.Cleanup(func() { cancel(); <-done })
	var base string
	select {
	case base = <-ready:
		base = "http://" + base
	case err := <-done:
		t.Fatalf("server: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/change-templates", bytes.NewBufferString(`{"name":"Deploy","duration":"20m"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("template: %v %v", resp, err)
	}
	resp.Body.Close()
	env := []string{"OPSDECK_URL=" + base, "OPSDECK_TOKEN=" + tok}
	cli := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &o, &e, env)
		return code, o.String(), e.String()
	}
	code, out, errs = cli("change", "open", "--template", "1", "--title", "Deploy v2")
	n := strings.TrimSpace(out)
	if code != 0 || n != "1" {
		t.Fatalf("open: %d %q %s", code, out, errs)
	}
	if code, out, errs = cli("change", "start", n); code != 0 || !strings.Contains(out, "implementing") {
		t.Fatalf("start: %d %s %s", code, out, errs)
	}
	if code, _, errs = cli("change", "close", n, "--outcome", "maybe"); code != 1 || !strings.Contains(errs, "outcome") {
		t.Fatalf("bad outcome: %d %s", code, errs)
	}
	if code, out, errs = cli("change", "close", n, "--outcome", "successful"); code != 0 || !strings.Contains(out, "closed (successful)") {
		t.Fatalf("close: %d %s %s", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"change", "start"}, 2, "Usage"},
		{[]string{"change", "start", "x"}, 1, "not a change number"},
		{[]string{"change", "open", "--template", "99"}, 1, "template"},
		{[]string{"change", "start", "--url", "ftp://x", "1"}, 1, "--url"},
		{[]string{"change", "frob"}, 2, "unknown subcommand"},
	} {
		if code, out, errs := cli(tc.args...); code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: %d %s%s", tc.args, code, out, errs)
		}
	}
	var o, e bytes.Buffer
	if code := run(context.Background(), []string{"change", "start", "1"}, strings.NewReader(""), &o, &e, nil); code != 1 || !strings.Contains(e.String(), "OPSDECK_URL") {
		t.Fatalf("no url: %d %s", code, e.String())
	}
}
