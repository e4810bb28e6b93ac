package html

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/export"
)

func render(t testing.TB, e *Exporter, in *export.Input) string {
	t.Helper()
	var b bytes.Buffer
	n, err := e.Export(context.Background(), in, &b)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	var want int64
	for range in.Findings(context.Background()) {
		want++
	}
	if n != want {
		t.Fatalf("Export returned %d findings, want %d", n, want)
	}
	return b.String()
}

func TestFormat(t *testing.T) {
	t.Parallel()
	if got := New().Format(); got != reportingv1.ReportFormat_REPORT_FORMAT_HTML {
		t.Errorf("Format() = %v, want REPORT_FORMAT_HTML", got)
	}
}

// TestGolden pins the whole report for a small fixed input. Regenerate with
// DPSWEEP_UPDATE_GOLDEN=1 go test ./export/html/ -run TestGolden.
func TestGolden(t *testing.T) {
	t.Parallel()
	got := render(t, New(), smallInput())
	path := filepath.Join("testdata", "golden", "report.html")
	if os.Getenv("DPSWEEP_UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with DPSWEEP_UPDATE_GOLDEN=1)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("report differs from %s at line %d:\n got: %.300s\nwant: %.300s\n(regenerate with DPSWEEP_UPDATE_GOLDEN=1)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("report differs from %s: %d lines, want %d (regenerate with DPSWEEP_UPDATE_GOLDEN=1)", path, len(gl), len(wl))
	}
}

// TestByteStable renders the same input several times: map order and
// clocks must not leak into the output.
func TestByteStable(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]func() *export.Input{
		"small":     smallInput,
		"synthetic": func() *export.Input { return synthInput(3000, 40, 7) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			first := render(t, &Exporter{HeatmapAccounts: 10}, in())
			for range 4 {
				if again := render(t, &Exporter{HeatmapAccounts: 10}, in()); again != first {
					t.Fatal("two exports of the same input differ")
				}
			}
		})
	}
}

// dataBlock returns the embedded findings JSON.
func dataBlock(t testing.TB, report string) string {
	t.Helper()
	const open = `<script type="application/json" id="dps-data">`
	i := strings.Index(report, open)
	if i < 0 {
		t.Fatal("no data block in the report")
	}
	rest := report[i+len(open):]
	j := strings.Index(rest, "</script>")
	if j < 0 {
		t.Fatal("data block not closed")
	}
	return rest[:j]
}

// TestEvidenceIsData: names and evidence that look like markup are escaped
// everywhere, and "</script>" in evidence cannot end the data block.
func TestEvidenceIsData(t *testing.T) {
	t.Parallel()
	report := render(t, New(), smallInput())
	for _, bad := range []string{
		`</script><script>alert`, `<img src=x`, `<b>key</b>`, `<see ticket`, "\u2028",
	} {
		if strings.Contains(report, bad) {
			t.Errorf("report contains %q unescaped", bad)
		}
	}
	if got := strings.Count(report, "</script>"); got != 2 {
		t.Errorf("report has %d </script> tags, want 2 (data and code)", got)
	}
	// The control title is escaped in the chart's markup.
	if !strings.Contains(report, `rotates &amp; &#34;logs&#34; &lt;b&gt;key&lt;/b&gt;`) {
		t.Error("control title not HTML-escaped in the chart")
	}
	// And the data block is valid JSON that gives the text back exactly.
	var d struct{ Texts []string }
	if err := json.Unmarshal([]byte(dataBlock(t, report)), &d); err != nil {
		t.Fatalf("data block is not JSON: %v", err)
	}
	want := smallEvidence(t)
	found := false
	for _, s := range d.Texts {
		found = found || s == want
	}
	if !found {
		t.Errorf("data block texts %q lack the evidence %q", d.Texts, want)
	}
}

func smallEvidence(t testing.TB) string {
	t.Helper()
	for f := range smallInput().Findings(context.Background()) {
		if strings.Contains(f.GetEvidence().GetRedactedText(), "</script>") {
			return f.GetEvidence().GetRedactedText()
		}
	}
	t.Fatal("fixture has no hostile evidence")
	return ""
}

// decoded is the embedded table read back; see data.go.
type decoded struct {
	V            int
	Controls     [][]json.RawMessage
	Accounts     []string
	Regions      []string
	Types        []string
	Fields       []string
	Summaries    []string
	Texts        []string
	Entities     [][]string
	Prefixes     [][]json.RawMessage
	Suppressions [][]string
	Rows         [][]json.RawMessage
}

func decode(t testing.TB, report string) *decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal([]byte(dataBlock(t, report)), &d); err != nil {
		t.Fatalf("data block: %v", err)
	}
	return &d
}

