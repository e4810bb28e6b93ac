package store

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// Page sizes: the defaults are the RPCs' (0 means 100 findings, 50 sweeps),
// the limits their validation rules' maxima.
const (
	defaultFindingsPage = 100
	maxFindingsPage     = 5000
	defaultSweepsPage   = 50
	maxSweepsPage       = 1000
	// streamChunk is how many findings Findings and Diff read per query.
	streamChunk = 1000
)

func pageSize(n, def, max int) int {
	switch {
	case n <= 0:
		return def
	case n > max:
		return max
	}
	return n
}

// keyColumns are a finding's identity within a sweep, in sort order.
var keyColumns = [5]string{"account_id", "region", "control_id", "resource_arn", "field_path"}

// findingKey is a finding's identity within a sweep: account, region,
// control, resource ARN, field path. Keys compare byte-wise, as the
// databases' BINARY and "C" collations do.
type findingKey [5]string

func keyOf(f *evaluationv1.Finding) findingKey {
	return findingKey{f.GetAccountId(), f.GetRegion(), f.GetControlId(), f.GetResourceArn(), f.GetFieldPath()}
}

func compareKeys(a, b findingKey) int {
	for i := range a {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// filter is a Filter with its value lists sorted and deduplicated, so that
// equal filters build equal SQL and equal page-token fingerprints.
type filter struct {
	controls, accounts, regions []string
	severities, statuses        []int32
	includeSuppressed           bool
	// none is set when the filter can match nothing (Diff with statuses
	// that leave FAIL out).
	none bool
}

func normalize(f Filter) filter {
	n := filter{
		controls:          sortedStrings(f.ControlIDs),
		accounts:          sortedStrings(f.AccountIDs),
		regions:           sortedStrings(f.Regions),
		includeSuppressed: f.IncludeSuppressed,
	}
	for _, s := range f.Severities {
		n.severities = append(n.severities, int32(s))
	}
	for _, s := range f.Statuses {
		n.statuses = append(n.statuses, int32(s))
	}
	slices.Sort(n.severities)
	n.severities = slices.Compact(n.severities)
	slices.Sort(n.statuses)
	n.statuses = slices.Compact(n.statuses)
	return n
}

// failing narrows f to failing findings, as Diff compares them.
func (f filter) failing() filter {
	fail := int32(evaluationv1.FindingStatus_FINDING_STATUS_FAIL)
	if len(f.statuses) > 0 && !slices.Contains(f.statuses, fail) {
		f.none = true
	}
	f.statuses = []int32{fail}
	return f
}

func sortedStrings(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// canonical is a stable text form of the filter for fingerprints.
func (f filter) canonical() string {
	var b strings.Builder
	list := func(name string, vs []string) {
		b.WriteString(name)
		for _, v := range vs {
			b.WriteString(strconv.Itoa(len(v)))
			b.WriteByte(':')
			b.WriteString(v)
		}
		b.WriteByte(';')
	}
	ints := func(vs []int32) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strconv.Itoa(int(v))
		}
		return out
	}
	list("c", f.controls)
	list("a", f.accounts)
	list("r", f.regions)
	list("sev", ints(f.severities))
	list("st", ints(f.statuses))
	fmt.Fprintf(&b, "sup%t;none%t", f.includeSuppressed, f.none)
	return b.String()
}

// Page tokens are base64url(JSON) of the last key a page returned and a
// fingerprint of the query, so a token is only accepted by the query (sweep,
// filter, kinds) that gave it; the page size may change between pages.

const tokenVersion = 1

type pageToken struct {
	V int      `json:"v"`
	Q string   `json:"q"`
	K []string `json:"k"`
}

// fingerprint hashes the parts of a query a token is bound to.
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

func encodeToken(q string, k []string) string {
	b, err := json.Marshal(pageToken{V: tokenVersion, Q: q, K: k})
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken returns the key a token carries; "" means the first page.
func decodeToken(s, q string, n int) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrBadPageToken)
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%w: malformed", ErrBadPageToken)
	}
	switch {
	case t.V != tokenVersion:
		return nil, fmt.Errorf("%w: version %d", ErrBadPageToken, t.V)
	case t.Q != q:
		return nil, fmt.Errorf("%w: it belongs to another query (sweep, filter or kinds changed)", ErrBadPageToken)
	case len(t.K) != n:
		return nil, fmt.Errorf("%w: malformed key", ErrBadPageToken)
	}
	return t.K, nil
}

