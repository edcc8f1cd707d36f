// Command mailload delivers mail over real SMTP to opsdeck's service-desk
// listener as fast as -conns connections allow (each connection sends one
// message after another, as an MTA flushing its queue), then, given an
// admin -token, asks the API what became of them.
//
// First -roots messages open tickets; then every -reply-every'th message
// answers one of them (round robin, from its requester, by the subject
// tag) and the rest open tickets from -senders different addresses.
//
//	mailload -smtp 127.0.0.1:2525 -to support@example.com -n 5000 -conns 8 -url http://127.0.0.1:8080 -token odk_...
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// plan is one run.
type plan struct {
	SMTP, To, URL, Token string
	N, Conns, Senders    int
	ReplyEvery, Roots    int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var p plan
	fs := flag.NewFlagSet("mailload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&p.SMTP, "smtp", "127.0.0.1:2525", "the listener's host:port")
	fs.StringVar(&p.To, "to", "support@example.com", "recipient the listener accepts")
	fs.StringVar(&p.URL, "url", "", "opsdeck's base URL, to read the outcome counters (optional)")
	fs.StringVar(&p.Token, "token", "", "admin API token for -url")
	fs.IntVar(&p.N, "n", 2000, "messages to send")
	fs.IntVar(&p.Conns, "conns", 8, "SMTP connections at once")
	fs.IntVar(&p.Senders, "senders", 200, "distinct sender addresses")
	fs.IntVar(&p.ReplyEvery, "reply-every", 2, "every n-th message is a reply into one of the root tickets (0: none)")
	fs.IntVar(&p.Roots, "roots", 50, "tickets opened first for the replies to go to (needs -url and -token)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if p.N < 1 || p.Conns < 1 || p.Senders < 1 || p.ReplyEvery < 0 || p.Roots < 1 || p.Roots > 500 {
		fmt.Fprintln(stderr, "mailload: -n, -conns and -senders must be at least 1, -roots from 1 to 500")
		return 2
	}
	before, _ := counters(ctx, p)
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	// The roots: tickets the replies go to, spread so that replies do not
	// all queue on one ticket's lock.
	for r := range p.Roots {
		if err := deliver(p, fmt.Sprintf("root%d@mailload.example", r), "mailload root "+run, fmt.Sprintf("root%d-%s", r, run)); err != nil {
			fmt.Fprintln(stderr, "mailload:", err)
			return 1
		}
	}
	roots := map[int]int{}
	if p.URL != "" {
		roots = findRoots(ctx, p, run)
	}
	var next, failed atomic.Int64
	lat := make([][]time.Duration, p.Conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range p.Conns {
		wg.Go(func() {
			c, err := smtp.Dial(p.SMTP)
			if err != nil {
				failed.Add(int64(p.N))
				return
			}
			defer c.Close()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(p.N) {
					return
				}
				from := fmt.Sprintf("sender%d@mailload.example", i%int64(p.Senders))
				subject := fmt.Sprintf("mailload %s #%d", run, i)
				if r := int(i/int64(max(p.ReplyEvery, 1))) % p.Roots; p.ReplyEvery > 0 && roots[r] > 0 && i%int64(p.ReplyEvery) == 0 {
					from, subject = fmt.Sprintf("root%d@mailload.example", r), fmt.Sprintf("Re: [#%d] mailload root", roots[r])
				}
				t0 := time.Now()
				if err := send(c, from, p.To, message(from, p.To, subject, fmt.Sprintf("m%d-%s", i, run))); err != nil {
					failed.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	ok := len(all)
	fmt.Fprintf(stdout, "sent %d of %d in %s over %d connections: %.1f msgs/s accepted (250), %d failed\n",
		ok, p.N, took.Round(time.Millisecond), p.Conns, float64(ok)/took.Seconds(), failed.Load())
	if ok > 0 {
		pc := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
		fmt.Fprintf(stdout, "per message (DATA to 250): p50 %s  p95 %s  p99 %s  max %s\n", pc(0.5).Round(time.Microsecond),
			pc(0.95).Round(time.Microsecond), pc(0.99).Round(time.Microsecond), all[len(all)-1].Round(time.Microsecond))
	}
	if after, err := counters(ctx, p); err == nil && p.URL != "" {
		fmt.Fprintf(stdout, "outcomes: ")
		for _, k := range []string{"ticket", "reply", "duplicate", "loop", "bulk", "too_big", "rejected"} {
			fmt.Fprintf(stdout, "%s %d  ", k, after[k]-before[k])
		}
		fmt.Fprintln(stdout)
	}
	if failed.Load() > 0 {
		return 1
	}
	return 0
}

func message(from, to, subject, id string) string {
	return strings.ReplaceAll(fmt.Sprintf("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@mailload.example>\nDate: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nLoad test message %s.\n",
		from, to, subject, id, time.Now().Format(time.RFC1123Z), id), "\n", "\r\n")
}

func deliver(p plan, from, subject, id string) error {
	return smtp.SendMail(p.SMTP, nil, from, []string{p.To}, []byte(message(from, p.To, subject, id)))
}

func send(c *smtp.Client, from, to, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

// get reads one JSON document from the API.
func get(ctx context.Context, p plan, path string, v any) error {
	if p.URL == "" {
		return errors.New("no -url")
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(p.URL, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func counters(ctx context.Context, p plan) (map[string]int64, error) {
	var st struct {
		Counters map[string]int64 `json:"counters_since_start"`
	}
	err := get(ctx, p, "/api/v1/service-desk/email", &st)
	return st.Counters, err
}

// findRoots returns the tickets the root messages opened, by root number.
func findRoots(ctx context.Context, p plan, run string) map[int]int {
	var list struct {
		Data []struct {
			MessageID string `json:"message_id"`
			TicketID  int    `json:"ticket_id"`
		} `json:"data"`
	}
	out := map[int]int{}
	if err := get(ctx, p, "/api/v1/service-desk/email/messages?outcome=ticket&limit=500", &list); err != nil {
		return out
	}
	for _, m := range list.Data {
		var r int
		var rest string
		if n, _ := fmt.Sscanf(m.MessageID, "root%d-%s", &r, &rest); n == 2 && rest == run+"@mailload.example" {
			out[r] = m.TicketID
		}
	}
	return out
}
