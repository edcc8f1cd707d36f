package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	probing "github.com/prometheus-community/pro-bing"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Defaults and bounds of the ping check.
const (
	pingDefaultCount    = 3
	pingMaxCount        = 20
	pingDefaultInterval = 200 * time.Millisecond
	pingMinInterval     = 10 * time.Millisecond
	pingMaxInterval     = 10 * time.Second
	pingMaxRTTLimit     = time.Minute
	// pingReplyGrace is how long replies are waited for after the last
	// echo request is sent, when the deadline is further away: a reply
	// slower than this counts as lost, as with ping -W.
	pingReplyGrace = 2 * time.Second
	// pingNoPermission is the message when no ICMP socket can be opened.
	pingNoPermission = "ICMP needs CAP_NET_RAW or net.ipv4.ping_group_range"
)

// PingSettings are the settings of a ping check: ICMP echo requests to a
// host, judged on packet loss and round-trip time.
type PingSettings struct {
	// Host is a host name or an IP address.
	Host string `json:"host"`
	// Count is the number of echo requests, 1 to 20; 3 by default.
	Count int `json:"count,omitempty"`
	// Interval is the time between requests, 10ms to 10s; 200ms by default.
	Interval JSONDuration `json:"ping_interval,omitempty"`
	// MaxLossPercent is the packet loss tolerated before the check is
	// degraded: 0 (the default) makes any loss degraded. Losing every
	// packet is down whatever it says.
	MaxLossPercent float64 `json:"max_loss_percent,omitempty"`
	// MaxRTT, when set, makes the check degraded when the average round
	// trip is longer.
	MaxRTT JSONDuration `json:"max_rtt,omitempty"`
}

// Ping is a validated ping check. It sends unprivileged ICMP (a datagram
// socket, allowed by net.ipv4.ping_group_range) when it can and falls back
// to a raw socket, which needs root or CAP_NET_RAW.
type Ping struct {
	settings PingSettings
}

var _ Check = (*Ping)(nil)

// NewPing decodes and validates the settings of a ping check. Errors name
// the offending field as a *valid.Error, except for malformed JSON.
func NewPing(raw json.RawMessage) (*Ping, error) {
	var s PingSettings
	if err := decodeSettings("ping", raw, &s); err != nil {
		return nil, err
	}
	if err := checkHost("host", s.Host); err != nil {
		return nil, err
	}
	switch {
	case s.Count == 0:
		s.Count = pingDefaultCount
	case s.Count < 1 || s.Count > pingMaxCount:
		return nil, valid.Errorf("count", "must be from 1 to %d", pingMaxCount)
	}
	switch {
	case s.Interval == 0:
		s.Interval = JSONDuration(pingDefaultInterval)
	case s.Interval.D() < pingMinInterval || s.Interval.D() > pingMaxInterval:
		return nil, valid.Errorf("ping_interval", "must be from %s to %s", pingMinInterval, pingMaxInterval)
	}
	if s.MaxLossPercent < 0 || s.MaxLossPercent > 100 {
		return nil, valid.Errorf("max_loss_percent", "must be from 0 to 100")
	}
	if s.MaxRTT < 0 || s.MaxRTT.D() > pingMaxRTTLimit {
		return nil, valid.Errorf("max_rtt", "must be from 0 (off) to %s", pingMaxRTTLimit)
	}
	return &Ping{settings: s}, nil
}

// Settings returns the check's settings with defaults filled in.
func (p *Ping) Settings() PingSettings { return p.settings }

// Target is the host.
func (p *Ping) Target() string { return p.settings.Host }

// Probe sends Count echo requests and waits for the replies until the
// deadline, or pingReplyGrace after the last request. Latency is the
// average round trip.
func (p *Ping) Probe(ctx context.Context) Result {
	ctx, cancel, budget := withProbeDeadline(ctx)
	defer cancel()
	s := p.settings

	ip, err := resolvePingHost(ctx, s.Host)
	if err != nil {
		st, msg := failure(ctx, err, budget, "resolving "+s.Host)
		return Result{Status: st, Message: msg}
	}
	stats, opened, err := runPinger(ctx, s, ip, false)
	if !opened && isPermissionError(err) {
		stats, opened, err = runPinger(ctx, s, ip, true)
	}
	switch {
	case !opened && isPermissionError(err):
		return Result{Status: StatusUnknown, Message: pingNoPermission + " (" + err.Error() + ")"}
	case !opened && err != nil:
		return Result{Status: StatusUnknown, Message: "cannot open an ICMP socket: " + err.Error()}
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		// The first request could not be sent (no route, firewall), or
		// the check was canceled.
		st, msg := failure(ctx, err, budget, "")
		return Result{Status: st, Message: msg, Metrics: pingMetrics(s, stats)}
	}
	return judgePing(s, ip, stats)
}

// resolvePingHost returns host's address: itself when it is one, else the
// first address the resolver gives, in the system's preference order.
func resolvePingHost(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return addrs[0].Unmap(), nil
}