func findingsQuery(sweepID string, f filter) string {
	return fingerprint("findings", sweepID, f.canonical())
}

func diffQuery(base, sweepID string, kinds uint8, f filter) string {
	return fingerprint("diff", base, sweepID, strconv.Itoa(int(kinds)), f.canonical())
}

func sweepsQuery(state reportingv1.SweepState) string {
	return fingerprint("sweeps", strconv.Itoa(int(state)))
}

func decodeFindingToken(s, q string) (*findingKey, error) {
	k, err := decodeToken(s, q, len(findingKey{}))
	if err != nil || k == nil {
		return nil, err
	}
	var key findingKey
	copy(key[:], k)
	return &key, nil
}

// sweepCursor is ListSweeps' position: the last sweep's start and ID.
type sweepCursor struct {
	startedMicros int64
	id            string
}

func decodeSweepToken(s, q string) (*sweepCursor, error) {
	k, err := decodeToken(s, q, 2)
	if err != nil || k == nil {
		return nil, err
	}
	us, err := strconv.ParseInt(k[0], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed time", ErrBadPageToken)
	}
	return &sweepCursor{startedMicros: us, id: k[1]}, nil
}

func encodeSweepToken(q string, s *reportingv1.Sweep) string {
	return encodeToken(q, []string{strconv.FormatInt(s.GetStartedAt().AsTime().UnixMicro(), 10), s.GetSweepId()})
}

// sqlBuilder writes SQL for one dialect, collecting the arguments.
type sqlBuilder struct {
	pg   bool
	b    strings.Builder
	args []any
}

func (q *sqlBuilder) w(s ...string) *sqlBuilder {
	for _, x := range s {
		q.b.WriteString(x)
	}
	return q
}

// arg adds an argument and returns its placeholder.
func (q *sqlBuilder) arg(v any) string {
	q.args = append(q.args, v)
	if q.pg {
		return "$" + strconv.Itoa(len(q.args))
	}
	return "?"
}

func (q *sqlBuilder) String() string { return q.b.String() }

// in writes "col = v" for one value (an equality both planners turn into an
// ordered index range), else "col = ANY($n)" (PostgreSQL) or "col IN (...)".
func inList[T string | int32](q *sqlBuilder, col string, vs []T) {
	switch {
	case len(vs) == 0:
	case len(vs) == 1:
		q.w(" AND ", col, " = ", q.arg(sqlValue(q.pg, vs[0])))
	case q.pg:
		q.w(" AND ", col, " = ANY(", q.arg(vs), ")")
	default:
		q.w(" AND ", col, " IN (")
		for i, v := range vs {
			if i > 0 {
				q.w(", ")
			}
			q.w(q.arg(sqlValue(q.pg, v)))
		}
		q.w(")")
	}
}

func sqlValue[T string | int32](pg bool, v T) any {
	if i, ok := any(v).(int32); ok && !pg {
		return int64(i)
	}
	return v
}

// where writes the conditions selecting a sweep's findings that match f,
// after key when given, on table alias t ("" for none).
func (q *sqlBuilder) where(t, sweepID string, f filter, after *findingKey) {
	col := func(c string) string {
		if t == "" {
			return c
		}
		return t + "." + c
	}
	q.w(col("sweep_id"), " = ", q.arg(sweepID))
	if f.none {
		q.w(" AND 1 = 0")
	}
	inList(q, col("control_id"), f.controls)
	inList(q, col("account_id"), f.accounts)
	inList(q, col("region"), f.regions)
	inList(q, col("severity"), f.severities)
	inList(q, col("status"), f.statuses)
	if !f.includeSuppressed {
		if q.pg {
			q.w(" AND NOT ", col("suppressed"))
		} else {
			q.w(" AND ", col("suppressed"), " = 0")
		}
	}
	if after == nil {
		return
	}
	// Keyset: (account, region, control, ARN, field) > after. Key columns the
	// filter pins to the very value the cursor holds, wherever they stand,
	// are left out of the row comparison: they are equal on every candidate
	// row, so the comparison means the same without them. The first column
	// left is also bounded on its own (>=, implied by the comparison), which
	// lets either planner seek in an index where it follows the equalities
	// (findings_by_control: control, then account) even when the columns of
	// the comparison are not adjacent there.
	pinned := [3][]string{f.accounts, f.regions, f.controls}
	var idx []int // the key columns compared; ARN and field path always are
	for i := range keyColumns {
		if i >= len(pinned) || len(pinned[i]) != 1 || pinned[i][0] != after[i] {
			idx = append(idx, i)
		}
	}
	q.w(" AND ", col(keyColumns[idx[0]]), " >= ", q.arg(after[idx[0]]))
	cols, vals := make([]string, len(idx)), make([]string, len(idx))
	for j, i := range idx {
		cols[j], vals[j] = col(keyColumns[i]), q.arg(after[i])
	}
	q.w(" AND (", strings.Join(cols, ", "), ") > (", strings.Join(vals, ", "), ")")
}

