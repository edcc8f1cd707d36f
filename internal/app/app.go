// Package app is opsdeck's composition root: it builds every service from
// the configuration, starts them, and stops them in order. It does not catch
// signals; the caller cancels the context, so tests run whole servers.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/change"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/config"
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
	"github.com/opsdeck/opsdeck/internal/web"
)

// Options are what Run needs beyond the configuration.
type Options struct {
	Version string
	// AdminPassword seeds the first admin (OPSDECK_ADMIN_PASSWORD); empty
	// means generate one and print it once to Console.
	AdminPassword string
	// Console receives the one-time messages meant for the person who
	// started the server (first admin password, the URL).
	Console io.Writer
	Logger  *slog.Logger
	// Ready, if set, receives the listening address once the server accepts
	// connections (useful with addr 127.0.0.1:0).
	Ready chan<- string
	// Reload, if set, delivers SIGHUP: the monitors file is applied again.
	Reload <-chan os.Signal
}

// NewLogger builds the process logger from the log settings.
func NewLogger(cfg config.LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level))
	ho := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// OpenStore opens the configured database and applies pending migrations.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.DB, error) {
	dsn := cfg.DB
	if !cfg.IsPostgres() {
		dsn = cfg.SQLitePath()
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	n, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if n > 0 && log != nil {
		log.Info("database migrated", "applied", n, "database", db.Location)
	}
	return db, nil
}

// NewAuth builds the identity service from the configuration.
func NewAuth(db *store.DB, cfg config.Config, log *slog.Logger) *auth.Service {
	return auth.NewService(db, authOptions(cfg, log))
}

func authOptions(cfg config.Config, log *slog.Logger) auth.Options {
	return auth.Options{
		SessionTTL:              cfg.Auth.SessionTTL,
		LoginMaxFailuresPerUser: cfg.Auth.LoginMaxFailuresPerUser,
		LoginMaxFailuresPerIP:   cfg.Auth.LoginMaxFailuresPerIP,
		LoginFailureWindow:      cfg.Auth.LoginFailureWindow,
		TokenCacheTTL:           cfg.Auth.TokenCacheTTL,
		Logger:                  log,
	}
}

