package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/change"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/deskmail"
	"github.com/opsdeck/opsdeck/internal/fleet"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/kb"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/oncall"
	"github.com/opsdeck/opsdeck/internal/security"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// testEnv is a whole HTTP server on a test database, with one user per role
// and an API token for each.
type testEnv struct {
	t      testing.TB
	db     *store.DB
	auth   *auth.Service
	mons   *monitor.Service
	notify *notify.Service
	oncall *oncall.Service
	incs   *incident.Service
	cmdb   *cmdb.Service
	backup *backup.Service
	desk   *servicedesk.Service
	inst   *licenseInventory // the agents' software inventory licenses see
	mail   *deskmail.Service
	fleet  *fleet.Service
	srv    *Server
	http   *httptest.Server
	tokens map[auth.Role]string // role -> raw API token of a user with that role
	users  map[auth.Role]auth.User
}

// testPassword is every test user's password.
const testPassword = "correct horse battery"

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	return newTestEnvOn(t, storetest.SQLite(t))
}

func newTestEnvOn(t testing.TB, db *store.DB) *testEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	as := auth.NewService(db, auth.Options{Logger: log, TokenCacheTTL: 0})
	mons := monitor.NewService(db, monitor.Options{Checks: fleet.Checks(db, probe.New), Logger: log})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mons.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	ns := notify.NewService(db, notify.Options{Logger: log, BackoffBase: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	notifyDone := make(chan struct{})
	go func() { _ = ns.Run(runCtx); close(notifyDone) }()
	t.Cleanup(func() { cancel(); <-notifyDone })
	oc := oncall.NewService(db, oncall.Options{Logger: log})
	incs, err := incident.Open(context.Background(), db, incident.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	incDone := make(chan struct{})
	go func() { incs.Run(runCtx); close(incDone) }()
	t.Cleanup(func() { cancel(); <-incDone })
	ci := cmdb.NewService(db, cmdb.Options{Logger: log, CheckObject: func(ctx context.Context, kind cmdb.LinkKind, id int64) error {
		if kind != cmdb.LinkMonitor {
			return nil
		}
		_, err := mons.Get(ctx, id)
		return err
	}})
	if err := ci.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	desk := servicedesk.New(db, servicedesk.Options{Logger: log})
	inv := &licenseInventory{}
	assetReg := assets.NewService(db, assets.Options{Logger: log, CMDB: ci, Installations: inv.find})
	mailDesk, err := deskmail.New(db, desk, ns, deskmail.Config{Address: "support@desk.example", IMAP: deskmail.IMAPConfig{URL: "imaps://desk@mail.desk.example/INBOX", Password: "imap-s3cret"}}, deskmail.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	fl := fleet.NewService(db, fleet.Options{Logger: log, CMDB: ci, Assets: assetReg})
	fleetDone := make(chan struct{})
	go func() { fl.Run(runCtx); close(fleetDone) }()
	t.Cleanup(func() { cancel(); <-fleetDone })
	changes := change.New(db, change.Options{Logger: log, CMDB: ci, Maintenance: mons, Windows: mons})
	backups := backup.New(db, backup.Options{Logger: log, Alerts: incs})
	srv, err := New(Options{DB: db, Auth: as, Logger: log, Version: "test", Monitors: mons, Notify: ns, OnCall: oc, Incidents: incs, CMDB: ci,
		ServiceDesk: desk, DeskMail: mailDesk, KB: kb.New(db, kb.Options{}), Assets: assetReg, Changes: changes, Backups: backups, Fleet: fl,
		Security: security.New(db, security.Options{Alerts: incs}), Collectors: append(mons.Collectors(), backups.Collectors()...)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &testEnv{t: t, db: db, auth: as, mons: mons, notify: ns, oncall: oc, incs: incs, cmdb: ci, desk: desk, inst: inv, mail: mailDesk, backup: backups,
		fleet: fl, srv: srv, http: hs, tokens: map[auth.Role]string{}, users: map[auth.Role]auth.User{}}
	ctx := context.Background()
	for _, role := range auth.AllRoles() {
		u, err := as.CreateUser(ctx, auth.NewUser{Username: string(role) + "1", Name: "Test " + string(role), Role: role, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		raw, _, err := as.CreateToken(ctx, auth.NewToken{Name: "test " + string(role), Role: role, UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.users[role], e.tokens[role] = u, raw
	}
	return e
}

// do sends a request with the given role's token (RoleNone: anonymous).
func (e *testEnv) do(method, path string, role auth.Role, body string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != auth.RoleNone {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