// orderBy is the key order for findings matching f: account, region,
// control, resource ARN, field path, less the columns f pins to one value
// (the same order, since they are equal on every row), so that a planner
// sees that an index leading with those columns already reads in order.
func orderBy(f filter) string {
	pinned := [3][]string{f.accounts, f.regions, f.controls}
	var cols []string
	for i, c := range keyColumns {
		if i >= len(pinned) || len(pinned[i]) != 1 {
			cols = append(cols, c)
		}
	}
	return " ORDER BY " + strings.Join(cols, ", ")
}

// row is a finding ready to insert.
type row struct {
	key          findingKey
	severity     int32
	status       int32
	suppressed   bool
	resourceType string
	body         []byte
}

// prepareRows validates and marshals a batch, sorted by key so that
// concurrent writers take locks in the same order. The caller's findings are
// not modified: one whose SweepId differs is cloned first.
func prepareRows(sweepID string, findings []*evaluationv1.Finding) ([]row, error) {
	if sweepID == "" {
		return nil, fmt.Errorf("store: empty sweep ID")
	}
	rows := make([]row, len(findings))
	opts := proto.MarshalOptions{Deterministic: true}
	for i, f := range findings {
		if f == nil {
			return nil, fmt.Errorf("store: finding %d is nil", i)
		}
		if f.GetSweepId() != sweepID {
			f = proto.CloneOf(f)
			f.SweepId = sweepID
		}
		body, err := opts.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("store: finding %d: %w", i, err)
		}
		rows[i] = row{
			key:          keyOf(f),
			severity:     int32(f.GetSeverity()),
			status:       int32(f.GetStatus()),
			suppressed:   f.GetSuppressed(),
			resourceType: f.GetResourceType(),
			body:         body,
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return compareKeys(a.key, b.key) })
	return rows, nil
}

func sortScopes(scopes []Scope) []Scope {
	out := slices.Clone(scopes)
	slices.SortFunc(out, func(a, b Scope) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region))
	})
	return slices.Compact(out)
}

// tallyKey is one bucket of sweep_tallies.
type tallyKey struct {
	status, severity int32
	suppressed       bool
}

// scopeTallyKey is one bucket of sweep_scope_tallies.
type scopeTallyKey struct {
	region, control  string
	status, severity int32
	suppressed       bool
}

// delta is what one RecordFindings call adds to a sweep's counts, from the
// rows it really inserted.
type delta struct {
	tallies      map[tallyKey]int64
	scopeTallies map[scopeTallyKey]int64
	accounts     map[string]struct{}
	regions      map[string]struct{}
	inserted     int
}

func newDelta() *delta {
	return &delta{tallies: map[tallyKey]int64{}, scopeTallies: map[scopeTallyKey]int64{},
		accounts: map[string]struct{}{}, regions: map[string]struct{}{}}
}

func (d *delta) add(account, region, control string, status, severity int32, suppressed bool) {
	d.tallies[tallyKey{status, severity, suppressed}]++
	d.scopeTallies[scopeTallyKey{region, control, status, severity, suppressed}]++
	d.accounts[account] = struct{}{}
	d.regions[region] = struct{}{}
	d.inserted++
}

