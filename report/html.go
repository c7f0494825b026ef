package report

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteHTML writes res as one self-contained HTML page: the verdict, the
// scenario as run, the tables of the terminal report, and inline SVG plots
// (htmlFigures: connections alive over time with the drop clusters and the
// hold marked; the handshake latency percentile distribution; drops by
// age, coloured by kind). It references nothing outside itself (no script,
// font, stylesheet or image), so it can be attached to a CI run and still
// open offline years later. html/template escapes every value by its
// context, so a scenario name or a 400 body full of markup stays text.
func WriteHTML(w io.Writer, res *Result) error {
	if res == nil {
		return fmt.Errorf("write html: no result")
	}
	figures, err := drawFigures(res)
	if err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	page := htmlPage{
		R:       res,
		Verdict: VerdictLine(res),
		Pass:    res.Verdict == "pass",
		Figures: figures,
	}
	for _, k := range sortedKinds(res.Drops.ByKind) {
		page.Kinds = append(page.Kinds, htmlKindCount{k, res.Drops.ByKind[k]})
	}
	if !res.Start.IsZero() && !res.End.IsZero() {
		page.Duration = outRunTime(res.End.Sub(res.Start))
	}
	if err := htmlTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

// htmlPage is what the template sees.
type htmlPage struct {
	R        *Result
	Verdict  string
	Pass     bool
	Duration string
	Figures  map[string]figure
	Kinds    []htmlKindCount
}

type htmlKindCount struct {
	Kind  string
	Count int64
}

func htmlTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":           msText,
	"sec":          secText,
	"spread":       spreadText,
	"bytes":        bytesText,
	"status":       outStatus,
	"kind":         kindText,
	"hash":         outShortHash,
	"mark":         htmlMark,
	"perconn":      perConnText,
	"cause":        causeText,
	"proxy":        proxyLine,
	"clock":        compareClockName,
	"cpu":          secondsCPU,
	"pct":          func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" },
	"time":         htmlTime,
	"upper":        strings.ToUpper,
	"ttr":          ttrText,
	"wavefailures": waveFailureText,
}).Parse(htmlSource))

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wshold: {{.R.Scenario.Name}} — {{upper .R.Verdict}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 64em; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.verdict { padding: .7em 1em; border-radius: 4px; font-weight: 600; }
.pass { background: #e6f4ea; border-left: 6px solid #1e8e3e; } .fail { background: #fce8e6; border-left: 6px solid #d93025; }
table { border-collapse: collapse; margin: .5em 0; } th, td { padding: .25em .8em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } code { background: #f4f4f4; padding: 0 .25em; }
.warn { background: #fff8e1; border-left: 6px solid #f9a825; padding: .4em 1em; }
figure { margin: 1em 0; } figcaption { font-weight: 600; } svg { width: 100%; height: auto; background: #fff; }
.empty { color: #777; font-style: italic; }
svg text { font-family: "Liberation Sans", Arial, Helvetica, sans-serif !important; }
.legend span.sw { display: inline-block; width: .9em; height: .9em; margin: 0 .3em 0 1em; vertical-align: -.1em; }
</style>
</head>
<body>
<h1>wshold: {{.R.Scenario.Name}}</h1>
<p>{{.R.Target}}{{if .Duration}} · ran {{.Duration}}{{end}} · {{time .R.Start}}{{if gt .R.Shards 1}} · {{.R.Shards}} shards{{end}}</p>
<p class="verdict {{if .Pass}}pass{{else}}fail{{end}}">{{mark .Pass}} {{.Verdict}}</p>
{{- with proxy .R}}
<p>Proxy in front: {{.}}</p>{{end}}
{{- if .R.Interrupted}}
<p class="warn">The run was interrupted; the numbers cover the part that ran.</p>{{end}}
{{- range .R.Warnings}}
<p class="warn">⚠ {{.}}</p>{{end}}
{{with .R.Expectations}}<h2>Expectations</h2>
<table><tr><th></th><th>want</th><th>got</th></tr>
{{range .}}<tr><td>{{mark .Pass}}</td><td><code>{{.Want}}</code></td><td>{{.Got}}</td></tr>
{{end}}</table>{{end}}
<h2>Connections</h2>
<table><tr><th>attempted</th><th>upgraded</th><th>failed</th><th>held</th><th>dropped</th></tr>
<tr><td class="n">{{.R.Counts.Attempted}}</td><td class="n">{{.R.Counts.Upgraded}}</td><td class="n">{{.R.Counts.Failed}}</td><td class="n">{{.R.Counts.Held}}</td><td class="n">{{.R.Counts.Dropped}}</td></tr></table>
{{template "figure" index .Figures "alive"}}
<h2>Handshake latency</h2>
{{with .R.Handshake}}{{if eq .Count 0}}<p>No handshake completed, so there is no latency to show.</p>{{else}}<table><tr><th>count</th><th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
<tr><td class="n">{{.Count}}</td><td class="n">{{ms .MinMs}}</td><td class="n">{{ms .MeanMs}}</td><td class="n">{{ms .P50Ms}}</td><td class="n">{{ms .P90Ms}}</td><td class="n">{{ms .P99Ms}}</td><td class="n">{{ms .P999Ms}}</td><td class="n">{{ms .MaxMs}}</td></tr></table>{{end}}{{end}}
{{template "figure" index .Figures "latency"}}
<h2>Drops</h2>
{{if .Kinds}}<table><tr><th>kind</th><th>count</th></tr>
{{range .Kinds}}<tr><td>{{kind .Kind}}</td><td class="n">{{.Count}}</td></tr>
{{end}}</table>{{else}}<p>No connection dropped before the hold ended.</p>{{end}}
{{with .R.Drops.Clusters}}<table><tr><th>at</th><th>spread</th><th>count</th><th>kind</th><th>clock</th><th>cause</th><th>hint</th></tr>
{{range .}}<tr><td class="n">{{sec .AtMs}}</td><td class="n">{{spread .}}</td><td class="n">{{.Count}}</td><td>{{kind .Kind}}</td><td>{{clock .Clock}}</td><td>{{cause .Cause}}</td><td>{{.Hint}}{{with .Evidence}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}</td></tr>
{{end}}</table>{{end}}
{{template "figure" index .Figures "age"}}
{{- if or .R.Messages .R.Push}}
<h2>Messages</h2>
{{- with .R.Messages}}
<table><tr><th>sent</th><th>received</th><th>lost</th><th>out of order</th><th>corrupted</th></tr>
<tr><td class="n">{{.Sent}}</td><td class="n">{{.Received}}</td><td class="n">{{.Lost}}</td><td class="n">{{.OutOfOrder}}</td><td class="n">{{.Corrupted}}</td></tr></table>{{end}}
<table><tr><th></th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
{{- with .R.Messages}}{{with .RTT}}
<tr><td>round trip (echo)</td>{{template "latencycells" .}}</tr>{{end}}{{end}}
{{- with .R.Push}}{{with .Delay}}{{if .Count}}
<tr><td>push, one way</td>{{template "latencycells" .}}</tr>{{end}}{{end}}{{with .Fanout}}{{if .Count}}
<tr><td>broadcast fan-out</td>{{template "latencycells" .}}</tr>{{end}}{{end}}{{end}}
</table>
{{- with .R.Push}}
<p class="warn">{{.Clock}}</p>{{end}}
{{template "figure" index .Figures "messages"}}
{{- end}}
{{- with .R.Reconnects}}
<h2>Reconnects</h2>
<table><tr><th>attempted</th><th>upgraded</th><th>failed</th><th>handshake p50</th><th>p99</th><th>max</th></tr>
<tr><td class="n">{{.Attempted}}</td><td class="n">{{.Upgraded}}</td><td class="n">{{.Failed}}</td><td class="n">{{ms .Handshake.P50Ms}}</td><td class="n">{{ms .Handshake.P99Ms}}</td><td class="n">{{ms .Handshake.MaxMs}}</td></tr></table>
{{- with .Failures}}
<table><tr><th>cause</th><th>status</th><th>count</th><th>example</th></tr>
{{range .}}<tr><td>{{.Cause}}</td><td class="n">{{status .Status}}</td><td class="n">{{.Count}}</td><td><code>{{.Example}}</code></td></tr>
{{end}}</table>{{end}}
<table><tr><th>cluster</th><th>wave at</th><th>drops</th><th>alive before</th><th>fewest alive</th><th>time to recover (to 99%)</th><th>failed reconnects meanwhile</th></tr>
{{range $.R.Drops.Clusters}}{{$c := .}}{{with .Recovery}}{{range .Waves}}<tr><td>{{clock $c.Clock}} {{sec $c.AtMs}}</td><td class="n">{{sec .AtMs}}</td><td class="n">{{.Drops}}</td><td class="n">{{.AliveBefore}}</td><td class="n">{{.AliveMin}}</td><td class="n">{{ttr .TimeToRecoverMs}}</td><td>{{wavefailures .Failures}}</td></tr>
{{end}}{{end}}{{end}}</table>
{{- end}}
{{- with .R.Failures}}<h2>Failed upgrades</h2>
<table><tr><th>cause</th><th>status</th><th>count</th><th>example</th><th>what it usually means</th></tr>
{{range .}}<tr><td>{{.Cause}}</td><td class="n">{{status .Status}}</td><td class="n">{{.Count}}</td><td><code>{{.Example}}</code></td><td>{{.Hint}}</td></tr>
{{end}}</table>{{end}}
<h2>Scenario as run</h2>
{{with .R.Scenario}}<table>
<tr><th>conns</th><td>{{.Conns}}</td></tr>
<tr><th>rate</th><td>{{if gt .Rate 0.0}}{{.Rate}}/s{{else}}as fast as {{.MaxInFlight}} handshakes in flight allow{{end}}</td></tr>
<tr><th>hold</th><td>{{.Hold}}</td></tr>
<tr><th>ping</th><td>{{if gt .Ping 0}}every {{.Ping}}, {{pct .PingFraction}} of connections{{else}}none (pure idle){{end}}</td></tr>
<tr><th>handshake timeout</th><td>{{.HandshakeTimeout}}</td></tr>
{{- if gt .SendEvery 0}}
<tr><th>messages</th><td>{{.MessageSize}} bytes every {{.SendEvery}}, {{pct .SendFraction}} of connections</td></tr>{{end}}
{{- if .Reconnect}}
<tr><th>reconnect</th><td>after {{.ReconnectMin}} to {{.ReconnectMax}} (exponential backoff, full jitter)</td></tr>{{end}}
<tr><th>procs</th><td>{{if .Procs}}{{.Procs}}{{else}}auto{{end}}</td></tr>
{{- with .SourceIPs}}
<tr><th>source IPs</th><td>{{range $i, $ip := .}}{{if $i}}, {{end}}{{$ip}}{{end}}</td></tr>{{end}}
{{- with .Headers}}
<tr><th>headers</th><td>{{range .}}<code>{{.}}</code> {{end}}</td></tr>{{end}}
{{- with .Origin}}
<tr><th>origin</th><td>{{.}}</td></tr>{{end}}
{{- with .Expect}}
<tr><th>expect</th><td>{{range .}}<code>{{.}}</code> {{end}}</td></tr>{{end}}
</table>{{end}}
{{with .R.ProxyConfigs}}<table><tr><th>proxy config</th><th>sha256</th></tr>
{{range .}}<tr><td>{{.Path}}</td><td><code>{{.SHA256}}</code></td></tr>
{{end}}</table>{{end}}
<table><tr><th>start</th><td>{{time .R.Start}}</td></tr><tr><th>hold start</th><td>{{time .R.HoldStart}}</td></tr>{{if not .R.HoldEnd.IsZero}}<tr><th>hold end</th><td>{{time .R.HoldEnd}}</td></tr>{{end}}<tr><th>end</th><td>{{time .R.End}} ({{.R.EndReason}})</td></tr></table>
<h2>Harness resources</h2>
{{with .R.Resources}}<table><tr><th>process</th><th>peak RSS</th><th>CPU</th><th>RSS per held connection</th><th>held</th></tr>
<tr><td>total</td><td class="n">{{bytes .PeakRSSBytes}}</td><td class="n">{{cpu .CPUSeconds}}</td><td class="n">{{perconn .RSSPerConnBytes}}</td><td class="n">{{$.R.Counts.Held}}</td></tr>
{{range .Procs}}<tr><td>{{.Label}}</td><td class="n">{{bytes .PeakRSSBytes}}</td><td class="n">{{cpu .CPUSeconds}}</td><td class="n">{{perconn .RSSPerConnBytes}}</td><td class="n">{{.Held}}</td></tr>
{{end}}</table>{{end}}
<p class="empty">wshold {{.R.Version}} · result schema {{.R.Schema}}</p>
</body>
</html>
{{define "latencycells"}}<td class="n">{{.Count}}</td><td class="n">{{ms .P50Ms}}</td><td class="n">{{ms .P90Ms}}</td><td class="n">{{ms .P99Ms}}</td><td class="n">{{ms .P999Ms}}</td><td class="n">{{ms .MaxMs}}</td>{{end}}
{{define "figure"}}<figure>
<figcaption>{{.Title}}</figcaption>
{{if .Empty}}<p class="empty">{{.Empty}}</p>{{else}}{{.SVG}}
{{with .Legend}}<div class="legend">{{range .}}<span class="sw" style="background: {{.Color}}"></span>{{.Label}}{{end}}</div>{{end}}{{end}}
</figure>
{{end}}`

// htmlMark is a pass/fail mark that common text fonts have (DejaVu,
// Liberation, the system UI fonts): the page is read offline, where an
// emoji font may be missing and Markdown's ✅/❌ would show as empty boxes.
func htmlMark(pass bool) string {
	if pass {
		return "✓"
	}
	return "✗"
}
