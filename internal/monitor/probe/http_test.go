package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/valid"
)

const (
	httpTestUser     = "alice"
	httpTestPassword = "s3cret-pw"
	httpTestToken    = "tok-0123456789"
)

// httpTestServer serves the paths the http check tests request.
func httpTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != httpUserAgent {
			http.Error(w, "wrong user agent "+r.Header.Get("User-Agent"), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "all ok here")
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
		io.WriteString(w, "status "+r.PathValue("code"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/delay", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		io.WriteString(w, "late but fine")
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"items":[{"status":"up","count":1.0,"ok":true,"none":null},{"status":"down"}],"name":"svc"},"list":[[1,2],[3]]}`)
	})
	mux.HandleFunc("/notjson", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") })
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", "2")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("X-Echo", r.Header.Get("X-Request"))
		w.Header().Set("X-Host", r.Host)
		io.WriteString(w, "headers")
	})
	mux.HandleFunc("/redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n <= 0 {
			http.Redirect(w, r, "/ok", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/redirect/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range (5 << 20) / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(w, "needle-at-the-end")
	})
	mux.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		// More than the check reads, then nothing until the client leaves:
		// a check that read to the end would time out.
		w.Write(bytes.Repeat([]byte("y"), 3<<19))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != httpTestUser || p != httpTestPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		// Echo the credentials, as debugging endpoints do.
		io.WriteString(w, "welcome; you sent "+r.Header.Get("Authorization")+" password="+p)
	})
	mux.HandleFunc("/bearer", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+httpTestToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "token "+httpTestToken+" accepted")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s key=%s", r.Method, b, r.Header.Get("X-Api-Key"))
	})
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("a\x00b\xff\xfec" + strings.Repeat("é", 2000)))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func mustNewHTTP(t *testing.T, settings string) *HTTP {
	t.Helper()
	h, err := NewHTTP(json.RawMessage(settings))
	if err != nil {
		t.Fatalf("NewHTTP(%s): %v", settings, err)
	}
	return h
}

func netProbe(c Prober, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Probe(ctx)
}

func netMetric(res Result, name string) (float64, bool) {
	for _, m := range res.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

func TestHTTPProbe(t *testing.T) {
	srv := httpTestServer(t)
	tests := []struct {
		name     string
		settings string // %s is the server's base URL
		timeout  time.Duration
		status   Status
		message  string // substring
		check    func(t *testing.T, res Result)
	}{
		{name: "ok", settings: `{"url":"%s/ok"}`, status: StatusUp, message: "HTTP 200 OK",
			check: func(t *testing.T, res Result) {
				if res.Output != "all ok here" {
					t.Errorf("Output = %q", res.Output)
				}
				if v, _ := netMetric(res, "http_status"); v != 200 {
					t.Errorf("http_status = %v", v)
				}
				if _, ok := netMetric(res, metricCertExpiry); ok {
					t.Errorf("cert_expiry_days on plain http")
				}
				if res.Phases.Connect <= 0 || res.Phases.FirstByte <= 0 || res.Latency < res.Phases.Connect+res.Phases.FirstByte {
					t.Errorf("phases %+v, latency %v", res.Phases, res.Latency)
				}
			}},
		{name: "503 down", settings: `{"url":"%s/status/503"}`, status: StatusDown, message: "HTTP 503, want 200-399",
			check: func(t *testing.T, res Result) {
				if v, _ := netMetric(res, "http_status"); v != 503 {
					t.Errorf("http_status = %v", v)
				}
			}},
		{name: "404 wanted", settings: `{"url":"%s/status/404","expect":{"status":[404,"500-599"]}}`, status: StatusUp},
		{name: "201 not in list", settings: `{"url":"%s/status/201","expect":{"status":["200","204"]}}`, status: StatusDown, message: "HTTP 201, want 200,204"},
		{name: "class 2xx", settings: `{"url":"%s/status/204","expect":{"status":"2xx"}}`, status: StatusUp},
		{name: "timeout", settings: `{"url":"%s/slow"}`, timeout: 300 * time.Millisecond, status: StatusDown, message: "timeout after 300ms",
			check: func(t *testing.T, res Result) {
				if res.Latency > time.Second {
					t.Errorf("Latency %v: the check outlived its deadline", res.Latency)
				}
			}},
		{name: "slow is degraded", settings: `{"url":"%s/delay","expect":{"max_latency":"50ms"}}`, status: StatusDegraded, message: "but slow"},
		{name: "fast enough", settings: `{"url":"%s/delay","expect":{"max_latency":"5s"}}`, status: StatusUp},
		{name: "slow and failing is down", settings: `{"url":"%s/delay","expect":{"max_latency":"50ms","body_contains":"nope"}}`, status: StatusDown, message: `body does not contain "nope"`},
		{name: "body contains", settings: `{"url":"%s/ok","expect":{"body_contains":"ok here"}}`, status: StatusUp},
		{name: "body lacks", settings: `{"url":"%s/ok","expect":{"body_contains":"ok\n"}}`, status: StatusDown, message: `body does not contain "ok\n"`},
		{name: "body regex", settings: `{"url":"%s/ok","expect":{"body_regex":"^all (ok|fine)"}}`, status: StatusUp},
		{name: "body regex fails", settings: `{"url":"%s/ok","expect":{"body_regex":"^fine$"}}`, status: StatusDown, message: "body does not match /^fine$/"},
		{name: "json nested", settings: `{"url":"%s/json","expect":{"json_path":"data.items[0].status","json_value":"up"}}`, status: StatusUp},
		{name: "json second item", settings: `{"url":"%s/json","expect":{"json_path":"$.data.items[1].status","json_value":"up"}}`, status: StatusDown, message: `JSON $.data.items[1].status is "down", want "up"`},
		{name: "json number as number", settings: `{"url":"%s/json","expect":{"json_path":"data.items[0].count","json_value":1}}`, status: StatusUp},
		{name: "json bool", settings: `{"url":"%s/json","expect":{"json_path":"data.items[0].ok","json_value":true}}`, status: StatusUp},
		{name: "json null", settings: `{"url":"%s/json","expect":{"json_path":"data.items[0].none","json_value":"null"}}`, status: StatusUp},
		{name: "json nested arrays", settings: `{"url":"%s/json","expect":{"json_path":"list[0][1]","json_value":"2"}}`, status: StatusUp},
		{name: "json object as text", settings: `{"url":"%s/json","expect":{"json_path":"list[1]","json_value":"[3]"}}`, status: StatusUp},
		{name: "json exists", settings: `{"url":"%s/json","expect":{"json_path":"data.name"}}`, status: StatusUp},
		{name: "json index out of range", settings: `{"url":"%s/json","expect":{"json_path":"data.items[5].status","json_value":"up"}}`, status: StatusDown, message: "JSON path data.items[5].status not found"},
		{name: "json missing key", settings: `{"url":"%s/json","expect":{"json_path":"data.missing"}}`, status: StatusDown, message: "not found"},
		{name: "json key on array", settings: `{"url":"%s/json","expect":{"json_path":"list.x"}}`, status: StatusDown, message: "not found"},
		{name: "json on html", settings: `{"url":"%s/notjson","expect":{"json_path":"a"}}`, status: StatusDown, message: "body is not JSON"},
		{name: "response header", settings: `{"url":"%s/headers","expect":{"headers":{"x-version":"2"}}}`, status: StatusUp},
		{name: "response header multi", settings: `{"url":"%s/headers","expect":{"headers":{"X-Multi":"b"}}}`, status: StatusUp},
		{name: "response header wrong", settings: `{"url":"%s/headers","expect":{"headers":{"X-Version":"3"}}}`, status: StatusDown, message: `header X-Version is "2", want "3"`},
		{name: "response header missing", settings: `{"url":"%s/headers","expect":{"headers":{"X-Nope":"1"}}}`, status: StatusDown, message: "header X-Nope is missing"},
		{name: "request headers and Host", settings: `{"url":"%s/headers","headers":{"X-Request":"hello","Host":"svc.example"},"expect":{"headers":{"X-Echo":"hello","X-Host":"svc.example"}}}`, status: StatusUp},
		{name: "redirects followed", settings: `{"url":"%s/redirect/3","expect":{"status":200,"body_contains":"all ok"}}`, status: StatusUp},
		{name: "ten redirects followed", settings: `{"url":"%s/redirect/9","expect":{"status":200}}`, status: StatusUp},
		{name: "eleven redirects refused", settings: `{"url":"%s/redirect/10"}`, status: StatusDown, message: "stopped after 10 redirects"},
		{name: "redirect loop", settings: `{"url":"%s/loop"}`, status: StatusDown, message: "stopped after 10 redirects"},
		{name: "redirect not followed", settings: `{"url":"%s/redirect/3","follow_redirects":false}`, status: StatusUp, message: "HTTP 302"},
		{name: "redirect not followed and unwanted", settings: `{"url":"%s/loop","follow_redirects":false,"expect":{"status":"200-299"}}`, status: StatusDown, message: "HTTP 301, want 200-299"},
		{name: "big body is cut", settings: `{"url":"%s/big"}`, status: StatusUp,
			check: func(t *testing.T, res Result) {
				if len(res.Output) != outputLimit {
					t.Errorf("Output is %d bytes, want %d", len(res.Output), outputLimit)
				}
			}},
		{name: "big body needle beyond the cap", settings: `{"url":"%s/big","expect":{"body_contains":"needle"}}`, status: StatusDown, message: "in its first 1024 KiB"},
		{name: "stalled body is not waited for", settings: `{"url":"%s/stall"}`, timeout: 3 * time.Second, status: StatusUp,
			check: func(t *testing.T, res Result) {
				if res.Latency > 2*time.Second {
					t.Errorf("Latency %v: the check read past its cap", res.Latency)
				}
			}},
		{name: "basic auth", settings: `{"url":"%s/auth","basic_auth":{"username":"alice","password":"s3cret-pw"},"expect":{"body_contains":"welcome"}}`, status: StatusUp,
			check: func(t *testing.T, res Result) {
				if strings.Contains(res.Output, httpTestPassword) || strings.Contains(res.Output, "YWxpY2U6czNjcmV0LXB3") {
					t.Errorf("Output leaks the credentials: %q", res.Output)
				}
				if !strings.Contains(res.Output, "[redacted]") {
					t.Errorf("Output = %q, want the echo redacted", res.Output)
				}
			}},
		{name: "basic auth wrong", settings: `{"url":"%s/auth","basic_auth":{"username":"alice","password":"wrong-pw"}}`, status: StatusDown, message: "HTTP 401"},
		{name: "basic auth missing", settings: `{"url":"%s/auth"}`, status: StatusDown, message: "HTTP 401"},
		{name: "bearer", settings: `{"url":"%s/bearer","bearer_token":"tok-0123456789"}`, status: StatusUp,
			check: func(t *testing.T, res Result) {
				if strings.Contains(res.Output, httpTestToken) {
					t.Errorf("Output leaks the token: %q", res.Output)
				}
			}},
		{name: "bearer in a failed condition", settings: `{"url":"%s/bearer","bearer_token":"tok-0123456789","expect":{"body_contains":"nope"}}`, status: StatusDown,
			check: func(t *testing.T, res Result) {
				if strings.Contains(res.Output+res.Message, httpTestToken) {
					t.Errorf("leaks the token: %q / %q", res.Message, res.Output)
				}
			}},
		{name: "post body", settings: `{"url":"%s/echo","method":"post","body":"{\"a\":1}","headers":{"X-Api-Key":"k-123456"},"expect":{"body_contains":"POST {\"a\":1}"}}`, status: StatusUp,
			check: func(t *testing.T, res Result) {
				if strings.Contains(res.Output, "k-123456") {
					t.Errorf("Output leaks the API key: %q", res.Output)
				}
			}},
		{name: "head", settings: `{"url":"%s/ok","method":"HEAD"}`, status: StatusUp,
			check: func(t *testing.T, res Result) {
				if res.Output != "" {
					t.Errorf("HEAD output %q", res.Output)
				}
			}},
		{name: "binary body", settings: `{"url":"%s/binary"}`, status: StatusUp,
			check: func(t *testing.T, res Result) {
				if !strings.HasPrefix(res.Output, "a\uFFFDb\uFFFDc") || strings.ContainsRune(res.Output, 0) || len(res.Output) > outputLimit {
					t.Errorf("Output %q... is not clean UTF-8 within the cap", res.Output[:min(20, len(res.Output))])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := mustNewHTTP(t, fmt.Sprintf(tt.settings, srv.URL))
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			res := netProbe(h, timeout)
			if res.Status != tt.status || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("got %s %q, want %s %q", res.Status, res.Message, tt.status, tt.message)
			}
			if !utf8.ValidString(res.Output) {
				t.Errorf("Output is not valid UTF-8")
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func TestHTTPTLS(t *testing.T) {
	h1 := httpTLSTestServer(t, false)
	h2 := httpTLSTestServer(t, true)
	tests := []struct {
		name     string
		srv      *httptest.Server
		settings string
		status   Status
		message  string
	}{
		{"verify refuses the test CA", h1, `{"url":"%s/"}`, StatusDown, "certificate: x509: certificate signed by unknown authority"},
		{"verify off", h1, `{"url":"%s/","tls_verify":false,"expect":{"body_contains":"secure HTTP/1.1"}}`, StatusUp, "HTTP 200"},
		{"verify off, HTTP/2", h2, `{"url":"%s/","tls_verify":false,"expect":{"body_contains":"secure HTTP/2.0"}}`, StatusUp, "HTTP 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.srv
			res := netProbe(mustNewHTTP(t, fmt.Sprintf(tt.settings, srv.URL)), 5*time.Second)
			if res.Status != tt.status || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("got %s %q, want %s %q", res.Status, res.Message, tt.status, tt.message)
			}
			days, ok := netMetric(res, metricCertExpiry)
			want := time.Until(srv.Certificate().NotAfter).Hours() / 24
			if !ok || days < want-1 || days > want+1 {
				t.Errorf("cert_expiry_days = %v (%v), want about %.0f", days, ok, want)
			}
			if res.Phases.TLS <= 0 {
				t.Errorf("no TLS phase: %+v", res.Phases)
			}
		})
	}
}

// httpTLSTestServer is an https server with httptest's certificate (for
// 127.0.0.1 and example.com, from a CA no system trusts).
func httpTLSTestServer(t *testing.T, http2 bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure "+r.Proto)
	}))
	srv.EnableHTTP2 = http2
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// netClosedPort returns a loopback address nothing listens on.
func netClosedPort(t *testing.T) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	return addr.IP.String(), addr.Port
}

func TestHTTPConnectionRefused(t *testing.T) {
	host, port := netClosedPort(t)
	res := netProbe(mustNewHTTP(t, fmt.Sprintf(`{"url":"http://%s:%d/"}`, host, port)), 5*time.Second)
	if res.Status != StatusDown || res.Message != "connection refused" {
		t.Fatalf("got %s %q, want down \"connection refused\"", res.Status, res.Message)
	}
}

func TestHTTPCanceledIsUnknown(t *testing.T) {
	srv := httpTestServer(t)
	h := mustNewHTTP(t, `{"url":"`+srv.URL+`/slow"}`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res := h.Probe(ctx)
	if res.Status != StatusUnknown {
		t.Fatalf("got %s %q, want unknown", res.Status, res.Message)
	}
}

// TestHTTPNoLeaks runs checks that time out, fail and succeed, and expects
// the goroutine count to come back: each check's transport is its own.
func TestHTTPNoLeaks(t *testing.T) {
	srv := httpTestServer(t)
	host, port := netClosedPort(t)
	checks := []*HTTP{
		mustNewHTTP(t, `{"url":"`+srv.URL+`/ok"}`),
		mustNewHTTP(t, `{"url":"`+srv.URL+`/slow"}`),
		mustNewHTTP(t, `{"url":"`+srv.URL+`/stall"}`),
		mustNewHTTP(t, `{"url":"`+srv.URL+`/redirect/2"}`),
		mustNewHTTP(t, fmt.Sprintf(`{"url":"http://%s:%d/"}`, host, port)),
		mustNewHTTP(t, `{"url":"`+httpTLSTestServer(t, true).URL+`/","tls_verify":false}`),
		mustNewHTTP(t, `{"url":"`+httpTLSTestServer(t, false).URL+`/"}`),
	}
	netProbe(checks[0], time.Second) // warm up lazily started goroutines
	before := runtime.NumGoroutine()
	for range 5 {
		for _, h := range checks {
			netProbe(h, 200*time.Millisecond)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before+2 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNewHTTPDefaults(t *testing.T) {
	h := mustNewHTTP(t, `{"url":"https://example.com/health","method":"post"}`)
	s := h.Settings()
	if s.Method != "POST" || !*s.FollowRedirects || !*s.TLSVerify {
		t.Errorf("defaults not applied: %+v", s)
	}
	if h.status.String() != "200-399" || h.Target() != "https://example.com/health" {
		t.Errorf("status %s, target %s", h.status, h.Target())
	}
	// The normalized settings survive a round trip.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewHTTP(b); err != nil {
		t.Fatalf("NewHTTP(%s): %v", b, err)
	}
	h = mustNewHTTP(t, `{"url":"http://x.test","expect":{"status":["200-204", 301, "4xx"]}}`)
	b, _ = json.Marshal(h.Settings())
	if !strings.Contains(string(b), `"status":["200-204","301","400-499"]`) {
		t.Errorf("marshaled %s", b)
	}
}

func TestNewHTTPInvalid(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", 10<<10)
	tests := []struct {
		name, settings, field string
	}{
		{"empty", `{}`, "url"},
		{"null", `null`, "url"},
		{"url wrong type", `{"url":5}`, "url"},
		{"url blank", `{"url":"  "}`, "url"},
		{"url 10 KB", `{"url":"` + long + `"}`, "url"},
		{"url file", `{"url":"file:///etc/passwd"}`, "url"},
		{"url gopher", `{"url":"gopher://example.com/"}`, "url"},
		{"url no scheme", `{"url":"example.com"}`, "url"},
		{"url no host", `{"url":"http:///path"}`, "url"},
		{"url control", `{"url":"http://example.com/\u0000"}`, "url"},
		{"url newline", `{"url":"http://example.com/\nX: y"}`, "url"},
		{"url credentials", `{"url":"https://bob:pw@example.com/"}`, "url"},
		{"url port", `{"url":"http://example.com:99999/"}`, "url"},
		{"url unparsable", `{"url":"http://[::1/"}`, "url"},
		{"method", `{"url":"http://x.test","method":"TRACE"}`, "method"},
		{"method type", `{"url":"http://x.test","method":["GET"]}`, "method"},
		{"headers type", `{"url":"http://x.test","headers":["a"]}`, "headers"},
		{"header value type", `{"url":"http://x.test","headers":{"X-Foo":1}}`, "headers.X-Foo"},
		{"header name", `{"url":"http://x.test","headers":{"X Foo":"1"}}`, "headers.X Foo"},
		{"header value CRLF", `{"url":"http://x.test","headers":{"X-Foo":"a\r\nX-Evil: 1"}}`, "headers.X-Foo"},
		{"header repeated", `{"url":"http://x.test","headers":{"X-Foo":"1","x-foo":"2"}}`, "headers.x-foo"},
		{"header reserved", `{"url":"http://x.test","headers":{"Content-Length":"1"}}`, "headers.Content-Length"},
		{"header value long", `{"url":"http://x.test","headers":{"X-Foo":"` + strings.Repeat("v", 9000) + `"}}`, "headers.X-Foo"},
		{"authorization twice", `{"url":"http://x.test","headers":{"authorization":"x"},"bearer_token":"abc"}`, "headers.authorization"},
		{"body long", `{"url":"http://x.test","method":"POST","body":"` + strings.Repeat("b", 64<<10+1) + `"}`, "body"},
		{"body type", `{"url":"http://x.test","body":{}}`, "body"},
		{"basic auth type", `{"url":"http://x.test","basic_auth":"alice:pw"}`, "basic_auth"},
		{"basic auth no user", `{"url":"http://x.test","basic_auth":{"password":"pw"}}`, "basic_auth.username"},
		{"basic auth colon", `{"url":"http://x.test","basic_auth":{"username":"a:b"}}`, "basic_auth.username"},
		{"basic auth unknown", `{"url":"http://x.test","basic_auth":{"user":"a"}}`, "basic_auth.user"},
		{"basic and bearer", `{"url":"http://x.test","basic_auth":{"username":"a"},"bearer_token":"t"}`, "bearer_token"},
		{"bearer newline", `{"url":"http://x.test","bearer_token":"t\n"}`, "bearer_token"},
		{"follow type", `{"url":"http://x.test","follow_redirects":"yes"}`, "follow_redirects"},
		{"verify type", `{"url":"http://x.test","tls_verify":0}`, "tls_verify"},
		{"expect type", `{"url":"http://x.test","expect":[]}`, "expect"},
		{"expect unknown", `{"url":"http://x.test","expect":{"code":200}}`, "expect.code"},
		{"status word", `{"url":"http://x.test","expect":{"status":["ok"]}}`, "expect.status"},
		{"status range", `{"url":"http://x.test","expect":{"status":"299-200"}}`, "expect.status"},
		{"status out of range", `{"url":"http://x.test","expect":{"status":[600]}}`, "expect.status"},
		{"status fraction", `{"url":"http://x.test","expect":{"status":[200.5]}}`, "expect.status"},
		{"status object", `{"url":"http://x.test","expect":{"status":{}}}`, "expect.status"},
		{"max latency", `{"url":"http://x.test","expect":{"max_latency":"soon"}}`, "expect.max_latency"},
		{"max latency number", `{"url":"http://x.test","expect":{"max_latency":2}}`, "expect.max_latency"},
		{"max latency negative", `{"url":"http://x.test","expect":{"max_latency":"-1s"}}`, "expect.max_latency"},
		{"regex", `{"url":"http://x.test","expect":{"body_regex":"(unclosed"}}`, "expect.body_regex"},
		{"body condition on HEAD", `{"url":"http://x.test","method":"HEAD","expect":{"body_contains":"x"}}`, "expect.body_contains"},
		{"json path empty key", `{"url":"http://x.test","expect":{"json_path":"a..b"}}`, "expect.json_path"},
		{"json path index", `{"url":"http://x.test","expect":{"json_path":"a[x]"}}`, "expect.json_path"},
		{"json path negative", `{"url":"http://x.test","expect":{"json_path":"a[-1]"}}`, "expect.json_path"},
		{"json path open", `{"url":"http://x.test","expect":{"json_path":"a[0"}}`, "expect.json_path"},
		{"json path dot", `{"url":"http://x.test","expect":{"json_path":".a"}}`, "expect.json_path"},
		{"json value alone", `{"url":"http://x.test","expect":{"json_value":"up"}}`, "expect.json_value"},
		{"json value object", `{"url":"http://x.test","expect":{"json_path":"a","json_value":{"b":1}}}`, "expect.json_value"},
		{"expect header", `{"url":"http://x.test","expect":{"headers":{"Bad Name":"1"}}}`, "expect.headers.Bad Name"},
		{"unknown field", `{"url":"http://x.test","timeout":"5s"}`, "timeout"},
		{"field case", `{"URL":"http://x.test"}`, "URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHTTP(json.RawMessage(tt.settings))
			netFieldError(t, err, tt.field)
		})
	}
}

func netFieldError(t *testing.T, err error, field string) {
	t.Helper()
	ve, ok := valid.As(err)
	if !ok {
		t.Fatalf("err = %v, want a *valid.Error for %q", err, field)
	}
	if ve.Field != field {
		t.Fatalf("field %q (%v), want %q", ve.Field, err, field)
	}
	if ve.Msg == "" || strings.Contains(ve.Msg, "\n") || len(ve.Msg) > 300 {
		t.Fatalf("message %q is not one short line", ve.Msg)
	}
}

func TestNewHTTPMalformed(t *testing.T) {
	for _, raw := range []string{`{`, `{"url":}`, `[]`, `"http://x.test"`, `5`, `{"url":"http://x.test"} {}`, "\xff"} {
		_, err := NewHTTP(json.RawMessage(raw))
		ve, ok := valid.As(err)
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if !ok || ve.Field != "" || !errors.As(err, &syn) && !errors.As(err, &typ) || !strings.HasPrefix(err.Error(), "http settings ") {
			t.Errorf("NewHTTP(%s) = %v, want a *valid.Error without field that wraps the JSON error", raw, err)
		}
	}
}

// netSettingsError reports whether err is what constructors may return: a
// *valid.Error, or a JSON syntax or type error, wrapped.
func netSettingsError(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := valid.As(err); ok {
		return true
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &syn) || errors.As(err, &typ)
}

func TestHTTPStatusRangesJSON(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{`200`, "200"},
		{`"200-299"`, "200-299"},
		{`"2xx,404"`, "200-299,404"},
		{`[200, "301-308", "5XX"]`, "200,301-308,500-599"},
		{`[]`, ""},
	}
	for _, tt := range tests {
		var r HTTPStatusRanges
		if err := json.Unmarshal([]byte(tt.in), &r); err != nil || r.String() != tt.want {
			t.Errorf("%s: got %q, %v, want %q", tt.in, r, err, tt.want)
		}
	}
	for _, bad := range []string{`"6xx"`, `"20"`, `"2000"`, `[true]`, `"1xx-2xx"`, `"200-"`, `"+200"`} {
		var r HTTPStatusRanges
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("%s: accepted as %s", bad, r)
		}
	}
}

func TestParseJSONPath(t *testing.T) {
	doc := map[string]any{"a": map[string]any{"b": []any{"x", map[string]any{"c": "deep"}}}, "k-y": "dash"}
	tests := []struct {
		path  string
		want  string
		found bool
	}{
		{"a.b[0]", "x", true},
		{"a.b[1].c", "deep", true},
		{"$.a.b[1].c", "deep", true},
		{"$a.b[1].c", "deep", true},
		{"k-y", "dash", true},
		{"a.b[2]", "", false},
		{"a.b.c", "", false},
		{"a.b[1].c.d", "", false},
		{"[0]", "", false},
	}
	for _, tt := range tests {
		p, err := parseJSONPath(tt.path)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		v, ok := p.lookup(doc)
		if ok != tt.found || ok && jsonText(v) != tt.want {
			t.Errorf("%s: got %v %v, want %q %v", tt.path, v, ok, tt.want, tt.found)
		}
	}
	for _, bad := range []string{"", "$", "$.", ".a", "a.", "a..b", "a[", "a[]", "a[1", "a[1]b", "a[+1]", "a]", "a.[0]", strings.Repeat("a.", 300) + "a"} {
		if _, err := parseJSONPath(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func FuzzNewHTTP(f *testing.F) {
	for _, seed := range []string{
		`{"url":"http://x.test"}`,
		`{"url":"https://x.test/a?b=c","method":"POST","headers":{"X-A":"1"},"body":"x","basic_auth":{"username":"u","password":"p"},"follow_redirects":false,"tls_verify":false}`,
		`{"url":"http://x.test","expect":{"status":["200-299",404,"5xx"],"max_latency":"2s","body_contains":"ok","body_regex":"^o","json_path":"a.b[0]","json_value":1,"headers":{"A":"b"}}}`,
		`{"url":"http://x.test","bearer_token":"t","expect":{"json_path":"$.x[0][1]"}}`,
		`{"url":5}`, `[]`, `null`, `{"expect":{"status":"2xx,3xx"}}`, `{"URL":"http://x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := NewHTTP(raw)
		if err != nil {
			if h != nil || !netSettingsError(err) {
				t.Fatalf("NewHTTP(%q) = %v, %v", raw, h, err)
			}
			return
		}
		s := h.Settings()
		if h.url == nil || h.url.Scheme != "http" && h.url.Scheme != "https" || s.FollowRedirects == nil || s.TLSVerify == nil || len(h.status) == 0 || h.Target() == "" {
			t.Fatalf("NewHTTP(%q) built an incomplete check: %+v", raw, s)
		}
		// What was accepted is accepted again after a round trip.
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewHTTP(b); err != nil {
			t.Fatalf("round trip of %q as %s: %v", raw, b, err)
		}
	})
}