// sortedScopeTallies returns the delta's scope buckets in key order (lock
// order) with their counts.
func (d *delta) sortedScopeTallies() ([]scopeTallyKey, []int64) {
	keys := make([]scopeTallyKey, 0, len(d.scopeTallies))
	for k := range d.scopeTallies {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b scopeTallyKey) int {
		return cmp.Or(strings.Compare(a.region, b.region), strings.Compare(a.control, b.control),
			cmp.Compare(a.status, b.status), cmp.Compare(a.severity, b.severity), boolCmp(a.suppressed, b.suppressed))
	})
	ns := make([]int64, len(keys))
	for i, k := range keys {
		ns[i] = d.scopeTallies[k]
	}
	return keys, ns
}

// sortedTallies returns the delta's buckets in a fixed order (lock order).
func (d *delta) sortedTallies() ([]tallyKey, []int64) {
	keys := make([]tallyKey, 0, len(d.tallies))
	for k := range d.tallies {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b tallyKey) int {
		return cmp.Or(cmp.Compare(a.status, b.status), cmp.Compare(a.severity, b.severity), boolCmp(a.suppressed, b.suppressed))
	})
	ns := make([]int64, len(keys))
	for i, k := range keys {
		ns[i] = d.tallies[k]
	}
	return keys, ns
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func setKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sweepBuilder assembles a Sweep from its row and its tally rows.
type sweepBuilder struct {
	sweep   *reportingv1.Sweep
	bySev   map[int32]int64
	counted bool
}

func newSweep(id string, state int32, started time.Time, finalized *time.Time, accounts, regions int64) *sweepBuilder {
	s := &reportingv1.Sweep{
		SweepId:   id,
		State:     reportingv1.SweepState(state),
		StartedAt: timestampMicros(started),
		Counts:    &reportingv1.SweepCounts{Accounts: accounts, Regions: regions},
	}
	if finalized != nil {
		s.FinalizedAt = timestampMicros(*finalized)
	}
	return &sweepBuilder{sweep: s, bySev: map[int32]int64{}}
}

func (b *sweepBuilder) addTally(status, severity int32, suppressed bool, n int64) {
	c := b.sweep.Counts
	c.Findings += n
	switch evaluationv1.FindingStatus(status) {
	case evaluationv1.FindingStatus_FINDING_STATUS_PASS:
		c.Pass += n
	case evaluationv1.FindingStatus_FINDING_STATUS_FAIL:
		c.Fail += n
		if !suppressed {
			b.bySev[severity] += n
		}
	case evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED:
		c.NotAssessed += n
	}
	if suppressed {
		c.Suppressed += n
	}
}

// build returns the sweep; fail_by_severity lists the severities with
// failing, unsuppressed findings, most severe first.
func (b *sweepBuilder) build() *reportingv1.Sweep {
	sevs := make([]int32, 0, len(b.bySev))
	for s, n := range b.bySev {
		if n > 0 {
			sevs = append(sevs, s)
		}
	}
	slices.Sort(sevs)
	slices.Reverse(sevs)
	for _, s := range sevs {
		b.sweep.Counts.FailBySeverity = append(b.sweep.Counts.FailBySeverity,
			&reportingv1.SeverityCount{Severity: evaluationv1.Severity(s), Count: b.bySev[s]})
	}
	return b.sweep
}

func validFinalState(s reportingv1.SweepState) error {
	switch s {
	case reportingv1.SweepState_SWEEP_STATE_COMPLETED, reportingv1.SweepState_SWEEP_STATE_CANCELLED, reportingv1.SweepState_SWEEP_STATE_FAILED:
		return nil
	}
	return fmt.Errorf("store: %v is not a final sweep state (COMPLETED, CANCELLED or FAILED)", s)
}

// kindSet is a set of DiffKinds as bits; 0 means all.
func kindSet(kinds []reportingv1.DiffKind) (uint8, error) {
	var set uint8
	for _, k := range kinds {
		switch k {
		case reportingv1.DiffKind_DIFF_KIND_NEW, reportingv1.DiffKind_DIFF_KIND_RESOLVED, reportingv1.DiffKind_DIFF_KIND_UNCHANGED:
			set |= 1 << k
		default:
			return 0, fmt.Errorf("store: diff kind %v", k)
		}
	}
	if set == 0 {
		set = 1<<reportingv1.DiffKind_DIFF_KIND_NEW | 1<<reportingv1.DiffKind_DIFF_KIND_RESOLVED | 1<<reportingv1.DiffKind_DIFF_KIND_UNCHANGED
	}
	return set, nil
}
