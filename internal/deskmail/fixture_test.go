package deskmail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
)

// fixture is a migrated database with a service desk, notify, a deskmail
// Service on it and the users of a small desk.
type fixture struct {
	t      testing.TB
	db     *store.DB
	desk   *servicedesk.Service
	notify *notify.Service
	mail   *Service
	users  map[string]int64
}

func newFixture(t testing.TB, db *store.DB, cfg Config) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, users: map[string]int64{}}
	f.desk = servicedesk.New(db, servicedesk.Options{MaxAttachmentBytes: 64 << 10})
	f.notify = notify.NewService(db, notify.Options{})
	if cfg.Address == "" {
		cfg.Address = "support@desk.example"
	}
	var err error
	if f.mail, err = New(db, f.desk, f.notify, cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name, email string
		role        auth.Role
	}{{"agent1", "agent1@desk.example", auth.RoleOperator}, {"alice", "Alice@Customer.example", auth.RoleRequester},
		{"bob", "bob@customer.example", auth.RoleRequester}, {"viewer", "viewer@desk.example", auth.RoleViewer}} {
		var id int64
		err := db.W.QueryRowContext(context.Background(), `INSERT INTO users (username, email, role, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, 'x', $4, $4) RETURNING id`, u.name, u.email, string(u.role), time.Now().UTC()).Scan(&id)
		if err != nil {
			t.Fatalf("user %s: %v", u.name, err)
		}
		f.users[u.name] = id
	}
	return f
}

// as is a context acting as the named user.
func (f *fixture) as(name string, role auth.Role) context.Context {
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: f.users[name], Name: name, Role: role}, Via: auth.ViaAPI})
}

// ingest feeds one raw message and fails the test on a processing error.
func (f *fixture) ingest(raw string) Result {
	f.t.Helper()
	res, err := f.mail.Ingest(context.Background(), []byte(strings.ReplaceAll(raw, "\n", "\r\n")), Envelope{Via: "test", Rcpts: []string{"support@desk.example"}})
	if err != nil {
		f.t.Fatalf("ingest: %v", err)
	}
	return res
}

// ticket reads a ticket as the system.
func (f *fixture) ticket(id int64) *servicedesk.Ticket {
	f.t.Helper()
	t, err := f.desk.Ticket(context.Background(), id)
	if err != nil {
		f.t.Fatalf("ticket %d: %v", id, err)
	}
	return t
}

// mailText builds a simple message.
func mailText(from, subject, msgID, extra, body string) string {
	return fmt.Sprintf("From: %s\nTo: support@desk.example\nSubject: %s\nMessage-ID: <%s>\nDate: Wed, 02 Dec 2026 10:00:00 +0000\n%sMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n",
		from, subject, msgID, extra, body)
}

// sink is a real SMTP server (emersion/go-smtp) on loopback keeping what
// it receives: the outbound side's peer.
type sink struct {
	mu    sync.Mutex
	mails [][]byte
	rcpts []string
	addr  string
}

func newSink(t testing.TB) *sink {
	t.Helper()
	k := &sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }))
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return k
}

func (k *sink) all() [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([][]byte{}, k.mails...)
}

type sinkSession struct{ k *sink }

func (s *sinkSession) Reset()                               {}
func (s *sinkSession) Logout() error                        { return nil }
func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.k.mu.Lock()
	s.k.rcpts = append(s.k.rcpts, to)
	s.k.mu.Unlock()
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	s.k.mu.Lock()
	s.k.mails = append(s.k.mails, b.Bytes())
	s.k.mu.Unlock()
	return nil
}

// emailChannel creates a notify email channel sending to the sink.
func (f *fixture) emailChannel(k *sink) string {
	f.t.Helper()
	host, port, _ := net.SplitHostPort(k.addr)
	settings, _ := json.Marshal(map[string]any{"host": host, "port": atoi(port), "security": "none", "from": "opsdeck desk <desk-out@desk.example>"})
	if _, err := f.notify.SaveChannel(context.Background(), 0, notify.ChannelInput{Name: "desk mail", Kind: "email", Settings: settings}); err != nil {
		f.t.Fatal(err)
	}
	return "desk mail"
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func statusOf(s string) servicedesk.Status { return servicedesk.Status(s) }

func patchStatus(s servicedesk.Status) servicedesk.TicketPatch {
	return servicedesk.TicketPatch{Status: &s}
}

func patchAssignee(id int64) servicedesk.TicketPatch { return servicedesk.TicketPatch{AssigneeID: &id} }

func readAll(m *mail.Message) string {
	var b strings.Builder
	r := quotedprintable.NewReader(m.Body)
	_, _ = io.Copy(&b, r)
	return b.String()
}

type mimeDecoder struct{ mime.WordDecoder }

func (d *mimeDecoder) decode(s string) string {
	out, err := d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}
