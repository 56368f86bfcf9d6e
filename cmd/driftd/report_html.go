package main

import (
	"fmt"
	"html/template"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// The HTML report is one self-contained file: inline SVG charts, no
// scripts, nothing fetched, so it opens anywhere (including air-gapped
// machines and CI artefacts).

type chartSeries struct {
	Name   string
	Color  string
	Points string // SVG polyline points
	Marks  []chartMark
	// LegendX, LegendY place the series' name right of the plot.
	LegendX, LegendY float64
}

type chartMark struct{ X, Y float64 }

type chart struct {
	Title          string
	Width, Height  float64
	Series         []chartSeries
	YTicks, XTicks []chartTick
	PlotLeft       float64
	PlotBottom     float64
}

type chartTick struct {
	Pos   float64
	Label string
}

type reportPage struct {
	Generated string
	Metric    string
	Charts    []chart
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

func writeHTMLFile(path string, h *history, metric string) error {
	page := reportPage{Generated: time.Now().UTC().Format(time.RFC3339), Metric: metric}
	page.Charts = append(page.Charts, performanceChart(h))
	for _, s := range sortedStringKeys(h.drift) {
		page.Charts = append(page.Charts, driftChart(h, s, metric))
	}
	for _, c := range page.Charts {
		for i := range c.Series {
			c.Series[i].LegendX = chartW - plotRight + 10
			c.Series[i].LegendY = plotTop + 14*float64(i)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating report %s: %w", path, err)
	}
	if err := reportTemplate.Execute(f, page); err != nil {
		f.Close()
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return f.Close()
}

// timeAxis maps window starts onto the x axis shared by every chart.
type timeAxis struct{ min, max time.Time }

func axisOf(h *history) timeAxis {
	var a timeAxis
	for i, k := range h.windows {
		if i == 0 || k.start.Before(a.min) {
			a.min = k.start
		}
		if i == 0 || k.start.After(a.max) {
			a.max = k.start
		}
	}
	return a
}

const (
	chartW, chartH         = 820.0, 260.0
	plotLeft, plotRight    = 60.0, 160.0
	plotTop, plotBottomPad = 20.0, 40.0
)

func (a timeAxis) x(t time.Time) float64 {
	span := a.max.Sub(a.min).Seconds()
	if span == 0 {
		return plotLeft
	}
	return plotLeft + (chartW-plotLeft-plotRight)*t.Sub(a.min).Seconds()/span
}

func yScale(maxY float64) func(float64) float64 {
	if maxY <= 0 {
		maxY = 1
	}
	return func(v float64) float64 {
		return plotTop + (chartH-plotTop-plotBottomPad)*(1-math.Min(v, maxY)/maxY)
	}
}

func newChart(title string, a timeAxis, maxY float64) chart {
	c := chart{Title: title, Width: chartW, Height: chartH, PlotLeft: plotLeft, PlotBottom: chartH - plotBottomPad}
	y := yScale(maxY)
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{Pos: y(v), Label: fmt.Sprintf("%.2f", v)})
	}
	for i := 0; i <= 4; i++ {
		t := a.min.Add(time.Duration(float64(a.max.Sub(a.min)) * float64(i) / 4))
		c.XTicks = append(c.XTicks, chartTick{Pos: a.x(t), Label: t.Format("01-02 15:04")})
	}
	return c
}

func performanceChart(h *history) chart {
	a := axisOf(h)
	c := newChart("F1 and label coverage per window", a, 1)
	y := yScale(1)
	bySeries := map[string][]windowKey{}
	for _, k := range h.windows {
		bySeries[k.series()] = append(bySeries[k.series()], k)
	}
	for i, s := range sortedStringKeys(bySeries) {
		var f1, cov []string
		for _, k := range bySeries[s] {
			p := h.perf[k]
			if p.f1 != nil {
				f1 = append(f1, fmt.Sprintf("%.1f,%.1f", a.x(k.start), y(*p.f1)))
			}
			cov = append(cov, fmt.Sprintf("%.1f,%.1f", a.x(k.start), y(deref(p.coverage))))
		}
		color := palette[i%len(palette)]
		c.Series = append(c.Series,
			chartSeries{Name: s + " f1", Color: color, Points: strings.Join(f1, " ")},
			chartSeries{Name: s + " labels", Color: color + "80", Points: strings.Join(cov, " ")})
	}
	return c
}

func driftChart(h *history, series, metric string) chart {
	a := axisOf(h)
	maxY := 0.0
	for _, pts := range h.drift[series] {
		for _, v := range pts {
			maxY = math.Max(maxY, v)
		}
	}
	c := newChart(fmt.Sprintf("%s per feature — %s", metric, series), a, maxY*1.05)
	y := yScale(maxY * 1.05)
	for i, feature := range sortedStringKeys(h.drift[series]) {
		pts := h.drift[series][feature]
		times := make([]time.Time, 0, len(pts))
		for t := range pts {
			times = append(times, t)
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		var line []string
		var marks []chartMark
		for _, t := range times {
			line = append(line, fmt.Sprintf("%.1f,%.1f", a.x(t), y(pts[t])))
			if h.drifted[series][feature][t] {
				marks = append(marks, chartMark{X: a.x(t), Y: y(pts[t])})
			}
		}
		c.Series = append(c.Series, chartSeries{Name: feature, Color: palette[i%len(palette)],
			Points: strings.Join(line, " "), Marks: marks})
	}
	return c
}

var reportTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>driftd report</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px} h2{font-size:15px;margin:24px 0 4px}
svg{background:#fafafa;border:1px solid #ddd}
.axis{stroke:#999} text{font-size:11px;fill:#444}
</style></head><body>
<h1>driftd — drift and performance over time</h1>
<p>Generated {{.Generated}} from ClickHouse. Drift charts show <b>{{.Metric}}</b> per feature;
filled dots mark windows over their threshold.</p>
{{range .Charts}}
<h2>{{.Title}}</h2>
<svg class="chart" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.Title}}">
<line class="axis" x1="{{.PlotLeft}}" y1="{{.PlotBottom}}" x2="{{.Width}}" y2="{{.PlotBottom}}"/>
<line class="axis" x1="{{.PlotLeft}}" y1="0" x2="{{.PlotLeft}}" y2="{{.PlotBottom}}"/>
{{range .YTicks}}<text x="4" y="{{.Pos}}">{{.Label}}</text>{{end}}
{{$bottom := .PlotBottom}}{{range .XTicks}}<text x="{{.Pos}}" y="{{$bottom}}" dy="16" text-anchor="middle">{{.Label}}</text>{{end}}
{{range $i, $s := .Series}}
<polyline class="series" fill="none" stroke="{{$s.Color}}" stroke-width="1.6" points="{{$s.Points}}"/>
{{range $s.Marks}}<circle cx="{{.X}}" cy="{{.Y}}" r="3.5" fill="{{$s.Color}}"/>{{end}}
{{end}}
<g class="legend">{{range .Series}}<text class="legend-item" x="{{.LegendX}}" y="{{.LegendY}}" style="fill:{{.Color}}">{{.Name}}</text>{{end}}</g>
</svg>
{{end}}
</body></html>
`))
