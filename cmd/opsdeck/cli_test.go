package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/config"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb, []string{"PATH=/usr/bin"})
	return code, out.String(), errb.String()
}

func TestCLIUsageAndHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Commands:"},
		{[]string{"help"}, 0, "serve"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"serve", "--help"}, 0, "--addr"},
		{[]string{"migrate", "--help"}, 0, "--db"},
		{[]string{"user", "--help"}, 0, "passwd"},
		{[]string{"user", "create", "--help"}, 0, "--password-stdin"},
		{[]string{"token", "--help"}, 0, "revoke"},
		{[]string{"token", "create", "--help"}, 0, "--expires"},
		{[]string{"token", "frobnicate"}, 2, "unknown subcommand"},
		{[]string{"serve", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"version"}, 0, "opsdeck "},
	} {
		code, out, errs := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("opsdeck %v: code %d (want %d), output lacks %q:\n%s%s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}

func TestCLIRefusesBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, "", "migrate", "--data", dir, "--config", filepath.Join(dir, "missing.yaml"))
	if code != 1 || !strings.Contains(errs, "missing.yaml") {
		t.Fatalf("missing config: code %d: %s", code, errs)
	}
}

func TestCLIUsersAndTokens(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, out, errs := runCLI(t, "", "migrate", "--data", data); code != 0 || !strings.Contains(out, "schema is at version") {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	code, out, errs := runCLI(t, "", "user", "create", "--data", data, "--username", "dana", "--role", "operator")
	if code != 0 || len(strings.TrimSpace(out)) < 10 {
		t.Fatalf("user create: %d %q %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "a long enough password\n", "user", "create", "--data", data, "--username", "erin", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("user create --password-stdin: %s", errs)
	}
	if code, _, errs := runCLI(t, "", "user", "create", "--data", data, "--username", "Bad Name"); code != 1 || !strings.Contains(errs, "username") {
		t.Fatalf("bad username: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "user", "disable", "--data", data, "--username", "dana"); code != 0 {
		t.Fatalf("disable: %s", errs)
	}
	if code, _, errs := runCLI(t, "", "user", "passwd", "--data", data, "--username", "nobody"); code != 1 || !strings.Contains(errs, "no user") {
		t.Fatalf("passwd unknown: %d %s", code, errs)
	}
	_, out, _ = runCLI(t, "", "user", "list", "--data", data)
	if !strings.Contains(out, "dana") || !strings.Contains(out, "disabled") || !strings.Contains(out, "erin") {
		t.Fatalf("user list:\n%s", out)
	}

	code, out, errs = runCLI(t, "", "token", "create", "--data", data, "--name", "deploy", "--role", "operator", "--expires", "30d")
	tok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(tok, "odk_") || strings.Contains(tok, "\n") {
		t.Fatalf("token create printed %q (code %d, %s); want only the token", out, code, errs)
	}
	if code, _, errs := runCLI(t, "", "token", "create", "--data", data, "--name", "x", "--role", "god"); code != 1 || !strings.Contains(errs, "role") {
		t.Fatalf("bad role: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "token", "create", "--data", data, "--name", "x", "--role", "viewer", "--expires", "soon"); code != 1 || !strings.Contains(errs, "--expires") {
		t.Fatalf("bad expiry: %d %s", code, errs)
	}
	_, out, _ = runCLI(t, "", "token", "list", "--data", data)
	if !strings.Contains(out, "deploy") || strings.Contains(out, tok) {
		t.Fatalf("token list shows no token or the secret:\n%s", out)
	}
	if code, _, errs := runCLI(t, "", "token", "revoke", "--data", data, "--id", "1"); code != 0 {
		t.Fatalf("revoke: %s", errs)
	}
	if code, _, errs := runCLI(t, "", "token", "revoke", "--data", data, "--id", "1"); code != 1 || !strings.Contains(errs, "no active token") {
		t.Fatalf("second revoke: %d %s", code, errs)
	}
	_, out, _ = runCLI(t, "", "token", "list", "--data", data)
	if !strings.Contains(out, "revoked") {
		t.Fatalf("token list after revoke:\n%s", out)
	}
}

func TestCLICMDBExportImport(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "cmdb.json")
	dump := `{"cis":[{"type":"business_service","name":"Shop"},{"type":"database","name":"orders","attributes":{"port":5432},"tags":["pci"]},
		{"type":"host","name":"=cmd|' /C calc'!A0"}],
		"relationships":[{"type":"depends_on","source":{"type":"business_service","name":"Shop"},"target":{"type":"database","name":"orders"}}]}`
	if err := os.WriteFile(file, []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "cmdb", "import", file, "--data", data)
	if code != 0 || !strings.Contains(out, "3 created") || !strings.Contains(out, "1 added") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	if code, out, _ := runCLI(t, "", "cmdb", "import", file, "--data", data); code != 0 || !strings.Contains(out, "3 unchanged") {
		t.Fatalf("second import: %s", out)
	}
	code, out, errs = runCLI(t, "", "cmdb", "export", "--data", data)
	if code != 0 || !strings.Contains(out, `"name": "orders"`) || !strings.Contains(out, `"relationships"`) {
		t.Fatalf("export json: %d %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "cmdb", "export", "--data", data, "--format", "csv")
	if code != 0 || !strings.Contains(out, `database,orders,prod,active,medium,,pci,,"{""port"":5432}"`) || !strings.Contains(out, "'=cmd") {
		t.Fatalf("export csv:\n%s", out)
	}
	if code, _, errs := runCLI(t, `{"cis":[{"type":"host","name":"h","attributes":{"cpu_cores":"many"}}]}`, "cmdb", "import", "-", "--data", data); code != 1 || !strings.Contains(errs, "cis[0].attributes.cpu_cores") {
		t.Fatalf("bad import: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, `{"cis":[],"colour":1}`, "cmdb", "import", "-", "--data", data); code != 1 || !strings.Contains(errs, "not a CMDB export") {
		t.Fatalf("unknown field: %d %s", code, errs)
	}
	if code, _, _ := runCLI(t, "", "cmdb", "export", "--data", data, "--format", "xml"); code != 1 {
		t.Fatalf("bad format: %d", code)
	}
}

func TestCLIAssetImportExport(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "assets.csv")
	if err := os.WriteFile(file, []byte("tag,model,category\nLAP-1,X1,laptop\nPH-1,=1+1,phone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "asset", "import", file, "--dry-run", "--data", data)
	if code != 0 || !strings.Contains(out, "2 rows: 2 would be created") {
		t.Fatalf("dry run: %d %s %s", code, out, errs)
	}
	if code, out, _ = runCLI(t, "", "asset", "export", "--data", data); code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("export after the dry run: %d %q", code, out)
	}
	if code, out, errs = runCLI(t, "", "asset", "import", file, "--data", data); code != 0 || !strings.Contains(out, "2 created") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "asset", "export", "--data", data, "--category", "phone")
	if code != 0 || !strings.Contains(out, "PH-1,hardware,in_stock,,'=1+1,") || strings.Contains(out, "LAP-1") {
		t.Fatalf("export: %d %s", code, out)
	}
	code, _, errs = runCLI(t, "tag,owner\nX,nobody\n", "asset", "import", "-", "--data", data)
	if code != 1 || !strings.Contains(errs, "row 2, column owner") || !strings.Contains(errs, "nothing was written") {
		t.Fatalf("bad file: %d %s", code, errs)
	}
	if code, _, errs = runCLI(t, "", "asset", "export", "--data", data, "--sort", "price"); code != 1 || !strings.Contains(errs, "sort") {
		t.Fatalf("bad sort: %d %s", code, errs)
	}
}

func TestCLILicenseListExport(t *testing.T) {
	data := t.TempDir()
	if code, out, errs := runCLI(t, "", "license", "list", "--data", data); code != 0 || !strings.Contains(out, "no licenses") {
		t.Fatalf("empty list: %d %s %s", code, out, errs)
	}
	cfg := config.Default()
	cfg.DataDir = data
	ctx := auth.WithActor(context.Background(), auth.CLIActor("test"))
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := asset.NewService(db, asset.Options{})
	key := "KEY-0000-1111-2222"
	l, err := reg.CreateLicense(ctx, asset.LicenseInput{Product: "=CAD", Publisher: "Acme", Seats: 1, LicenseKey: &key, Patterns: []string{"cad*"}})
	if err != nil {
		t.Fatal(err)
	}
	as := auth.NewService(db, auth.Options{})
	for _, name := range []string{"ann", "ben"} {
		u, err := as.CreateUser(ctx, auth.NewUser{Username: name, Name: name, Role: auth.RoleViewer, Password: "a long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.AssignSeat(ctx, l.ID, u.ID, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	code, out, errs := runCLI(t, "", "license", "list", "--data", data, "--over-used")
	if code != 0 || !strings.Contains(out, "=CAD") || !strings.Contains(out, "OVER-USED by 1") {
		t.Fatalf("list: %d %s %s", code, out, errs)
	}
	code, out, errs = runCLI(t, "", "license", "export", "--data", data)
	if code != 0 || !strings.Contains(out, "'=CAD,Acme,per_device,1,2,,,true") || strings.Contains(out, key) {
		t.Fatalf("export: %d %s %s", code, out, errs)
	}
	if code, _, errs = runCLI(t, "", "license", "export", "--data", data, "--sort", "price"); code != 1 || !strings.Contains(errs, "sort") {
		t.Fatalf("bad sort: %d %s", code, errs)
	}
}

func TestCLIDeskMetrics(t *testing.T) {
	data := t.TempDir()
	if code, _, errs := runCLI(t, "", "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	code, out, errs := runCLI(t, "", "desk", "metrics", "--data", data, "--period", "month")
	if code != 0 || !strings.Contains(out, "first response") || !strings.Contains(out, "backlog now") || !strings.Contains(out, "business time") {
		t.Fatalf("metrics: %d %s %s", code, out, errs)
	}
	if code, out, _ = runCLI(t, "", "desk", "metrics", "--data", data, "--json"); code != 0 || !strings.Contains(out, `"backlog_buckets"`) {
		t.Fatalf("json: %d %s", code, out)
	}
	for _, bad := range [][]string{{"--period", "year"}, {"--from", "yesterday"}, {"--from", "2026-01-02", "--to", "2026-01-01"}} {
		if code, _, errs = runCLI(t, "", append([]string{"desk", "metrics", "--data", data}, bad...)...); code != 1 || errs == "" {
			t.Fatalf("%v: %d %s", bad, code, errs)
		}
	}
}