// finding rebuilds row i as report.js does.
func (d *decoded) finding(t testing.TB, i int) *evaluationv1.Finding {
	t.Helper()
	r := d.Rows[i]
	num := func(c int) int {
		if c >= len(r) {
			return 0
		}
		var n int
		if err := json.Unmarshal(r[c], &n); err != nil {
			t.Fatalf("row %d column %d: %v", i, c, err)
		}
		return n
	}
	var suffix, ctl, prefix string
	var templated int
	if err := json.Unmarshal(r[colSuffix], &suffix); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(d.Controls[num(colControl)][0], &ctl); err != nil {
		t.Fatal(err)
	}
	p := d.Prefixes[num(colPrefix)]
	if err := json.Unmarshal(p[0], &templated); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(p[1], &prefix); err != nil {
		t.Fatal(err)
	}
	acct, region := d.Accounts[num(colAccount)], d.Regions[num(colRegion)]
	if templated == 1 {
		prefix = strings.ReplaceAll(strings.ReplaceAll(prefix, regionToken, region), accountToken, acct)
	}
	f := &evaluationv1.Finding{
		Status: evaluationv1.FindingStatus(num(colStatus)), Severity: evaluationv1.Severity(num(colSeverity)),
		ControlId: ctl, AccountId: acct, Region: region, ResourceArn: prefix + suffix,
		ResourceType: d.Types[num(colType)], FieldPath: d.Fields[num(colField)],
		NotAssessedReason: evaluationv1.NotAssessedReason(num(colReason)),
		Evidence: &evaluationv1.Evidence{
			Summary: d.Summaries[num(colSummary)], RedactedText: d.Texts[num(colText)], EntityTypes: d.Entities[num(colEntities)],
		},
	}
	if s := num(colSuppression); s > 0 {
		f.Suppressed = true
		f.Suppression = &evaluationv1.Suppression{Id: d.Suppressions[s-1][0], Justification: d.Suppressions[s-1][1]}
	}
	return f
}

// shown is what the table shows of a finding.
func shown(f *evaluationv1.Finding) string {
	s := fmt.Sprintf("%v %v %s %s %s %s %s %s %v | %s | %s | %q", f.GetStatus(), f.GetSeverity(), f.GetControlId(), f.GetAccountId(),
		f.GetRegion(), f.GetResourceArn(), f.GetResourceType(), f.GetFieldPath(), f.GetNotAssessedReason(),
		f.GetEvidence().GetSummary(), f.GetEvidence().GetRedactedText(), f.GetEvidence().GetEntityTypes())
	if f.GetSuppressed() {
		s += " suppressed " + f.GetSuppression().GetId() + ": " + f.GetSuppression().GetJustification()
	}
	return s
}

// TestDataRoundTrip reads every finding back from the compact table.
func TestDataRoundTrip(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]*export.Input{"small": smallInput(), "synthetic": synthInput(5000, 60, 3)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := decode(t, render(t, New(), in))
			if d.V != dataVersion {
				t.Errorf("version %d, want %d", d.V, dataVersion)
			}
			i := 0
			for f := range in.Findings(context.Background()) {
				if i >= len(d.Rows) {
					t.Fatalf("table has %d rows, want more", len(d.Rows))
				}
				if got, want := shown(d.finding(t, i)), shown(f); got != want {
					t.Fatalf("row %d:\n got %s\nwant %s", i, got, want)
				}
				i++
			}
			if i != len(d.Rows) {
				t.Errorf("table has %d rows, want %d", len(d.Rows), i)
			}
		})
	}
}

func TestSplitARN(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		arn, region, account string
		prefix, suffix       string
		templated            bool
	}{
		"regional resource":      {"arn:aws:kms:eu-west-1:111122223333:key/abc", "eu-west-1", "111122223333", "arn:aws:kms:{R}:{A}:key/", "abc", true},
		"bucket":                 {"arn:aws:s3:::logs", "eu-west-1", "111122223333", "arn:aws:s3:::", "logs", false},
		"global IAM":             {"arn:aws:iam::111122223333:user/ops/alice", "global", "111122223333", "arn:aws:iam::{A}:user/ops/", "alice", true},
		"other account":          {"arn:aws:kms:eu-west-1:999999999999:key/abc", "eu-west-1", "111122223333", "arn:aws:kms:{R}:999999999999:key/", "abc", true},
		"colon resource":         {"arn:aws:logs:us-east-1:111122223333:log-group:app", "us-east-1", "111122223333", "arn:aws:logs:{R}:{A}:log-group:", "app", true},
		"not an ARN":             {"i-0123", "eu-west-1", "111122223333", "", "i-0123", false},
		"empty":                  {"", "eu-west-1", "111122223333", "", "", false},
		"placeholder in the ARN": {"arn:aws:s3:eu-west-1:111122223333:{R}/x", "eu-west-1", "111122223333", "arn:aws:s3:eu-west-1:111122223333:{R}/", "x", false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, s, tm := splitARN(tc.arn, tc.region, tc.account)
			if p != tc.prefix || s != tc.suffix || tm != tc.templated {
				t.Errorf("splitARN(%q) = %q, %q, %v; want %q, %q, %v", tc.arn, p, s, tm, tc.prefix, tc.suffix, tc.templated)
			}
		})
	}
}