// runPinger pings ip once through pro-bing. opened reports whether the
// ICMP socket could be opened, so a permission error from opening it (try
// the other kind of socket) is told apart from one from sending (a
// firewall).
func runPinger(ctx context.Context, s PingSettings, ip netip.Addr, privileged bool) (*probing.Statistics, bool, error) {
	pg := probing.New(ip.String())
	pg.SetIPAddr(&net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()})
	pg.SetPrivileged(privileged)
	pg.SetLogger(probing.NoopLogger{})
	pg.Count = s.Count
	pg.Interval = s.Interval.D()
	pg.RecordRtts = false
	pg.RecordTTLs = false
	if dl, ok := ctx.Deadline(); ok {
		// End a moment before the deadline, so the statistics come back
		// as a normal finish rather than a cancellation.
		pg.Timeout = max(time.Until(dl)-10*time.Millisecond, time.Millisecond)
	}
	opened := false
	pg.OnSetup = func() { opened = true }
	var grace *time.Timer
	pg.OnSend = func(pkt *probing.Packet) {
		if pkt.Seq == s.Count-1 {
			grace = time.AfterFunc(pingReplyGrace, pg.Stop)
		}
	}
	err := pg.RunWithContext(ctx)
	if grace != nil {
		grace.Stop()
	}
	return pg.Statistics(), opened, err
}

func isPermissionError(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES)
}

// judgePing turns the statistics into a Result.
func judgePing(s PingSettings, ip netip.Addr, st *probing.Statistics) Result {
	res := Result{Latency: st.AvgRtt, Metrics: pingMetrics(s, st)}
	who := s.Host
	if ip.String() != s.Host {
		who += " (" + ip.String() + ")"
	}
	replies := fmt.Sprintf("%d/%d replies from %s", st.PacketsRecv, st.PacketsSent, who)
	switch {
	case st.PacketsSent == 0:
		res.Status = StatusUnknown
		res.Message = "no echo request was sent to " + who
		return res
	case st.PacketsRecv == 0:
		res.Status = StatusDown
		res.Message = fmt.Sprintf("no reply from %s: %d/%d lost", who, st.PacketsSent, st.PacketsSent)
		return res
	}
	rtt := fmt.Sprintf("rtt min/avg/max %s/%s/%s", fmtRTT(st.MinRtt), fmtRTT(st.AvgRtt), fmtRTT(st.MaxRtt))
	switch {
	case st.PacketLoss > s.MaxLossPercent:
		res.Status = StatusDegraded
		res.Message = fmt.Sprintf("%s, %s%% loss (max %s%%), %s", replies, fmtPercent(st.PacketLoss), fmtPercent(s.MaxLossPercent), rtt)
	case s.MaxRTT > 0 && st.AvgRtt > s.MaxRTT.D():
		res.Status = StatusDegraded
		res.Message = fmt.Sprintf("%s, average round trip %s over max_rtt %s", replies, fmtRTT(st.AvgRtt), s.MaxRTT.D())
	default:
		res.Status = StatusUp
		res.Message = replies + ", " + rtt
	}
	return res
}

// pingMetrics returns packet loss and, when a reply came, round trips in
// seconds. The thresholds are the check's own, in Nagios range syntax.
func pingMetrics(s PingSettings, st *probing.Statistics) []Metric {
	if st == nil || st.PacketsSent == 0 {
		return nil
	}
	zero, hundred := 0.0, 100.0
	ms := []Metric{{Name: "packet_loss_percent", Value: st.PacketLoss, Unit: "%",
		Warn: strconv.FormatFloat(s.MaxLossPercent, 'g', -1, 64), Min: &zero, Max: &hundred}}
	if st.PacketsRecv == 0 {
		return ms
	}
	avgWarn := ""
	if s.MaxRTT > 0 {
		avgWarn = strconv.FormatFloat(s.MaxRTT.D().Seconds(), 'g', -1, 64)
	}
	for _, m := range []struct {
		name string
		d    time.Duration
		warn string
	}{{"rtt_min", st.MinRtt, ""}, {"rtt_avg", st.AvgRtt, avgWarn}, {"rtt_max", st.MaxRtt, ""}} {
		floor := 0.0
		ms = append(ms, Metric{Name: m.name, Value: m.d.Seconds(), Unit: "s", Warn: m.warn, Min: &floor})
	}
	return ms
}

func fmtRTT(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + "ms"
}

func fmtPercent(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// JSONDuration is a time.Duration that reads, in JSON, a Go duration string
// such as "200ms" or "1m30s", or a number of seconds, and writes a string.
type JSONDuration time.Duration

// D returns the duration.
func (d JSONDuration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string such as "200ms".
func (d JSONDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "200ms"-style strings or a number of seconds; its
// errors are worded to follow the field name.
func (d *JSONDuration) UnmarshalJSON(b []byte) error {
	if isJSONNull(b) {
		return nil
	}
	const want = `must be a duration such as "200ms" or "2s", or a number of seconds`
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return errors.New(want)
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return errors.New(want)
		}
		*d = JSONDuration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return errors.New(want)
	}
	if secs < 0 || secs > 7*24*3600 {
		return errors.New("must be from 0 to 7 days")
	}
	*d = JSONDuration(secs * float64(time.Second))
	return nil
}
