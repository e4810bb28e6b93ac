package html

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/export"
)

// page is what the template renders. Every string in it is data and is
// escaped by html/template; only CSS, JS and Data are trusted, and Data is
// JSON with HTML escaping.
type page struct {
	SweepID, State, StateClass string
	Partial, Running           bool
	Started, Finalized         string
	Generated, Version         string
	Accounts, Regions          string
	Global                     bool
	Stats                      []stat
	PassRate                   string
	Severity                   severityChart
	Reasons                    severityChart
	Controls                   barChart
	Heat                       heatmap
	Trend                      trend
	Table                      tableInfo
	CSS                        template.CSS
	JS                         template.JS
	Data                       template.JS
}

type stat struct{ Label, Value, Class, Note string }

type tableInfo struct {
	Total, Embedded, Omitted string
	HasOmitted               bool
	OmittedWhat              string
	PageSize                 int
}

const timeLayout = "2006-01-02 15:04 UTC"

func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "—"
	}
	return ts.AsTime().UTC().Format(timeLayout)
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// percent formats a rate in [0,1] with one decimal, never rounding a
// failure up to 100% or a success down to 0%.
func percent(r float64) string {
	p := math.Round(r*1000) / 10
	if p == 100 && r < 1 {
		p = 99.9
	}
	if p == 0 && r > 0 {
		p = 0.1
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

func fx(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func stateName(s reportingv1.SweepState) (name, class string) {
	switch s {
	case reportingv1.SweepState_SWEEP_STATE_RUNNING:
		return "RUNNING", "running"
	case reportingv1.SweepState_SWEEP_STATE_COMPLETED:
		return "COMPLETED", "completed"
	case reportingv1.SweepState_SWEEP_STATE_CANCELLED:
		return "CANCELLED", "partial"
	case reportingv1.SweepState_SWEEP_STATE_FAILED:
		return "FAILED", "partial"
	default:
		return "UNKNOWN", "running"
	}
}

var severityNames = map[evaluationv1.Severity]string{
	evaluationv1.Severity_SEVERITY_CRITICAL:      "Critical",
	evaluationv1.Severity_SEVERITY_HIGH:          "High",
	evaluationv1.Severity_SEVERITY_MEDIUM:        "Medium",
	evaluationv1.Severity_SEVERITY_LOW:           "Low",
	evaluationv1.Severity_SEVERITY_INFORMATIONAL: "Informational",
	evaluationv1.Severity_SEVERITY_UNSPECIFIED:   "Unspecified",
}

func severityName(s evaluationv1.Severity) string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return "Unspecified"
}

func buildPage(in *export.Input, a *aggregate, heatAccounts int) *page {
	st, class := stateName(in.Sweep.GetState())
	p := &page{
		SweepID:    in.Sweep.GetSweepId(),
		State:      st,
		StateClass: class,
		Partial:    class == "partial",
		Running:    in.Sweep.GetState() == reportingv1.SweepState_SWEEP_STATE_RUNNING,
		Started:    formatTime(in.Sweep.GetStartedAt()),
		Finalized:  formatTime(in.Sweep.GetFinalizedAt()),
		Generated:  in.GeneratedAt.UTC().Format(timeLayout),
		Version:    in.Version,
	}

	// Scope: the assessed (account, region) pairs; what the findings show
	// when the caller gave none.
	accounts, regions := map[string]bool{}, map[string]bool{}
	for _, s := range in.Assessed {
		accounts[s.Account] = true
		regions[s.Region] = true
	}
	if len(in.Assessed) == 0 {
		for acct := range a.accounts {
			accounts[acct] = true
		}
		for r := range a.regions {
			regions[r] = true
		}
	}
	if regions["global"] {
		p.Global = true
		delete(regions, "global")
	}
	p.Accounts, p.Regions = group(int64(len(accounts))), group(int64(len(regions)))

	t := a.total
	rate, ok := t.passRate()
	p.PassRate = "—"
	if ok {
		p.PassRate = percent(rate)
	}
	p.Stats = []stat{
		{Label: "Findings", Value: group(t.findings), Class: "total"},
		{Label: "Pass", Value: group(t.pass), Class: "pass"},
		{Label: "Fail", Value: group(t.fail), Class: "fail", Note: group(t.openFail) + " open"},
		{Label: "Not assessed", Value: group(t.notAssessed), Class: "na"},
		{Label: "Suppressed", Value: group(t.suppressed), Class: "supp"},
		{Label: "Pass rate", Value: p.PassRate, Class: "rate", Note: "pass ÷ (pass + fail)"},
	}
	p.Severity = buildSeverity(a)
	p.Reasons = buildReasons(a)
	p.Controls = buildBars(a)
	p.Heat = buildHeatmap(a, heatAccounts)
	p.Trend = buildTrend(in, a)

	embedded := int64(a.kept)
	p.Table = tableInfo{
		Total:      group(t.findings),
		Embedded:   group(embedded),
		Omitted:    group(a.omittedTotal()),
		HasOmitted: a.omittedTotal() > 0,
		PageSize:   pageSize,
	}
	if p.Table.HasOmitted {
		var what []string
		for class, label := range []string{"open failures", "not assessed", "suppressed failures", "passing or other findings"} {
			if n := a.omitted[class]; n > 0 {
				what = append(what, group(n)+" "+label)
			}
		}
		p.Table.OmittedWhat = strings.Join(what, ", ")
	}
	return p
}

// severityChart is a small bar chart of counts: open failures per
// severity, most severe first, or NOT_ASSESSED findings per reason.
type severityChart struct {
	ID, Label        string
	Width, Height    int
	BarX, BarW, NumX int
	Rows             []severityRow
	None             bool
}

type severityRow struct {
	Name, Class, Count, Href string
	Y, TextY                 int
	W                        string
	n                        int64
}

func buildSeverity(a *aggregate) severityChart {
	order := []evaluationv1.Severity{
		evaluationv1.Severity_SEVERITY_CRITICAL, evaluationv1.Severity_SEVERITY_HIGH, evaluationv1.Severity_SEVERITY_MEDIUM,
		evaluationv1.Severity_SEVERITY_LOW, evaluationv1.Severity_SEVERITY_INFORMATIONAL,
	}
	if a.failBySev[evaluationv1.Severity_SEVERITY_UNSPECIFIED] > 0 {
		order = append(order, evaluationv1.Severity_SEVERITY_UNSPECIFIED)
	}
	var rows []severityRow
	for _, s := range order {
		name := severityName(s)
		rows = append(rows, severityRow{
			Name: name, Class: "sev-" + strings.ToLower(name), n: a.failBySev[s],
			Href: "#status=FAIL&suppressed=hide&severity=" + strings.TrimPrefix(s.String(), "SEVERITY_"),
		})
	}
	c := layoutRows(rows)
	c.ID, c.Label = "severity-chart", "Open failures by severity"
	return c
}

// reasonNames says why a control was not assessed, as report.js does.
var reasonNames = []string{
	"unspecified", "access denied", "region not enabled", "collector error", "role could not be assumed",
	"no FIPS endpoint in the region", "sweep cancelled", "data missing from the inventory",
}

func reasonName(r evaluationv1.NotAssessedReason) string {
	if int(r) >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason " + strconv.Itoa(int(r))
}

// buildReasons counts NOT_ASSESSED findings per reason, most first.
func buildReasons(a *aggregate) severityChart {
	reasons := make([]evaluationv1.NotAssessedReason, 0, len(a.naByReason))
	for r := range a.naByReason {
		reasons = append(reasons, r)
	}
	slices.SortFunc(reasons, func(x, y evaluationv1.NotAssessedReason) int {
		return cmp.Or(cmp.Compare(a.naByReason[y], a.naByReason[x]), cmp.Compare(x, y))
	})
	var rows []severityRow
	for _, r := range reasons {
		rows = append(rows, severityRow{Name: reasonName(r), Class: "seg-na", n: a.naByReason[r]})
	}
	c := layoutRows(rows)
	c.ID, c.Label = "reason-chart", "Not assessed findings by reason"
	return c
}

func layoutRows(rows []severityRow) severityChart {
	const rowH, barW = 26, 220
	var maxN int64
	for _, r := range rows {
		maxN = max(maxN, r.n)
	}
	c := severityChart{Width: 520, Height: rowH * len(rows), None: maxN == 0, BarX: 200, BarW: barW, NumX: 200 + barW + 10}
	for i := range rows {
		r := &rows[i]
		w := 0.0
		if maxN > 0 && r.n > 0 {
			w = max(float64(barW)*float64(r.n)/float64(maxN), 2)
		}
		r.Count, r.W, r.Y, r.TextY = group(r.n), fx(w), i*rowH+5, i*rowH+18
	}
	c.Rows = rows
	return c
}

// barChart is the pass rate per control, a stacked horizontal bar each,
// worst first.
type barChart struct {
	Width, Height int
	Rows          []barRow
	Grid          []tick
	BarX, BarW    int
	NoteX         int
}

type barRow struct {
	ID, Title, FullTitle, Severity, Href, Note string
	Y, TextY, BarY                             int
	Segments                                   []segment
}

type segment struct{ X, W, Class, Label string }

type tick struct {
	X, Y, Label, Anchor string
}

const (
	barRowH   = 24
	barTop    = 24
	barLabelW = 64 // characters of a title before it is cut
)

// worse orders controls worst first: lowest pass rate, then most open
// failures, then ID; controls with no PASS or FAIL at all come last.
func worse(x, y *controlAgg) int {
	rx, okx := x.passRate()
	ry, oky := y.passRate()
	if okx != oky {
		if okx {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(rx, ry); c != 0 {
		return c
	}
	if c := cmp.Compare(y.openFail, x.openFail); c != 0 {
		return c
	}
	return strings.Compare(x.id, y.id)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimRight(string(r[:n-1]), " ,;:") + "…"
}

func buildBars(a *aggregate) barChart {
	ctls := a.sortedControls()
	slices.SortStableFunc(ctls, worse)
	c := barChart{Width: 1160, BarX: 560, BarW: 420, NoteX: 992}
	c.Height = barTop + len(ctls)*barRowH + 4
	for i := 0; i <= 4; i++ {
		c.Grid = append(c.Grid, tick{X: fx(float64(c.BarX) + float64(c.BarW)*float64(i)/4), Label: strconv.Itoa(25*i) + "%"})
	}
	for i, ctl := range ctls {
		y := barTop + i*barRowH
		r := barRow{
			ID: ctl.id, Title: truncate(ctl.title, barLabelW), FullTitle: ctl.title,
			Severity: severityName(ctl.severity), Href: "#control=" + url.QueryEscape(ctl.id),
			Y: y, TextY: y + 16, BarY: y + 4,
		}
		total := ctl.findings
		x := float64(c.BarX)
		for _, part := range []struct {
			n            int64
			class, label string
		}{
			{ctl.openFail, "seg-fail", "fail"},
			{ctl.fail - ctl.openFail, "seg-supp", "fail, suppressed"},
			{ctl.notAssessed, "seg-na", "not assessed"},
			{ctl.pass, "seg-pass", "pass"},
			{total - ctl.pass - ctl.fail - ctl.notAssessed, "seg-other", "no status"},
		} {
			if part.n == 0 || total == 0 {
				continue
			}
			w := float64(c.BarW) * float64(part.n) / float64(total)
			r.Segments = append(r.Segments, segment{
				X: fx(x), W: fx(w), Class: part.class,
				Label: fmt.Sprintf("%s: %s %s", ctl.id, group(part.n), part.label),
			})
			x += w
		}
		if rate, ok := ctl.passRate(); ok {
			r.Note = percent(rate) + " pass"
		} else {
			r.Note = "n/a"
		}
		if ctl.openFail > 0 {
			r.Note += " · " + group(ctl.openFail) + " open"
		}
		c.Rows = append(c.Rows, r)
	}
	return c
}

// heatmap is open failures per account (rows, worst first) and control
// (columns, by ID).
type heatmap struct {
	Width, Height                 int
	Columns                       []heatColumn
	Rows                          []heatRow
	Legend                        []legendItem
	Shown, Total, LeftOut, Clean  string
	HasLeftOut, HasClean, Empty   bool
	LabelW, CellW, CellH, HeaderH int
	TotalX                        int
	ShownN                        int
}

type heatColumn struct {
	ID, Href string
	X, Y     string
}

type heatRow struct {
	Account, Total, Href string
	Y, TextY             int
	Cells                []heatCell
}

type heatCell struct {
	X, Y         int
	TextX, TextY string
	Class, Count string
	Title, Href  string
}

type legendItem struct{ Class, Label string }

const (
	heatLabelW  = 118
	heatCellW   = 30
	heatCellH   = 18
	heatGap     = 2
	heatHeaderH = 84
	heatBins    = 5
)

// heatBin places n open failures on a log scale up to maxN, 1..heatBins.
func heatBin(n, maxN int64) int {
	if n <= 0 {
		return 0
	}
	if maxN <= 1 {
		return heatBins
	}
	b := 1 + int(math.Floor(float64(heatBins-1)*math.Log(float64(n))/math.Log(float64(maxN))+1e-9))
	return min(max(b, 1), heatBins)
}

func heatLegend(maxN int64) []legendItem {
	var out []legendItem
	if maxN <= 0 {
		return out
	}
	lo := int64(1)
	for bin := 1; bin <= heatBins; bin++ {
		if lo > maxN || heatBin(lo, maxN) != bin {
			continue
		}
		hi := lo
		// hi: the largest count still in this bin (binary search on a
		// monotone function).
		l, r := lo, maxN
		for l < r {
			m := l + (r-l+1)/2
			if heatBin(m, maxN) <= bin {
				l = m
			} else {
				r = m - 1
			}
		}
		hi = l
		label := group(lo)
		if hi > lo {
			label += "–" + group(hi)
		}
		out = append(out, legendItem{Class: "h" + strconv.Itoa(bin), Label: label})
		lo = hi + 1
	}
	return out
}

func buildHeatmap(a *aggregate, limit int) heatmap {
	ctls := a.sortedControls()
	accts := sortedKeys(a.accounts)
	slices.SortStableFunc(accts, func(x, y string) int {
		return cmp.Compare(a.accounts[y].openFail, a.accounts[x].openFail)
	})
	var clean int
	for _, acct := range accts {
		if a.accounts[acct].openFail == 0 {
			clean++
		}
	}
	shown := accts[:min(limit, len(accts))]
	h := heatmap{
		Total: group(int64(len(accts))), Shown: group(int64(len(shown))), ShownN: len(shown),
		LeftOut: group(int64(len(accts) - len(shown))), HasLeftOut: len(accts) > len(shown),
		Clean: group(int64(clean)), HasClean: clean > 0, Empty: len(accts) == 0,
		LabelW: heatLabelW, CellW: heatCellW - heatGap, CellH: heatCellH - heatGap, HeaderH: heatHeaderH,
	}
	h.TotalX = heatLabelW + len(ctls)*heatCellW + 8
	h.Width = h.TotalX + 64
	h.Height = heatHeaderH + len(shown)*heatCellH + 4

	var maxN int64
	for _, acct := range shown {
		for _, ctl := range ctls {
			if c := a.cells[cellKey{acct, ctl.id}]; c != nil {
				maxN = max(maxN, c.openFail)
			}
		}
	}
	for i, ctl := range ctls {
		x := heatLabelW + i*heatCellW + heatCellW/2
		h.Columns = append(h.Columns, heatColumn{
			ID: ctl.id, Href: "#control=" + url.QueryEscape(ctl.id),
			X: strconv.Itoa(x), Y: strconv.Itoa(heatHeaderH - 6),
		})
	}
	for j, acct := range shown {
		y := heatHeaderH + j*heatCellH
		r := heatRow{
			Account: acct, Total: group(a.accounts[acct].openFail),
			Href: "#account=" + url.QueryEscape(acct),
			Y:    y, TextY: y + 13,
		}
		for i, ctl := range ctls {
			x := heatLabelW + i*heatCellW
			cell := heatCell{
				X: x, Y: y, TextX: strconv.Itoa(x + (heatCellW-heatGap)/2), TextY: strconv.Itoa(y + 12),
				Href: "#account=" + url.QueryEscape(acct) + "&control=" + url.QueryEscape(ctl.id),
			}
			c := a.cells[cellKey{acct, ctl.id}]
			switch {
			case c == nil:
				cell.Class, cell.Title = "hn", acct+" · "+ctl.id+": no findings"
				cell.Href = ""
			case c.openFail > 0:
				cell.Class = "h" + strconv.Itoa(heatBin(c.openFail, maxN))
				cell.Count = compact(c.openFail)
				cell.Title = fmt.Sprintf("%s · %s: %s open failures", acct, ctl.id, group(c.openFail))
			case c.other > 0:
				cell.Class, cell.Title = "hp", acct+" · "+ctl.id+": no open failures"
			default:
				cell.Class, cell.Title = "ha", acct+" · "+ctl.id+": not assessed"
			}
			r.Cells = append(r.Cells, cell)
		}
		h.Rows = append(h.Rows, r)
	}
	h.Legend = append([]legendItem{{"hp", "no open failures"}, {"ha", "not assessed"}, {"hn", "no findings"}}, heatLegend(maxN)...)
	return h
}

// trend is failing findings and pass rate over the earlier sweeps and this
// one.
type trend struct {
	Single     bool
	Note       string
	Fail, Rate lineChart
}

type lineChart struct {
	Title, Current string
	Width, Height  int
	Path           string
	Dots           []dot
	YTicks         []tick
	XTicks         []tick
	PlotX, PlotW   int
	PlotY, PlotH   int
}

type dot struct {
	X, Y, Label string
	Current     bool
}

const maxTrendSweeps = 60

type trendPoint struct {
	id      string
	at      time.Time
	fail    int64
	rate    float64
	rateOK  bool
	current bool
}

func buildTrend(in *export.Input, a *aggregate) trend {
	var pts []trendPoint
	seen := map[string]bool{in.Sweep.GetSweepId(): true}
	for _, s := range in.History {
		if s == nil || seen[s.GetSweepId()] {
			continue
		}
		seen[s.GetSweepId()] = true
		c := s.GetCounts()
		p := trendPoint{id: s.GetSweepId(), at: sweepTime(s), fail: c.GetFail()}
		if c.GetPass()+c.GetFail() > 0 {
			p.rate, p.rateOK = float64(c.GetPass())/float64(c.GetPass()+c.GetFail()), true
		}
		pts = append(pts, p)
	}
	cur := trendPoint{id: in.Sweep.GetSweepId(), at: sweepTime(in.Sweep), fail: a.total.fail, current: true}
	cur.rate, cur.rateOK = a.total.passRate()
	pts = append(pts, cur)

	var t trend
	if len(pts) == 1 {
		t.Single = true
		return t
	}
	if len(pts) > maxTrendSweeps {
		t.Note = fmt.Sprintf("The last %d of %s sweeps.", maxTrendSweeps, group(int64(len(pts))))
		pts = pts[len(pts)-maxTrendSweeps:]
	}
	t.Fail = lineOf("Failing findings", pts, func(p trendPoint) (float64, bool) { return float64(p.fail), true }, false)
	t.Rate = lineOf("Pass rate", pts, func(p trendPoint) (float64, bool) { return p.rate, p.rateOK }, true)
	return t
}

func sweepTime(s *reportingv1.Sweep) time.Time {
	if s.GetStartedAt() != nil {
		return s.GetStartedAt().AsTime().UTC()
	}
	return s.GetFinalizedAt().AsTime().UTC()
}

func lineOf(title string, pts []trendPoint, val func(trendPoint) (float64, bool), rate bool) lineChart {
	l := lineChart{Title: title, Width: 540, Height: 190, PlotX: 56, PlotY: 12, PlotW: 464, PlotH: 136}
	lo, hi := 0.0, 1.0
	if !rate {
		var top float64
		for _, p := range pts {
			v, _ := val(p)
			top = max(top, v)
		}
		hi = 4 * niceStep(top/4)
	}
	yOf := func(v float64) float64 { return float64(l.PlotY) + float64(l.PlotH)*(1-(v-lo)/(hi-lo)) }
	xOf := func(i int) float64 {
		return float64(l.PlotX) + float64(l.PlotW)*float64(i)/float64(len(pts)-1)
	}
	format := func(v float64) string {
		if rate {
			return percent(v)
		}
		return group(int64(v))
	}
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		label := format(v)
		if rate {
			label = strconv.Itoa(25*i) + "%"
		}
		l.YTicks = append(l.YTicks, tick{Y: fx(yOf(v)), Label: label})
	}
	var path strings.Builder
	pen := false
	for i, p := range pts {
		v, ok := val(p)
		if !ok {
			pen = false
			continue
		}
		x, y := fx(xOf(i)), fx(yOf(v))
		if pen {
			path.WriteString(" L")
		} else {
			if path.Len() > 0 {
				path.WriteByte(' ')
			}
			path.WriteString("M")
		}
		path.WriteString(x + " " + y)
		pen = true
		l.Dots = append(l.Dots, dot{X: x, Y: y, Current: p.current,
			Label: fmt.Sprintf("%s (%s): %s", p.id, p.at.Format("2006-01-02"), format(v))})
		if p.current {
			l.Current = format(v)
		}
	}
	l.Path = path.String()
	// Date labels: every sweep when there are few, else first, middle, last.
	labelled := []int{0, len(pts) / 2, len(pts) - 1}
	if len(pts) <= 8 {
		labelled = labelled[:0]
		for i := range pts {
			labelled = append(labelled, i)
		}
	}
	for k, i := range slices.Compact(labelled) {
		anchor := "middle"
		switch {
		case k == 0:
			anchor = "start"
		case i == len(pts)-1:
			anchor = "end"
		}
		l.XTicks = append(l.XTicks, tick{X: fx(xOf(i)), Label: pts[i].at.Format("Jan 2"), Anchor: anchor})
	}
	return l
}

// niceStep rounds v up to 1, 2, 2.5 or 5 times a power of ten, an integer
// of at least 1, so that axis ticks at multiples of it are round counts.
func niceStep(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p == math.Trunc(m*p) && v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// compact writes n in at most four characters: 999, 1.2k, 12k, 120k, 1.2M.
func compact(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 10_000:
		return strconv.FormatFloat(math.Floor(float64(n)/100)/10, 'f', -1, 64) + "k"
	case n < 1_000_000:
		return strconv.FormatInt(n/1000, 10) + "k"
	default:
		return strconv.FormatFloat(math.Floor(float64(n)/100_000)/10, 'f', -1, 64) + "M"
	}
}
