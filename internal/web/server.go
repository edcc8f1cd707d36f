// Package web is opsdeck's HTTP face: the JSON API under /api/v1, the
// server-rendered UI, health and metrics endpoints. It maps HTTP to domain
// calls and renders results; business rules live in the domain packages.
package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/oncall"
	"github.com/opsdeck/opsdeck/internal/security"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Options configures a Server.
type Options struct {
	DB     *store.DB
	Auth   *auth.Service
	Logger *slog.Logger
	// Version is shown in the UI footer and /api/v1/version.
	Version string
	// MaxBodyBytes caps request bodies; larger ones get 413.
	MaxBodyBytes int64
	// SecureCookies marks cookies Secure (serving TLS, or behind an HTTPS
	// proxy as named by the base URL).
	SecureCookies bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// BaseURL is the external address used in links; may be empty.
	BaseURL string
	// Monitors is the monitoring service; nil leaves its routes out (tests
	// of other areas).
	Monitors *monitor.Service
	// Notify is the notification service; nil leaves its routes out.
	Notify *notify.Service
	// OnCall is the schedules and escalation service; nil leaves its
	// routes out.
	OnCall *oncall.Service
	// Incidents is the incident service; nil leaves its routes out.
	Incidents *incident.Service
	// CMDB is the configuration management database; nil leaves its
	// routes out.
	CMDB *cmdb.Service
	// ServiceDesk is the service desk (tickets, SLAs); nil leaves its
	// routes out.
	ServiceDesk *servicedesk.Service
	// DeskMail is the service desk's email; nil leaves its page out.
	DeskMail *deskmail.Service
	// KB is the knowledge base; nil leaves its routes out.
	KB *kb.Service
	// Assets is the asset register; nil leaves its routes out.
	Assets *assets.Service
	// Changes is change management; nil leaves its routes out.
	Changes *change.Service
	// Backups is backup and DR monitoring; nil leaves its routes out.
	Backups *backup.Service
	// Fleet is the host agent fleet; nil leaves its routes out.
	Fleet *fleet.Service
	// Security is the security findings service; nil leaves its pages
	// out (two-factor sign-in is served either way).
	Security *security.Service
	// Collectors are extra Prometheus collectors for /metrics.
	Collectors []prometheus.Collector
}

// Server holds the HTTP handlers and what they need.
type Server struct {
	db      *store.DB
	auth    *auth.Service
	log     *slog.Logger
	opts    Options
	metrics *httpMetrics
	tmpl    *templates
	handler http.Handler
	routes  []Route
	started time.Time
}

// New builds the Server and its route table.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	s := &Server{db: opts.DB, auth: opts.Auth, log: opts.Logger, opts: opts, started: time.Now()}
	s.metrics = newHTTPMetrics(opts.DB)
	s.metrics.reg.MustRegister(opts.Collectors...)
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s.tmpl = t
	s.routes = s.routeTable()
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.Method+" "+rt.Path, s.guard(rt))
	}
	mux.HandleFunc("/", s.notFound)
	s.handler = s.recoverPanics(s.requestContext(s.observe(securityHeaders(s.strictTransport(mux)))))
	return s, nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes returns the route table, for tests that walk every route.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }
