package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// sendTimeout bounds one HTTP delivery; the lease is far longer, so a slow
// receiver is never sent to twice at once.
const sendTimeout = 20 * time.Second

// newHTTPClient is the client every HTTP channel uses. It does not follow
// redirects: a receiver that moved must be reconfigured, and a redirect is
// no way for a webhook target to steer opsdeck's requests elsewhere.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: sendTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// postJSON posts v as JSON to url with extra headers and classifies the
// answer: 2xx is delivered; 400, 401, 403, 404, 405, 410, 413 and 422 are
// permanent (the receiver will refuse it again); anything else is retried.
func postJSON(ctx context.Context, c *http.Client, url string, header http.Header, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("notify: encode: %w", err)
	}
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	return post(ctx, c, url, h, body)
}

func post(ctx context.Context, c *http.Client, url string, header http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanent("notify: request: %w", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", "opsdeck-notify/1")
	resp, err := c.Do(req)
	if err != nil {
		// The URL may hold a secret (Slack, Discord, Telegram tokens): say
		// what went wrong without it.
		return fmt.Errorf("notify: post: %s", redactURLError(err, url))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := fmt.Sprintf("receiver answered %s: %s", resp.Status, cleanSnippet(snippet))
	switch resp.StatusCode {
	case 400, 401, 403, 404, 405, 410, 413, 422:
		return permanent("notify: %s", msg)
	}
	return fmt.Errorf("notify: %s", msg)
}

// redactURLError drops the URL from a client error's text: the
// url.Error wrapper names it, its cause (a dial or TLS error) names at
// most the host and port.
func redactURLError(err error, target string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if target != "" {
		s = strings.ReplaceAll(s, target, "(url)")
	}
	return s
}

// cleanSnippet makes a few bytes of a response body fit for a log line and
// the outbox's last error.
func cleanSnippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200]) + "…"
	}
	return s
}