// Run serves opsdeck until ctx is cancelled, then drains in-flight requests,
// stops background work and closes the database, in that order.
func Run(ctx context.Context, cfg config.Config, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = NewLogger(cfg.Log, os.Stderr)
	}
	if opts.Console == nil {
		opts.Console = os.Stdout
	}
	db, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Close(); err != nil {
			log.Error("close database", "err", err)
		}
	}()
	box, err := LoadSecretBox(cfg, log)
	if err != nil {
		return err
	}
	aopts := authOptions(cfg, log)
	aopts.Secrets = box
	as := auth.NewService(db, aopts)
	if err := as.LoadPolicy(ctx); err != nil {
		return err
	}
	created, pw, err := as.EnsureAdmin(auth.WithActor(ctx, auth.SystemActor()), opts.AdminPassword)
	if err != nil {
		return err
	}

	var proxies []netip.Prefix
	for _, p := range cfg.HTTP.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("app: trusted proxy %q: %w", p, err)
		}
		proxies = append(proxies, pfx)
	}
	// The incident pipeline: incidents start escalations, escalation steps
	// queue notifications, delivery outcomes land on the timeline.
	pipe := &pipeline{db: db, log: log}
	notes := notify.NewService(db, notify.Options{Logger: log, Concurrency: cfg.Notify.Concurrency, MaxAttempts: cfg.Notify.MaxAttempts,
		MaxAge: cfg.Notify.MaxAge, BackoffBase: cfg.Notify.BackoffBase, BackoffMax: cfg.Notify.BackoffMax, OnOutcome: pipe.outcome, Secrets: box})
	if err := SealSecrets(ctx, as, notes, log); err != nil {
		return err
	}
	onCall := oncall.NewService(db, oncall.Options{Logger: log, Pager: pipe})
	incs, err := incident.Open(ctx, db, incident.Options{Logger: log, Paging: pipe, OnEvent: pipe.afterCommit})
	if err != nil {
		return err
	}
	pipe.incs, pipe.calls, pipe.notes = incs, onCall, notes
	var ci *cmdb.Service
	var mons *monitor.Service
	sec := security.New(db, security.Options{Alerts: incs, CIOfMonitor: ciOfMonitor(&ci), MonitorExists: monitorExists(&mons), Logger: log,
		AlertAt: security.Severity(cfg.Security.AlertSeverity), CertDays: cfg.Security.CertDays, BruteForceUser: cfg.Security.BruteForceUser,
		BruteForceAddr: cfg.Security.BruteForceAddr, BruteForceWindow: cfg.Security.BruteForceWindow})
	mons = monitor.NewService(db, monitor.Options{Checks: fleet.Checks(db, probe.New), Logger: log, OnChange: monitorToIncident(incs, log), OnResult: sec.ObserveCheck,
		Concurrency: cfg.Monitoring.Concurrency, RawRetention: cfg.Monitoring.RawRetention,
		MinuteRetention: cfg.Monitoring.MinuteRetention, HourRetention: cfg.Monitoring.HourRetention})
	if cfg.MonitorsPath != "" {
		// A broken monitors file stops the start: running with half the
		// declared monitors would look healthy while watching less.
		if _, err := mons.ReconcileFiles(ctx, cfg.MonitorsPath); err != nil {
			return fmt.Errorf("app: monitors file: %w", err)
		}
	}

	var assetReg *asset.Service
	ci = cmdb.NewService(db, cmdb.Options{Logger: log, CheckObject: func(ctx context.Context, kind cmdb.LinkKind, id int64) error {
		switch kind {
		case cmdb.LinkMonitor:
			_, err := mons.Get(ctx, id)
			return err
		case cmdb.LinkAsset:
			_, err := assetReg.Get(ctx, id)
			return err
		}
		return nil // the other domains check their own links when they land
	}})
	if err := ci.Start(ctx); err != nil {
		return err
	}
	pipe.cis, pipe.mons = ci, mons
	var agents *fleet.Service
	assetReg = asset.NewService(db, asset.Options{Logger: log, CMDB: ci, WarnDays: cfg.Assets.WarnDays,
		Installations: func(ctx context.Context, patterns []string) ([]asset.Installation, error) {
			return agentInstallations(ctx, agents, patterns)
		}})
	agents = fleet.NewService(db, fleet.Options{Logger: log, CMDB: ci, Assets: assetReg, OnUpdates: updatesToFindings(sec, log),
		OnSoftware: softwareToFindings(sec, cfg.Security.RiskyPackages, log)})
	slaNotes := &slaNotifier{db: db, notes: notes, log: log}
	desk := servicedesk.New(db, servicedesk.Options{Logger: log, OnSLAEvent: slaNotes.event, ReopenWindow: cfg.ServiceDesk.ReopenWindow,
		MaxAttachmentBytes: cfg.ServiceDesk.MaxAttachmentBytes})
	slaNotes.desk = desk
	licNotes := &licenseNotifier{db: db, assets: assetReg, auth: as, notes: notes, log: log}
	mailDesk, err := deskmail.New(db, desk, notes, deskmail.FromSettings(cfg.Mail), deskmail.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	changes := change.New(db, change.Options{Logger: log, CMDB: ci, Maintenance: mons, Windows: mons, IncidentWindow: cfg.Changes.IncidentWindow,
		NoteIncident: func(ctx context.Context, id int64, text string) error {
			return incs.AddTimeline(ctx, db.W, id, incident.TimelineEntry{Kind: "change", Text: text})
		},
		CheckLink: func(ctx context.Context, kind change.LinkKind, id int64) error {
			var err error
			switch kind {
			case change.LinkTicket:
				_, err = desk.Ticket(ctx, id)
			case change.LinkProblem:
				_, err = incs.GetProblem(ctx, id)
			case change.LinkIncident:
				_, err = incs.Get(ctx, id)
			}
			return err
		}})
	pipe.changes = changes

	backups := backup.New(db, backup.Options{Logger: log, Alerts: incs, Self: selfBackupOptions(cfg, opts.Version)})

	secure := cfg.TLS.CertFile != "" || strings.HasPrefix(cfg.BaseURL, "https://")
	srv, err := web.New(web.Options{DB: db, Auth: as, Logger: log, Version: opts.Version,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, SecureCookies: secure, TrustedProxies: proxies, BaseURL: cfg.BaseURL,
		Monitors: mons, Notify: notes, OnCall: onCall, Incidents: incs, CMDB: ci, ServiceDesk: desk, KB: kb.New(db, kb.Options{}), Assets: assetReg,
		DeskMail: mailDesk, Changes: changes, Backups: backups, Fleet: agents, Security: sec,
		Collectors: slices.Concat(mons.Collectors(), notes.Collectors(), incs.Collectors(), backups.Collectors(), agents.Collectors())})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("app: listen on %s: %w", cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("app: load TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	addr := ln.Addr().String()
	link := scheme + "://" + addr + "/"
	if cfg.BaseURL != "" {
		link = cfg.BaseURL
	}
	if u, err := url.Parse(link); err == nil && (u.Hostname() == "0.0.0.0" || u.Hostname() == "::") {
		u.Host = net.JoinHostPort("localhost", u.Port())
		link = u.String()
	}
	pipe.baseURL, slaNotes.baseURL, licNotes.baseURL = link, link, link
	mailDesk.SetBaseURL(link)
	log.Info("opsdeck listening", "addr", addr, "url", link, "database", string(db.Dialect), "location", db.Location, "version", opts.Version)
	fmt.Fprintf(opts.Console, "opsdeck %s is running at %s (database: %s)\n", opts.Version, link, db.Location)
	if created {
		if opts.AdminPassword == "" {
			fmt.Fprintf(opts.Console, "\n  First start: sign in as user \"admin\" with password %s\n  (shown only this once; you will be asked to choose your own)\n\n", pw)
		} else {
			fmt.Fprintln(opts.Console, "First start: created user \"admin\" with the password from OPSDECK_ADMIN_PASSWORD.")
		}
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { as.Run(workCtx) })
	// Intake commits until the HTTP server has drained, so every request
	// that got in is answered after its commit.
	wg.Go(func() { incs.Run(workCtx) })
	wg.Go(func() { reconcileMonitorAlerts(workCtx, mons, incs, log) })
	wg.Go(func() { desk.Run(workCtx) })
	wg.Go(func() { licNotes.Run(workCtx) })
	wg.Go(func() {
		if err := mailDesk.Run(workCtx); err != nil {
			log.Error("service desk email stopped", "err", err)
		}
	})
	wg.Go(func() { backups.Run(workCtx) })
	// Like intake, agent reports commit until the HTTP server has drained.
	wg.Go(func() { agents.Run(workCtx) })
	wg.Go(func() { sec.Run(workCtx) })
	// Before the HTTP server takes agent reports: findings follow the
	// stored inventories under the risky-package patterns configured now.
	if err := syncRiskySoftware(ctx, agents, sec, cfg.Security.RiskyPackages); err != nil {
		log.Error("risky software findings not brought up to date", "err", err)
	}
	wg.Go(func() {
		if err := mons.Run(workCtx); err != nil {
			log.Error("monitoring stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := notes.Run(workCtx); err != nil {
			log.Error("notifications stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := onCall.Run(workCtx); err != nil {
			log.Error("escalation engine stopped", "err", err)
		}
	})

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	if opts.Ready != nil {
		opts.Ready <- addr
	}

	var runErr error
wait:
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "timeout", cfg.HTTP.ShutdownTimeout)
			break wait
		case err := <-serveErr:
			runErr = fmt.Errorf("app: serve: %w", err)
			break wait
		case <-opts.Reload:
			if cfg.MonitorsPath == "" {
				log.Info("reload: no monitors_path configured; nothing to apply")
				continue
			}
			// On reload a broken file keeps the monitors as they are.
			if _, err := mons.ReconcileFiles(ctx, cfg.MonitorsPath); err != nil {
				log.Error("reload: monitors file not applied", "err", err)
			}
		}
	}
	shCtx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shCtx); err != nil {
		log.Warn("HTTP shutdown incomplete", "err", err)
		_ = hs.Close()
	}
	stopWork()
	wg.Wait()
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) {
		return runErr
	}
	log.Info("stopped")
	return nil
}

