package deskmail

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// startDovecot runs a private Dovecot IMAP server on a random loopback
// port: config, passwd-file and maildir in a temporary folder. It returns
// the address, or "" when dovecot is not installed (outside CI).
func startDovecot(t *testing.T, user, password string) string {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		for _, p := range []string{"/usr/sbin/dovecot"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dovecot is not installed (apt-get install dovecot-imapd)")
		}
		return ""
	}
	dir := t.TempDir()
	// Dovecot's auth process runs as user dovecot and must reach the
	// passwd file.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"run", "state", "home/" + user + "/Maildir"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Mail is stored as the unprivileged dovecot user: Dovecot refuses
	// to run a mailbox as root.
	mailUser, err := osuser.Lookup("dovecot")
	if err != nil {
		t.Fatalf("the dovecot package's user: %v", err)
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)
	if err := os.Chown(filepath.Join(dir, "home", user), uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "home", user, "Maildir"), uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(user+":{PLAIN}"+password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf(`protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = %[3]d
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[4]d home=%[1]s/home/%%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
`, dir, port, uid, gid)
	cfg := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("dovecot log:\n%s", log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("dovecot did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr
}

// startMemIMAP runs go-imap's in-memory IMAP server on loopback: the
// real IMAP protocol, used where Dovecot is not installed.
func startMemIMAP(t *testing.T, user, password string) string {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, password)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// imapPeer is a mailbox the test fills and inspects over IMAP.
type imapPeer struct {
	t    *testing.T
	addr string
}

func (p imapPeer) client() *imapclient.Client {
	p.t.Helper()
	c, err := imapclient.DialInsecure(p.addr, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := c.Login("desk", "s3cret-pw").Wait(); err != nil {
		p.t.Fatal(err)
	}
	return c
}

func (p imapPeer) deliver(raw string) {
	p.t.Helper()
	c := p.client()
	defer c.Close()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		p.t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		p.t.Fatal(err)
	}
}

func (p imapPeer) create(folder string) {
	p.t.Helper()
	c := p.client()
	defer c.Close()
	if err := c.Create(folder, nil).Wait(); err != nil {
		p.t.Fatal(err)
	}
}

// count returns how many messages a folder holds and how many carry flag.
func (p imapPeer) count(folder string, flag imap.Flag) (int, int) {
	p.t.Helper()
	c := p.client()
	defer c.Close()
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		p.t.Fatal(err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{flag}}, nil).Wait()
	if err != nil {
		p.t.Fatal(err)
	}
	return int(sel.NumMessages), len(found.AllUIDs())
}

func TestIMAPPolling(t *testing.T) {
	for _, server := range []string{"dovecot", "go-imap memserver"} {
		t.Run(server, func(t *testing.T) {
			addr := ""
			if server == "dovecot" {
				if addr = startDovecot(t, "desk", "s3cret-pw"); addr == "" {
					t.Skip("dovecot is not installed (apt-get install dovecot-imapd)")
				}
			} else {
				addr = startMemIMAP(t, "desk", "s3cret-pw")
			}
			peer := imapPeer{t: t, addr: addr}
			db := storetest.SQLite(t)
			var gid int64
			if err := db.W.QueryRow(`INSERT INTO sd_groups (name, updated_at) VALUES ('Mailbox', CURRENT_TIMESTAMP) RETURNING id`).Scan(&gid); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, db, Config{IMAP: IMAPConfig{URL: "imap+insecure://desk@" + addr + "/INBOX", Password: "s3cret-pw", Group: "Mailbox"}})
			peer.deliver(mailText("alice@customer.example", "From IMAP", "i1@c.example", "", "polled"))
			peer.deliver(mailText("bob@customer.example", "Out of office", "i2@c.example", "Auto-Submitted: auto-replied\n", "away"))
			ctx := context.Background()
			n, err := f.mail.PollOnce(ctx)
			if err != nil || n != 2 {
				t.Fatalf("poll: %d %v", n, err)
			}
			var tid int64
			if err := db.R.QueryRow(`SELECT ticket_id FROM desk_mail_messages WHERE message_id = 'i1@c.example'`).Scan(&tid); err != nil {
				t.Fatal(err)
			}
			if tk := f.ticket(tid); tk.GroupID != gid || tk.RequesterID != f.users["alice"] {
				t.Fatalf("%+v", tk)
			}
			total, flagged := peer.count("INBOX", processedKeyword)
			if total != 2 || flagged != 2 {
				t.Fatalf("INBOX %d messages, %d flagged processed", total, flagged)
			}
			// Flagged messages are not taken again.
			if n, err := f.mail.PollOnce(ctx); err != nil || n != 0 {
				t.Fatalf("second poll: %d %v", n, err)
			}
			// With a done folder, processed mail is moved there.
			peer.create("Processed")
			f.mail.cfg.IMAP.DoneFolder = "Processed"
			peer.deliver(mailText("alice@customer.example", "[#"+itoa(tid)+"] more", "i3@c.example", "", "more info"))
			if n, err := f.mail.PollOnce(ctx); err != nil || n != 3 {
				// Without the flag criterion every message in INBOX is seen;
				// the two old ones are duplicates and move along.
				t.Fatalf("poll with done folder: %d %v", n, err)
			}
			if total, _ := peer.count("INBOX", imap.FlagSeen); total != 0 {
				t.Fatalf("INBOX still holds %d", total)
			}
			if total, _ := peer.count("Processed", imap.FlagSeen); total != 3 {
				t.Fatalf("Processed holds %d", total)
			}
			if c := f.mail.Counters(); c["reply"] != 1 || c["duplicate"] != 2 || c["loop"] != 1 {
				t.Fatalf("counters %v", c)
			}
			st, on := f.mail.IMAPStatus()
			if !on || st.LastError != "" || st.Fetched != 5 || strings.Contains(fmt.Sprint(st), "s3cret") {
				t.Fatalf("status %+v", st)
			}
			// A wrong password is an error on the status, never the password.
			f.mail.cfg.IMAP.Password = "wrong-pw"
			if _, err := f.mail.PollOnce(ctx); err == nil {
				t.Fatal("login with a wrong password worked")
			}
			st, _ = f.mail.IMAPStatus()
			if st.LastError == "" || strings.Contains(st.LastError, "wrong-pw") {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

func TestIMAPURL(t *testing.T) {
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"imaps://desk@mail.example.com/INBOX", true},
		{"imap://desk@mail.example.com", true},
		{"imap+insecure://desk@127.0.0.1:1143/INBOX", true},
		{"imap+insecure://desk@mail.example.com/INBOX", false},
		{"imaps://desk:pw@mail.example.com/INBOX", false},
		{"imaps://mail.example.com/INBOX", false},
		{"http://desk@mail.example.com/", false},
		{"imaps://desk@/INBOX", false},
		{"::", false},
	} {
		_, err := parseIMAPURL(c.url)
		if (err == nil) != c.ok {
			t.Errorf("%q: %v", c.url, err)
		}
	}
}