// TestTableCap: over the cap the table keeps open failures first, the
// counts still cover everything, and the report says what is left out.
func TestTableCap(t *testing.T) {
	t.Parallel()
	in := synthInput(4000, 30, 11)
	var open, all int
	for f := range in.Findings(context.Background()) {
		all++
		if f.GetStatus() == fail && !f.GetSuppressed() {
			open++
		}
	}
	limit := open + 10
	report := render(t, &Exporter{MaxTableFindings: limit}, in)
	d := decode(t, report)
	if len(d.Rows) != limit {
		t.Fatalf("table holds %d rows, want the cap %d", len(d.Rows), limit)
	}
	var gotOpen int
	for i := range d.Rows {
		if f := d.finding(t, i); f.GetStatus() == fail && !f.GetSuppressed() {
			gotOpen++
		}
	}
	if gotOpen != open {
		t.Errorf("table holds %d open failures, want all %d", gotOpen, open)
	}
	for _, want := range []string{
		fmt.Sprintf("The table holds <strong>%s of %s</strong> findings", group(int64(limit)), group(int64(all))),
		"Every count and chart above includes them",
		fmt.Sprintf(`data-stat="total">%s<`, group(int64(all))),
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

var cellRE = regexp.MustCompile(`class="cell h[a-z0-9]+"`)

// TestHeatmapShowsWorstAccounts: the heat map keeps the accounts with the
// most open failures and says how many it leaves out.
func TestHeatmapShowsWorstAccounts(t *testing.T) {
	t.Parallel()
	in := synthInput(2000, 25, 5)
	report := render(t, &Exporter{HeatmapAccounts: 7}, in)
	if got, want := len(cellRE.FindAllString(report, -1)), 7*len(synthControls); got != want {
		t.Errorf("heat map has %d cells, want %d", got, want)
	}
	if !strings.Contains(report, "The 7 accounts with the most open failures, of 25; <strong>18 accounts are left out here</strong>") {
		t.Error("heat map does not say how many accounts it leaves out")
	}
	// The rows are the worst accounts, in order.
	open := map[string]int{}
	for f := range in.Findings(context.Background()) {
		if f.GetStatus() == fail && !f.GetSuppressed() {
			open[f.GetAccountId()]++
		}
	}
	rows := regexp.MustCompile(`<g class="hrow" data-account="(\d+)">`).FindAllStringSubmatch(report, -1)
	for i := 1; i < len(rows); i++ {
		if open[rows[i-1][1]] < open[rows[i][1]] {
			t.Errorf("heat map row %s (%d open) above %s (%d open)", rows[i-1][1], open[rows[i-1][1]], rows[i][1], open[rows[i][1]])
		}
	}
	var worst int
	for _, n := range open {
		worst = max(worst, n)
	}
	if len(rows) == 0 || open[rows[0][1]] != worst {
		t.Errorf("first heat map row is not the worst account (%d open failures)", worst)
	}
}

func TestHeatBins(t *testing.T) {
	t.Parallel()
	for _, maxN := range []int64{1, 2, 3, 7, 10, 100, 12345} {
		legend := heatLegend(maxN)
		prev := 0
		for n := int64(1); n <= min(maxN, 2000); n++ {
			b := heatBin(n, maxN)
			if b < prev || b < 1 || b > heatBins {
				t.Fatalf("max %d: heatBin(%d) = %d after %d", maxN, n, b, prev)
			}
			prev = b
		}
		if heatBin(maxN, maxN) != heatBins {
			t.Errorf("max %d: the maximum is in bin %d, want %d", maxN, heatBin(maxN, maxN), heatBins)
		}
		if len(legend) == 0 || !strings.HasPrefix(legend[0].Label, "1") || !strings.HasSuffix(legend[len(legend)-1].Label, group(maxN)) {
			t.Errorf("max %d: legend %v does not run from 1 to the maximum", maxN, legend)
		}
	}
}

// TestStateAndTrend: a partial sweep says so prominently; a sweep without
// history says there are no earlier sweeps.
func TestStateAndTrend(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		state   reportingv1.SweepState
		history bool
		want    []string
		wantNot []string
	}{
		"cancelled": {reportingv1.SweepState_SWEEP_STATE_CANCELLED, true,
			[]string{`id="partial-banner"`, "Partial report — the sweep was CANCELLED.", `class="state state-partial"`, `class="chart line"`}, []string{"No earlier sweeps"}},
		"failed": {reportingv1.SweepState_SWEEP_STATE_FAILED, false,
			[]string{"Partial report — the sweep was FAILED.", "No earlier sweeps: the trend starts with this one."}, []string{`class="chart line"`}},
		"completed": {reportingv1.SweepState_SWEEP_STATE_COMPLETED, false,
			[]string{`class="state state-completed"`, "No earlier sweeps"}, []string{"partial-banner", "Sweep in progress"}},
		"running": {reportingv1.SweepState_SWEEP_STATE_RUNNING, true,
			[]string{"Sweep in progress."}, []string{"partial-banner"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := smallInput()
			in.Sweep.State = tc.state
			if !tc.history {
				in.History = nil
			}
			report := render(t, New(), in)
			for _, w := range tc.want {
				if !strings.Contains(report, w) {
					t.Errorf("report lacks %q", w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(report, w) {
					t.Errorf("report has %q", w)
				}
			}
		})
	}
}

// TestSummary checks the counts and scope against the fixture.
func TestSummary(t *testing.T) {
	t.Parallel()
	report := render(t, New(), smallInput())
	for _, want := range []string{
		`data-stat="total">19<`, `data-stat="pass">13<`, `data-stat="fail">5<`, `data-stat="na">1<`, `data-stat="supp">1<`,
		`data-stat="rate">72.2%<`, `<div class="card-note">4 open</div>`,
		`<dd id="scope-accounts">3</dd>`, `<dd id="scope-regions">2 + global</dd>`,
		`<dd class="mono" id="sweep-id">swp-2026-03-02-a1</dd>`,
		`<title>High: 3</title>`, `<title>Low: 1</title>`, `<title>access denied: 1</title>`,
		"2026-03-02 09:30 UTC", "2026-03-02 09:47 UTC", "2026-03-02 11:30 UTC",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Worst control first: DPS-ENC-002 (0% pass, 1 open) before DPS-FFT-001
	// (0% pass, 1 open, ID later), DPS-LOG-001 (only not assessed) last.
	order := regexp.MustCompile(`class="bar" data-control="([^"]+)"`).FindAllStringSubmatch(report, -1)
	var ids []string
	for _, m := range order {
		ids = append(ids, m[1])
	}
	if got, want := strings.Join(ids, " "), "DPS-ENC-002 DPS-FFT-001 DPS-ENC-001 DPS-ENC-004 DPS-IAM-005 DPS-LOG-001"; got != want {
		t.Errorf("control chart order %s, want %s", got, want)
	}
}

// TestNoNetwork: nothing in the report points anywhere else.
func TestNoNetwork(t *testing.T) {
	t.Parallel()
	report := render(t, New(), synthInput(500, 10, 1))
	for _, re := range []string{`(?i)(src|href)="(https?:)?//`, `(?i)@import`, `(?i)url\((["']?)(https?:)?//`, `(?i)<link\b`} {
		if m := regexp.MustCompile(re).FindString(report); m != "" {
			t.Errorf("report loads from elsewhere: %q", m)
		}
	}
	if !strings.Contains(report, `content="default-src 'none';`) {
		t.Error("report has no Content-Security-Policy forbidding loads")
	}
}

func TestExportErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("store went away")
	failing := func(context.Context) iter.Seq2[*evaluationv1.Finding, error] {
		return func(yield func(*evaluationv1.Finding, error) bool) { yield(nil, boom) }
	}
	for name, tc := range map[string]struct {
		in   *export.Input
		want error
	}{
		"no sweep":    {&export.Input{Findings: failing}, nil},
		"no findings": {&export.Input{Sweep: &reportingv1.Sweep{}}, nil},
		"store error": {&export.Input{Sweep: &reportingv1.Sweep{}, Findings: failing}, boom},
		"nil input":   {nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			_, err := New().Export(context.Background(), tc.in, &b)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("Export = %v, want an error wrapping %v", err, tc.want)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := New().Export(ctx, smallInput(), &bytes.Buffer{}); !errors.Is(err, context.Canceled) {
			t.Errorf("Export = %v, want context.Canceled", err)
		}
	})
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := group(in); got != want {
			t.Errorf("group(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int64]string{7: "7", 999: "999", 1234: "1.2k", 9999: "9.9k", 12345: "12k", 999999: "999k", 1250000: "1.2M"} {
		if got := compact(in); got != want {
			t.Errorf("compact(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "0.0%", 1: "100.0%", 0.9999: "99.9%", 0.0001: "0.1%", 0.5: "50.0%"} {
		if got := percent(in); got != want {
			t.Errorf("percent(%v) = %q, want %q", in, got, want)
		}
	}
}
