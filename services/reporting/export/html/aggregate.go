package html

import (
	"cmp"
	"slices"
	"strings"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

// Table priority classes: when a sweep has more findings than the table may
// hold, the table keeps every finding of a class before any of the next.
const (
	classOpenFail   = iota // FAIL, not suppressed
	classNotAssess         // NOT_ASSESSED
	classSuppressed        // FAIL, suppressed
	classRest              // PASS and anything else
	numClasses
)

// counts sums findings by status.
type counts struct {
	findings, pass, fail, notAssessed, suppressed int64
	// openFail counts failing findings that are not suppressed.
	openFail int64
}

func (c counts) passRate() (float64, bool) {
	if c.pass+c.fail == 0 {
		return 0, false
	}
	return float64(c.pass) / float64(c.pass+c.fail), true
}

// controlAgg sums one control's findings.
type controlAgg struct {
	id, title string
	severity  evaluationv1.Severity
	counts
}

// cellAgg sums one account's findings for one control.
type cellAgg struct {
	openFail, other, notAssessed int64
}

type cellKey struct{ account, control string }

// row is one finding kept for the findings table, its strings interned.
type row struct {
	seq                                               int
	status                                            evaluationv1.FindingStatus
	severity                                          evaluationv1.Severity
	reason                                            evaluationv1.NotAssessedReason
	suppressed                                        bool
	control, account, region, arn, rtype, field, summ string
	text, entities, suppressionID, suppressionJustify string
	suppressionExpires                                string
}

// aggregate is everything the report needs, built in one pass over the
// findings with memory bounded by the table cap plus the number of distinct
// (account, control) pairs.
type aggregate struct {
	total      counts
	failBySev  map[evaluationv1.Severity]int64
	naByReason map[evaluationv1.NotAssessedReason]int64
	controls   map[string]*controlAgg
	accounts   map[string]*counts
	regions    map[string]bool
	cells      map[cellKey]*cellAgg
	maxRows    int
	rows       [numClasses][]row
	kept       int
	omitted    [numClasses]int64
	strs       map[string]string
	seq        int
}

func newAggregate(maxRows int) *aggregate {
	return &aggregate{
		failBySev:  map[evaluationv1.Severity]int64{},
		naByReason: map[evaluationv1.NotAssessedReason]int64{},
		controls:   map[string]*controlAgg{},
		accounts:   map[string]*counts{},
		regions:    map[string]bool{},
		cells:      map[cellKey]*cellAgg{},
		maxRows:    maxRows,
		strs:       map[string]string{},
	}
}

// intern returns s, sharing memory with earlier equal strings.
func (a *aggregate) intern(s string) string {
	if v, ok := a.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	a.strs[s] = s
	return s
}

func (c *counts) add(f *evaluationv1.Finding) {
	c.findings++
	switch f.GetStatus() {
	case evaluationv1.FindingStatus_FINDING_STATUS_PASS:
		c.pass++
	case evaluationv1.FindingStatus_FINDING_STATUS_FAIL:
		c.fail++
		if !f.GetSuppressed() {
			c.openFail++
		}
	case evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED:
		c.notAssessed++
	}
	if f.GetSuppressed() {
		c.suppressed++
	}
}

func classOf(f *evaluationv1.Finding) int {
	switch f.GetStatus() {
	case evaluationv1.FindingStatus_FINDING_STATUS_FAIL:
		if f.GetSuppressed() {
			return classSuppressed
		}
		return classOpenFail
	case evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED:
		return classNotAssess
	default:
		return classRest
	}
}

func (a *aggregate) add(f *evaluationv1.Finding) {
	a.total.add(f)
	open := f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_FAIL && !f.GetSuppressed()
	if open {
		a.failBySev[f.GetSeverity()]++
	}
	if f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED {
		a.naByReason[f.GetNotAssessedReason()]++
	}

	ctl := a.controls[f.GetControlId()]
	if ctl == nil {
		ctl = &controlAgg{id: a.intern(f.GetControlId()), title: a.intern(f.GetTitle()), severity: f.GetSeverity()}
		a.controls[ctl.id] = ctl
	}
	if ctl.title == "" && f.GetTitle() != "" {
		ctl.title = a.intern(f.GetTitle())
	}
	ctl.add(f)

	acct := a.accounts[f.GetAccountId()]
	if acct == nil {
		acct = &counts{}
		a.accounts[a.intern(f.GetAccountId())] = acct
	}
	acct.add(f)
	if !a.regions[f.GetRegion()] {
		a.regions[a.intern(f.GetRegion())] = true
	}

	key := cellKey{a.intern(f.GetAccountId()), ctl.id}
	cell := a.cells[key]
	if cell == nil {
		cell = &cellAgg{}
		a.cells[key] = cell
	}
	switch {
	case open:
		cell.openFail++
	case f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED:
		cell.notAssessed++
	default:
		cell.other++
	}

	a.keep(f)
}

// keep adds f to the table, then drops the newest row of the lowest-priority
// class while the table is over its cap: every class above the boundary is
// kept whole, the boundary class keeps a prefix in stream order.
func (a *aggregate) keep(f *evaluationv1.Finding) {
	class := classOf(f)
	a.seq++
	if a.kept >= a.maxRows {
		low := numClasses - 1
		for low > class && len(a.rows[low]) == 0 {
			low--
		}
		if low <= class {
			a.omitted[class]++
			return
		}
		a.rows[low] = a.rows[low][:len(a.rows[low])-1]
		a.omitted[low]++
		a.kept--
	}
	ev := f.GetEvidence()
	r := row{
		seq:        a.seq,
		status:     f.GetStatus(),
		severity:   f.GetSeverity(),
		reason:     f.GetNotAssessedReason(),
		suppressed: f.GetSuppressed(),
		control:    a.intern(f.GetControlId()),
		account:    a.intern(f.GetAccountId()),
		region:     a.intern(f.GetRegion()),
		arn:        strings.Clone(f.GetResourceArn()),
		rtype:      a.intern(f.GetResourceType()),
		field:      a.intern(f.GetFieldPath()),
		summ:       a.intern(ev.GetSummary()),
		text:       a.intern(ev.GetRedactedText()),
		entities:   a.intern(strings.Join(ev.GetEntityTypes(), "\x00")),
	}
	if s := f.GetSuppression(); f.GetSuppressed() && s != nil {
		r.suppressionID = a.intern(s.GetId())
		r.suppressionJustify = a.intern(s.GetJustification())
		if s.GetExpiresAt() != nil {
			r.suppressionExpires = a.intern(s.GetExpiresAt().AsTime().UTC().Format("2006-01-02"))
		}
	}
	a.rows[class] = append(a.rows[class], r)
	a.kept++
}

// tableRows returns the kept rows in stream order.
func (a *aggregate) tableRows() []row {
	out := make([]row, 0, a.kept)
	for _, rs := range a.rows {
		out = append(out, rs...)
	}
	slices.SortFunc(out, func(x, y row) int { return cmp.Compare(x.seq, y.seq) })
	return out
}

func (a *aggregate) omittedTotal() int64 {
	var n int64
	for _, o := range a.omitted {
		n += o
	}
	return n
}

// sortedControls returns the controls by ID.
func (a *aggregate) sortedControls() []*controlAgg {
	out := make([]*controlAgg, 0, len(a.controls))
	for _, c := range a.controls {
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y *controlAgg) int { return strings.Compare(x.id, y.id) })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
