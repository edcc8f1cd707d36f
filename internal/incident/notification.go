package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Notification is what a page about an incident says, in plain types that
// the glue in app turns into a notify.Message (incident does not import
// notify).
type Notification struct {
	// Title is like "[SEV2] #42 Checkout API down".
	Title string
	// Text is the plain-text body.
	Text string
	// Severity is notify's scale: critical, error, warning or info.
	Severity string
	// URL is the incident's page.
	URL string
	// AckURL and ResolveURL are signed, expiring action links.
	AckURL, ResolveURL string
	// Fields are ordered facts: status, service, alerts, opened.
	Fields [][2]string
}

// notifySeverity maps SEV1–SEV4 onto the notification severities.
func notifySeverity(sev string) string {
	switch sev {
	case "SEV1":
		return SeverityCritical
	case "SEV2":
		return SeverityError
	case "SEV3":
		return SeverityWarning
	}
	return SeverityInfo
}

// Notification builds the message for a page about incident id, with its
// signed ack and resolve links; baseURL is the server's external address.
func (s *Service) Notification(ctx context.Context, id int64, baseURL string) (Notification, error) {
	inc, err := s.Get(ctx, id)
	if err != nil {
		return Notification{}, err
	}
	base := strings.TrimSuffix(baseURL, "/")
	n := Notification{
		Title:    fmt.Sprintf("[%s] #%d %s", inc.Severity, inc.ID, inc.Title),
		Severity: notifySeverity(inc.Severity),
		URL:      base + "/incidents/" + strconv.FormatInt(inc.ID, 10),
	}
	n.AckURL, n.ResolveURL = s.ActionLinks(inc.ID, base)
	service := inc.ServiceName
	if service == "" {
		service = "none"
	}
	n.Fields = [][2]string{{"Status", string(inc.Status)}, {"Priority", inc.Priority}, {"Service", service},
		{"Alerts", fmt.Sprintf("%d open of %d", inc.OpenAlerts, inc.AlertCount)}, {"Opened", inc.CreatedAt.Format("2006-01-02 15:04:05Z")}}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", n.Title)
	for _, f := range n.Fields {
		fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
	}
	if inc.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", inc.Description)
	}
	fmt.Fprintf(&b, "\nOpen: %s\nAcknowledge: %s\nResolve: %s\n", n.URL, n.AckURL, n.ResolveURL)
	n.Text = b.String()
	return n, nil
}
