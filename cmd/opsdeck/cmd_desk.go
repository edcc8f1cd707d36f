package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/valid"
)

const deskHelp = `Subcommands:
  metrics [--from DATE] [--to DATE] [--period day|week|month] [--group ID] [--json]
                                prints the service-desk metrics (see docs/servicedesk.md#metrics)
Each takes --data, --db and --config like 'serve'.`

func cmdDesk(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "desk", args, map[string]func(context.Context, *cli, []string) error{
		"metrics": deskMetrics,
	}, deskHelp)
}

func deskMetrics(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "desk metrics", "desk metrics [flags]",
		"Prints first response and resolution times, SLA compliance, first-contact resolution and CSAT by period and group, and the backlog by age.")
	sf := addStoreFlags(fs)
	from := fs.String("from", "", "first `day` (YYYY-MM-DD, UTC; default 30 days ago)")
	to := fs.String("to", "", "`day` after the last (YYYY-MM-DD, UTC; default tomorrow)")
	period := fs.String("period", "week", "bucket: `day`, week or month")
	group := fs.Int64("group", 0, "only this group `id`")
	asJSON := fs.Bool("json", false, "print the API's JSON instead of a table")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	f := servicedesk.MetricsFilter{GroupID: *group, Period: servicedesk.Period(*period), To: time.Now().UTC().AddDate(0, 0, 1)}
	for _, d := range []struct {
		v    string
		dst  *time.Time
		name string
	}{{*from, &f.From, "from"}, {*to, &f.To, "to"}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return valid.Errorf(d.name, "must be a date such as 2026-12-01")
		}
		*d.dst = t
	}
	if f.From.IsZero() {
		f.From = f.To.AddDate(0, 0, -31)
	}
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = auth.WithActor(ctx, auth.CLIActor(osUser()))
	m, err := servicedesk.New(db, servicedesk.Options{}).Metrics(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	fmt.Fprintf(c.stdout, "Tickets opened %s to %s, by %s; times are %s.\n\n", m.From.Format(time.DateOnly), m.To.Format(time.DateOnly), m.Period, m.Clock)
	w := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\topened\tfirst response\tresolution\tresponse SLA\tresolution SLA\tFCR\tCSAT\trated")
	row := func(name string, r servicedesk.MetricsRow) {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, r.Tickets, hoursOf(r.ResponseAvgSeconds), hoursOf(r.ResolutionAvgSeconds),
			pctOf(r.ResponseCompliance), pctOf(r.ResolutionCompliance), pctOf(r.FirstContactRate), numOf(r.CSATAverage), pctOf(r.CSATResponseRate))
	}
	for _, r := range m.ByPeriod {
		row(r.Key, r)
	}
	for _, r := range m.ByGroup {
		row("group "+r.Key, r)
	}
	row("all", m.Overall)
	fmt.Fprintln(w)
	fmt.Fprint(w, "backlog now")
	for _, b := range m.BacklogBuckets {
		fmt.Fprint(w, "\t"+b)
	}
	fmt.Fprintln(w, "\ttotal")
	for _, b := range m.Backlog {
		fmt.Fprint(w, b.Group)
		for _, n := range b.Counts {
			fmt.Fprintf(w, "\t%d", n)
		}
		fmt.Fprintf(w, "\t%d\n", b.Total)
	}
	return w.Flush()
}

func hoursOf(sec *float64) string {
	if sec == nil {
		return "-"
	}
	return strconv.FormatFloat(*sec/3600, 'f', 1, 64) + " h"
}

func pctOf(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64) + " %"
}

func numOf(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 2, 64)
}