// monitorToIncident hands monitor state changes to the incident pipeline.
func monitorToIncident(incs *incident.Service, log *slog.Logger) func(context.Context, monitor.Change) {
	return func(ctx context.Context, c monitor.Change) {
		if err := incs.FromMonitor(ctx, c); err != nil {
			// The start-up reconcile repairs what is lost here.
			log.Error("monitor change not turned into an alert", "monitor", c.Monitor.Name, "to", c.To, "err", err)
		}
	}
}

// reconcileMonitorAlerts opens alerts for monitors that are down without
// one (a crash between the monitor's commit and its hand-off) and resolves
// those of monitors that are up again.
func reconcileMonitorAlerts(ctx context.Context, mons *monitor.Service, incs *incident.Service, log *slog.Logger) {
	var all []monitor.WithStatus
	f := monitor.ListFilter{Limit: 10000}
	for {
		ms, next, err := mons.List(ctx, f)
		if err != nil {
			log.Error("reconcile monitor alerts", "err", err)
			return
		}
		all = append(all, ms...)
		if next == 0 {
			break
		}
		f.After = next
	}
	if _, err := incs.ReconcileMonitors(ctx, all); err != nil && ctx.Err() == nil {
		log.Error("reconcile monitor alerts", "err", err)
	}
}

// selfBackupOptions schedules opsdeck's own backups from the configuration.
func selfBackupOptions(cfg config.Config, version string) backup.SelfOptions {
	folder := cfg.Backup.SelfFolder
	if folder == "" {
		folder = filepath.Join(cfg.DataDir, "backups")
	}
	o := backup.SelfOptions{Interval: cfg.Backup.SelfInterval, Folder: folder, Retention: cfg.Backup.SelfRetention, Version: version}
	if cfg.IsPostgres() {
		o.DSN = cfg.DB
	}
	return o
}
