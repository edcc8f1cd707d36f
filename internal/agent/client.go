package agent

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
)

// maxResponse caps what the agent reads of a server answer.
const maxResponse = 64 << 10

// enrollRequest and the types below are the JSON of the enrollment and
// report exchanges (the wire contract, docs/agent.md).
type enrollRequest struct {
	Token        string `json:"token"`
	Hostname     string `json:"hostname"`
	MachineID    string `json:"machine_id"`
	AgentVersion string `json:"agent_version"`
}

type enrollResponse struct {
	AgentID    int64  `json:"agent_id"`
	Credential string `json:"credential"`
}

type reportResponse struct {
	AcceptedSeq     uint64 `json:"accepted_seq"`
	NeedSoftware    bool   `json:"need_software"`
	IntervalSeconds int    `json:"interval_seconds"`
}

type errorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
	AcceptedSeq uint64 `json:"accepted_seq"`
}

// client talks to the opsdeck server.
type client struct {
	base      *url.URL
	http      *http.Client
	userAgent string
}

func newClient(server string, hc *http.Client, version string) (*client, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agent: server %q is not an http(s) URL", server)
	}
	return &client{base: u, http: hc, userAgent: "opsdeck-agent/" + version}, nil
}

func (c *client) endpoint(p string) string { return c.base.String() + p }

// errEnrollRefused means the server rejected the enrollment token: retrying
// with the same token cannot help.
var errEnrollRefused = errors.New("agent: the server refused the enrollment token")

// retryable marks errors worth retrying (network, 5xx).
type retryable struct{ err error }

func (e retryable) Error() string { return e.err.Error() }
func (e retryable) Unwrap() error { return e.err }

func (c *client) enroll(ctx context.Context, req enrollRequest) (enrollResponse, error) {
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint("/api/v1/agent/enroll"), bytes.NewReader(body))
	if err != nil {
		return enrollResponse{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(hr)
	if err != nil {
		return enrollResponse{}, retryable{fmt.Errorf("agent: enroll: %w", err)}
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	switch {
	case resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK:
		var er enrollResponse
		if err := json.Unmarshal(rb, &er); err != nil || er.Credential == "" || er.AgentID <= 0 {
			return enrollResponse{}, retryable{fmt.Errorf("agent: enroll: unreadable answer (HTTP %d)", resp.StatusCode)}
		}
		if !strings.HasPrefix(er.Credential, "odagt_") || strings.ContainsAny(er.Credential, " \r\n\t") {
			return enrollResponse{}, fmt.Errorf("agent: enroll: the server sent a malformed credential")
		}
		return er, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return enrollResponse{}, fmt.Errorf("%w: %s", errEnrollRefused, describe(resp.StatusCode, rb))
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return enrollResponse{}, retryable{fmt.Errorf("agent: enroll: %s", describe(resp.StatusCode, rb))}
	default:
		return enrollResponse{}, fmt.Errorf("agent: enroll: %s", describe(resp.StatusCode, rb))
	}
}

// sendResult is the server's answer to one report.
type sendResult struct {
	Status int
	OK     reportResponse // on 200
	Err    errorResponse  // otherwise, as far as it parsed
	Text   string         // status and error for the log
}

// send posts one gzip'd report. A non-nil error means no answer (network).
func (c *client) send(ctx context.Context, credential string, gz []byte) (sendResult, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint("/api/v1/agent/report"), bytes.NewReader(gz))
	if err != nil {
		return sendResult{}, err
	}
	hr.Header.Set("Authorization", "Bearer "+credential)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Content-Encoding", "gzip")
	hr.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(hr)
	if err != nil {
		return sendResult{}, err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	res := sendResult{Status: resp.StatusCode, Text: describe(resp.StatusCode, rb)}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(rb, &res.OK); err != nil {
			// Committed all the same: the status says so.
			res.Text = "HTTP 200 with an unreadable body"
		}
	} else {
		_ = json.Unmarshal(rb, &res.Err)
	}
	return res, nil
}

// describe renders a status and the server's error for a log line, never
// echoing more than a short, single-line message.
func describe(status int, body []byte) string {
	var er errorResponse
	s := fmt.Sprintf("HTTP %d", status)
	if json.Unmarshal(body, &er) == nil && er.Error.Code != "" {
		s += " " + cleanLine(er.Error.Code)
		if m := cleanLine(er.Error.Message); m != "" {
			if len(m) > 200 {
				m = m[:200]
			}
			s += ": " + m
		}
		if f := cleanLine(er.Error.Field); f != "" {
			s += " (field " + f + ")"
		}
	}
	return s
}
