package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClientHostileAnswers: whatever a server (or something pretending to
// be one) answers, the client neither crashes nor believes it.
func TestClientHostileAnswers(t *testing.T) {
	huge := strings.Repeat("A", 10<<20)
	cases := []struct {
		name       string
		status     int
		body       string
		enrollOK   bool
		retry      bool
		wantStatus int
	}{
		{"ok", 201, `{"agent_id":3,"credential":"odagt_x"}`, true, false, 201},
		{"no credential", 201, `{"agent_id":3}`, false, true, 201},
		{"credential without prefix", 201, `{"agent_id":3,"credential":"root:x"}`, false, false, 201},
		{"credential with newline", 201, `{"agent_id":3,"credential":"odagt_x\nrm -rf"}`, false, false, 201},
		{"negative id", 201, `{"agent_id":-1,"credential":"odagt_x"}`, false, true, 201},
		{"not json", 201, `<html>proxy login</html>`, false, true, 201},
		{"huge", 200, huge, false, true, 200},
		{"refused", 401, `{"error":{"code":"invalid_token","message":"` + strings.Repeat("x\n", 500) + `"}}`, false, false, 401},
		{"teapot", 418, ``, false, false, 418},
		{"unavailable", 503, `{}`, false, true, 503},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			cl, err := newClient(srv.URL+"/", srv.Client(), "t")
			if err != nil {
				t.Fatal(err)
			}
			er, err := cl.enroll(context.Background(), enrollRequest{Token: "odenr_x", Hostname: "h"})
			if (err == nil) != c.enrollOK {
				t.Fatalf("enroll: %+v %v", er, err)
			}
			var r retryable
			if err != nil && errors.As(err, &r) != c.retry {
				t.Errorf("retryable = %v for %v", !c.retry, err)
			}
			if c.status == 401 && !errors.Is(err, errEnrollRefused) {
				t.Errorf("401 not a refusal: %v", err)
			}
			if err != nil && len(err.Error()) > 400 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
			res, err := cl.send(context.Background(), "odagt_x", []byte("x"))
			if err != nil || res.Status != c.wantStatus {
				t.Fatalf("send: %+v %v", res, err)
			}
			if len(res.Text) > 400 || strings.Contains(res.Text, "\n") {
				t.Errorf("log text %q", res.Text)
			}
		})
	}
}

func TestClientBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://x", "http://", "://x", "http://[::1"} {
		if _, err := newClient(u, http.DefaultClient, "t"); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
