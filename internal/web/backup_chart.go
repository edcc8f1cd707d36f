package web

import (
	"fmt"
	"html/template"
	"time"

	"github.com/opsdeck/opsdeck/internal/backup"
)

// backupRunStrip draws a job's recent runs as bars, oldest first: green
// for a success, red for a failure, grey while running; each bar's
// tooltip gives the run's time, outcome, size and duration. It reuses the
// uptime bar's classes so it follows the colour schemes.
func backupRunStrip(runs []backup.Run) template.HTML {
	const slot, bar, height = 6, 4, 20
	width := max(len(runs)*slot-(slot-bar), 1)
	var b svgBuilder
	good := 0
	for _, r := range runs {
		if r.Status == backup.RunSuccess {
			good++
		}
	}
	label := "No runs yet"
	if len(runs) > 0 {
		label = fmt.Sprintf("Last %d runs: %d succeeded, %d did not", len(runs), good, len(runs)-good)
	}
	b.printf(`<svg class="uptime-bar backup-strip" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="%s">`, width, height, svgText(label))
	for i, r := range runs {
		cls := "none"
		switch r.Status {
		case backup.RunSuccess:
			cls = "ok"
		case backup.RunFail:
			cls = "bad"
		}
		tip := r.At().UTC().Format("2006-01-02 15:04") + " UTC: " + r.Status
		if r.ExitCode != nil {
			tip += fmt.Sprintf(" (exit %d)", *r.ExitCode)
		}
		if r.Bytes != nil {
			tip += ", " + formatBytes(*r.Bytes)
		}
		if d := r.Duration(); d > 0 {
			tip += ", " + d.Round(time.Second).String()
		}
		b.printf(`<rect x="%d" y="0" width="%d" height="%d" rx="1" class="ub-%s"><title>%s</title></rect>`, i*slot, bar, height, cls, svgText(tip))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // formatted numbers and escaped text only
}

// backupRunChart draws size and duration of a job's finished runs over
// time, two lines on one chart: size in MiB and duration in minutes.
func backupRunChart(runs []backup.Run) template.HTML {
	var size, dur []ChartPoint
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.FinishedAt == nil {
			continue
		}
		if r.Bytes != nil {
			size = append(size, ChartPoint{At: *r.FinishedAt, Value: float64(*r.Bytes) / (1 << 20)})
		}
		if r.DurationMS != nil {
			dur = append(dur, ChartPoint{At: *r.FinishedAt, Value: float64(*r.DurationMS) / 60000})
		}
	}
	return LineChart([]ChartSeries{{Name: "size (MiB)", Class: "series-avg", Points: size}, {Name: "duration (min)", Class: "series-p95", Points: dur}},
		LineChartOptions{Width: 720, Height: 200, Label: "Backup size in MiB and duration in minutes per run"})
}
