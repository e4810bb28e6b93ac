// Package storetest is the behaviour every store.Store engine must show,
// as one suite each engine's tests run.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/store"
)

// Run runs the suite. open returns a new, empty store for one test and
// arranges for it to be closed when the test ends; the tests run in
// parallel, so stores must not share data.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := map[string]func(t *testing.T, s store.Store){
		"round trip keeps every field":                  testRoundTrip,
		"retry of the same batch stores nothing twice":  testRetry,
		"overlapping batches count exactly":             testOverlap,
		"duplicates within one batch count exactly":     testDuplicatesInBatch,
		"concurrent writers store each finding once":    testConcurrentWriters,
		"finalized sweep refuses findings":              testFinalized,
		"counts sum the sweep":                          testCounts,
		"every filter field and their combinations":     testFilters,
		"pages are stable, complete, without repeats":   testPaging,
		"bad page tokens are refused":                   testBadTokens,
		"findings stream in order across chunks":        testStream,
		"sweeps list newest first, by state, paged":     testListSweeps,
		"diff is exact":                                 testDiff,
		"diff pages and kinds":                          testDiffPaging,
		"assessed scopes are kept sorted and once":      testAssessed,
		"unknown sweeps are not found":                  testNotFound,
		"a call without findings still creates a sweep": testEmptyCall,
		"a bad batch stores nothing":                    testBadBatch,
	}
	names := make([]string, 0, len(tests))
	for name := range tests {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tests[name](t, open(t))
		})
	}
}

func record(t *testing.T, s store.Store, sweepID string, fs []*evaluationv1.Finding, scopes ...store.Scope) (inserted, dups int) {
	t.Helper()
	inserted, dups, err := s.RecordFindings(context.Background(), sweepID, fs, scopes)
	if err != nil {
		t.Fatalf("RecordFindings(%s, %d findings): %v", sweepID, len(fs), err)
	}
	return inserted, dups
}

// listAll pages through ListFindings and checks that every page reports
// the same total and that the last page has no token.
func listAll(t *testing.T, s store.Store, sweepID string, f store.Filter, size int) []*evaluationv1.Finding {
	t.Helper()
	var all []*evaluationv1.Finding
	token := ""
	var total int64 = -1
	for pages := 0; ; pages++ {
		fs, next, n, err := s.ListFindings(context.Background(), sweepID, f, store.Page{Size: size, Token: token})
		if err != nil {
			t.Fatalf("ListFindings(page %d): %v", pages, err)
		}
		if total >= 0 && n != total {
			t.Fatalf("ListFindings: total %d on page %d, %d before", n, pages, total)
		}
		total = n
		if size > 0 && len(fs) > size {
			t.Fatalf("ListFindings: page of %d findings, asked for %d", len(fs), size)
		}
		if next != "" && len(fs) < size {
			t.Fatalf("ListFindings: short page (%d of %d) with a next token", len(fs), size)
		}
		all = append(all, fs...)
		if next == "" {
			break
		}
		if pages > 10000 {
			t.Fatal("ListFindings: pages never end")
		}
		token = next
	}
	if int64(len(all)) != total {
		t.Fatalf("ListFindings: %d findings over all pages, total says %d", len(all), total)
	}
	return all
}

func equalKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	if len(got)+len(want) <= 40 {
		t.Errorf("%s:\n got %d: %s\nwant %d: %s", what, len(got), strings.Join(got, "\n        "), len(want), strings.Join(want, "\n        "))
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	at := func(s []string) string {
		if i < len(s) {
			return s[i]
		}
		return "(end)"
	}
	t.Errorf("%s: got %d, want %d; first difference at %d: got %s, want %s", what, len(got), len(want), i, at(got), at(want))
}

func getSweep(t *testing.T, s store.Store, id string) *reportingv1.Sweep {
	t.Helper()
	sw, err := s.GetSweep(context.Background(), id)
	if err != nil {
		t.Fatalf("GetSweep(%s): %v", id, err)
	}
	return sw
}

func equalCounts(t *testing.T, what string, got, want *reportingv1.SweepCounts) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s counts:\n got %v\nwant %v", what, got, want)
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	full := Finding("", acctA, "eu-west-1", "DPS-S3-001", "arn:aws:s3:::bucket", "Tags[0].Value", fail, high, true)
	orig := proto.Clone(full)
	record(t, s, "sweep-rt", []*evaluationv1.Finding{full, Finding("other", acctA, "eu-west-1", "DPS-S3-001", "arn:aws:s3:::zz", "", na, low, false)})
	if !proto.Equal(full, orig) {
		t.Error("RecordFindings modified the caller's finding")
	}
	want := proto.CloneOf(full)
	want.SweepId = "sweep-rt"
	got, _, _, err := s.ListFindings(ctx, "sweep-rt", store.Filter{IncludeSuppressed: true}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !proto.Equal(got[0], want) {
		t.Fatalf("ListFindings returned\n%v\nwant first\n%v", got, want)
	}
	if got[1].GetSweepId() != "sweep-rt" {
		t.Errorf("a finding recorded with sweep ID %q came back with %q, want the sweep's", "other", got[1].GetSweepId())
	}
	for fd, err := range s.Findings(ctx, "sweep-rt", store.Filter{IncludeSuppressed: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(fd, want) {
			t.Errorf("Findings yielded\n%v\nwant\n%v", fd, want)
		}
		break
	}
	d, _, _, err := s.Diff(ctx, "sweep-rt", "sweep-rt", nil, store.Filter{IncludeSuppressed: true}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 1 || !proto.Equal(d[0].GetFinding(), want) {
		t.Errorf("Diff returned %v, want the finding unchanged", d)
	}
}

func testRetry(t *testing.T, s store.Store) {
	world := World("s")
	if ins, dup := record(t, s, "s", world); ins != len(world) || dup != 0 {
		t.Fatalf("first call: inserted %d, duplicates %d; want %d, 0", ins, dup, len(world))
	}
	before := getSweep(t, s, "s")
	if ins, dup := record(t, s, "s", world); ins != 0 || dup != len(world) {
		t.Fatalf("retry: inserted %d, duplicates %d; want 0, %d", ins, dup, len(world))
	}
	equalCounts(t, "after a retry", getSweep(t, s, "s").GetCounts(), before.GetCounts())
	equalCounts(t, "after a retry, against the reference", before.GetCounts(), expectCounts(world))
}

func testOverlap(t *testing.T, s store.Store) {
	world := World("s")
	first, second := world[:60], world[40:]
	if ins, dup := record(t, s, "s", first); ins != 60 || dup != 0 {
		t.Fatalf("first batch: inserted %d, duplicates %d; want 60, 0", ins, dup)
	}
	if ins, dup := record(t, s, "s", second); ins != len(world)-60 || dup != 20 {
		t.Fatalf("overlapping batch: inserted %d, duplicates %d; want %d, 20", ins, dup, len(world)-60)
	}
	// The overlap keeps the first version of a finding even if a retry
	// carries different contents.
	changed := proto.CloneOf(world[50])
	changed.Title = "changed"
	if ins, dup := record(t, s, "s", []*evaluationv1.Finding{changed}); ins != 0 || dup != 1 {
		t.Fatalf("changed duplicate: inserted %d, duplicates %d; want 0, 1", ins, dup)
	}
	all := listAll(t, s, "s", store.Filter{IncludeSuppressed: true}, 0)
	equalKeys(t, "findings", keys(all), keys(expect(world, store.Filter{IncludeSuppressed: true})))
	for _, f := range all {
		if f.GetTitle() == "changed" {
			t.Error("a duplicate overwrote the stored finding")
		}
	}
	equalCounts(t, "after overlapping batches", getSweep(t, s, "s").GetCounts(), expectCounts(world))
}

func testDuplicatesInBatch(t *testing.T, s store.Store) {
	world := World("s")[:10]
	batch := append(slices.Clone(world), world[3], world[7], world[3])
	if ins, dup := record(t, s, "s", batch); ins != 10 || dup != 3 {
		t.Fatalf("inserted %d, duplicates %d; want 10, 3", ins, dup)
	}
	equalCounts(t, "after a batch with repeats", getSweep(t, s, "s").GetCounts(), expectCounts(world))
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	world := World("s")
	const writers = 6
	var (
		wg                      sync.WaitGroup
		mu                      sync.Mutex
		inserted, dups, sent, n int
		errs                    []error
	)
	for w := range writers {
		// Each writer records an overlapping window of the world, in chunks,
		// in its own order.
		lo := w * (len(world) - len(world)/2) / (writers - 1)
		batch := slices.Clone(world[lo : lo+len(world)/2])
		if w%2 == 1 {
			slices.Reverse(batch)
		}
		wg.Go(func() {
			for len(batch) > 0 {
				k := min(len(batch), 7+w)
				ins, dup, err := s.RecordFindings(context.Background(), "s", batch[:k], nil)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				inserted, dups, sent, n = inserted+ins, dups+dup, sent+k, n+1
				mu.Unlock()
				batch = batch[k:]
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent RecordFindings: %v", err)
	}
	var union []*evaluationv1.Finding
	for w := range writers {
		lo := w * (len(world) - len(world)/2) / (writers - 1)
		union = append(union, world[lo:lo+len(world)/2]...)
	}
	distinct := len(expect(union, store.Filter{IncludeSuppressed: true}))
	if inserted != distinct || inserted+dups != sent {
		t.Errorf("%d calls: inserted %d + duplicates %d of %d sent; want %d inserted", n, inserted, dups, sent, distinct)
	}
	equalCounts(t, "after concurrent writers", getSweep(t, s, "s").GetCounts(), expectCounts(union))
}

func testFinalized(t *testing.T, s store.Store) {
	ctx := context.Background()
	world := World("s")
	record(t, s, "s", world[:5])
	at := time.Date(2026, 11, 3, 10, 0, 0, 987654321, time.UTC)
	sw, err := s.FinalizeSweep(ctx, "s", reportingv1.SweepState_SWEEP_STATE_COMPLETED, at)
	if err != nil {
		t.Fatal(err)
	}
	if sw.GetState() != reportingv1.SweepState_SWEEP_STATE_COMPLETED || !sw.GetFinalizedAt().AsTime().Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("finalized sweep: state %v at %v; want COMPLETED at %v", sw.GetState(), sw.GetFinalizedAt().AsTime(), at.Truncate(time.Microsecond))
	}
	equalCounts(t, "FinalizeSweep", sw.GetCounts(), expectCounts(world[:5]))

	tests := map[string]struct {
		call func() error
		want error
	}{
		"new findings": {func() error {
			_, _, err := s.RecordFindings(ctx, "s", world[5:7], nil)
			return err
		}, store.ErrFinalized},
		"a retry of recorded findings": {func() error {
			_, _, err := s.RecordFindings(ctx, "s", world[:5], nil)
			return err
		}, store.ErrFinalized},
		"scopes alone": {func() error {
			_, _, err := s.RecordFindings(ctx, "s", nil, []store.Scope{{Account: acctA, Region: "global"}})
			return err
		}, store.ErrFinalized},
		"another final state": {func() error {
			_, err := s.FinalizeSweep(ctx, "s", reportingv1.SweepState_SWEEP_STATE_FAILED, at.Add(time.Hour))
			return err
		}, store.ErrFinalized},
		"the same final state again": {func() error {
			again, err := s.FinalizeSweep(ctx, "s", reportingv1.SweepState_SWEEP_STATE_COMPLETED, at.Add(time.Hour))
			if err == nil && !proto.Equal(again, sw) {
				return fmt.Errorf("finalizing again changed the sweep: %v, was %v", again, sw)
			}
			return err
		}, nil},
		"an unknown sweep": {func() error {
			_, err := s.FinalizeSweep(ctx, "nope", reportingv1.SweepState_SWEEP_STATE_COMPLETED, at)
			return err
		}, store.ErrNotFound},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	for _, st := range []reportingv1.SweepState{reportingv1.SweepState_SWEEP_STATE_RUNNING, reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED} {
		if _, err := s.FinalizeSweep(ctx, "s", st, at); err == nil {
			t.Errorf("FinalizeSweep(%v) succeeded; it is not a final state", st)
		}
	}
	equalCounts(t, "after refused calls", getSweep(t, s, "s").GetCounts(), expectCounts(world[:5]))
}

func testCounts(t *testing.T, s store.Store) {
	world := World("s")
	var sent []*evaluationv1.Finding
	for i := 0; i < len(world); i += 17 {
		batch := world[i:min(i+17, len(world))]
		record(t, s, "s", batch)
		sent = append(sent, batch...)
		equalCounts(t, fmt.Sprintf("after %d findings", len(sent)), getSweep(t, s, "s").GetCounts(), expectCounts(sent))
	}
	sw := getSweep(t, s, "s")
	c := sw.GetCounts()
	// The World has all of these; a zero would mean the reference is blind.
	if c.GetPass() == 0 || c.GetFail() == 0 || c.GetNotAssessed() == 0 || c.GetSuppressed() == 0 || len(c.GetFailBySeverity()) != 3 ||
		c.GetAccounts() != 3 || c.GetRegions() != 3 {
		t.Errorf("counts of the world: %v", c)
	}
	if sw.GetState() != reportingv1.SweepState_SWEEP_STATE_RUNNING || sw.GetStartedAt() == nil || sw.GetFinalizedAt() != nil {
		t.Errorf("a sweep being recorded: %v", sw)
	}
	// Counts agree with the findings the store lists.
	if got := int64(len(listAll(t, s, "s", store.Filter{IncludeSuppressed: true}, 1000))); got != c.GetFindings() {
		t.Errorf("counts say %d findings, ListFindings lists %d", c.GetFindings(), got)
	}
}

func testFilters(t *testing.T, s store.Store) {
	world := World("s")
	record(t, s, "s", world)
	record(t, s, "other", World("other")) // another sweep never leaks in
	tests := map[string]store.Filter{
		"no filter (suppressed left out)":    {},
		"suppressed included":                {IncludeSuppressed: true},
		"one control":                        {ControlIDs: []string{"DPS-KMS-002"}},
		"two controls":                       {ControlIDs: []string{"DPS-LOG-003", "DPS-S3-001"}},
		"an unknown control":                 {ControlIDs: []string{"DPS-NOPE-999"}},
		"one severity":                       {Severities: []evaluationv1.Severity{crit}},
		"two severities":                     {Severities: []evaluationv1.Severity{low, high}},
		"one status":                         {Statuses: []evaluationv1.FindingStatus{fail}},
		"two statuses":                       {Statuses: []evaluationv1.FindingStatus{na, pass}},
		"one account":                        {AccountIDs: []string{acctB}},
		"two accounts, repeated":             {AccountIDs: []string{acctC, acctA, acctC}},
		"one region":                         {Regions: []string{"global"}},
		"two regions":                        {Regions: []string{"eu-west-1", "us-east-1"}},
		"status, account and severity":       {Statuses: []evaluationv1.FindingStatus{fail}, AccountIDs: []string{acctA}, Severities: []evaluationv1.Severity{high}},
		"every field":                        {ControlIDs: []string{"DPS-S3-001", "DPS-KMS-002"}, Severities: []evaluationv1.Severity{high, crit}, Statuses: []evaluationv1.FindingStatus{fail, na}, AccountIDs: []string{acctA, acctB}, Regions: []string{"us-east-1", "global"}, IncludeSuppressed: true},
		"every field, one value each":        {ControlIDs: []string{"DPS-S3-001"}, Severities: []evaluationv1.Severity{high}, Statuses: []evaluationv1.FindingStatus{fail}, AccountIDs: []string{acctA}, Regions: []string{"us-east-1"}},
		"fields that exclude each other":     {ControlIDs: []string{"DPS-S3-001"}, Severities: []evaluationv1.Severity{crit}},
		"account and region, suppressed too": {AccountIDs: []string{acctC}, Regions: []string{"eu-west-1"}, IncludeSuppressed: true},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			want := keys(expect(world, f))
			equalKeys(t, "ListFindings", keys(listAll(t, s, "s", f, 0)), want)
			equalKeys(t, "ListFindings in pages of 4", keys(listAll(t, s, "s", f, 4)), want)
			var streamed []*evaluationv1.Finding
			for fd, err := range s.Findings(context.Background(), "s", f) {
				if err != nil {
					t.Fatal(err)
				}
				streamed = append(streamed, fd)
			}
			equalKeys(t, "Findings", keys(streamed), want)
		})
	}
}

func testPaging(t *testing.T, s store.Store) {
	world := World("s")
	record(t, s, "s", world)
	f := store.Filter{IncludeSuppressed: true}
	want := keys(expect(world, f))
	for _, size := range []int{1, 2, 7, len(want) - 1, len(want), len(want) + 1} {
		t.Run(fmt.Sprintf("size %d", size), func(t *testing.T) {
			got := keys(listAll(t, s, "s", f, size))
			equalKeys(t, "pages", got, want)
			seen := map[string]bool{}
			for _, k := range got {
				if seen[k] {
					t.Errorf("%s listed twice", k)
				}
				seen[k] = true
			}
		})
	}
	// A page token stays valid while findings arrive: later pages carry on
	// from the last key, and pick up findings recorded after it.
	ctx := context.Background()
	page1, next, _, err := s.ListFindings(ctx, "s", f, store.Page{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	late := Finding("s", "999999999999", "us-east-1", "DPS-S3-001", "arn:aws:s3:::late", "", fail, high, false)
	early := Finding("s", "000000000000", "us-east-1", "DPS-S3-001", "arn:aws:s3:::early", "", fail, high, false)
	record(t, s, "s", []*evaluationv1.Finding{late, early})
	rest := listAllFrom(t, s, "s", f, 10, next)
	got := append(keys(page1), keys(rest)...)
	equalKeys(t, "pages around new findings", got, append(slices.Clone(want), key(late)))
}

func listAllFrom(t *testing.T, s store.Store, sweepID string, f store.Filter, size int, token string) []*evaluationv1.Finding {
	t.Helper()
	var all []*evaluationv1.Finding
	for token != "" {
		fs, next, _, err := s.ListFindings(context.Background(), sweepID, f, store.Page{Size: size, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		all, token = append(all, fs...), next
	}
	return all
}

func testBadTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	record(t, s, "s", World("s"))
	record(t, s, "t", World("t"))
	_, good, _, err := s.ListFindings(ctx, "s", store.Filter{}, store.Page{Size: 3})
	if err != nil || good == "" {
		t.Fatalf("ListFindings: token %q, %v", good, err)
	}
	_, sweepsToken, err := s.ListSweeps(ctx, reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED, store.Page{Size: 1})
	if err != nil || sweepsToken == "" {
		t.Fatalf("ListSweeps: token %q, %v", sweepsToken, err)
	}
	_, diffToken, _, err := s.Diff(ctx, "s", "t", nil, store.Filter{}, store.Page{Size: 1})
	if err != nil || diffToken == "" {
		t.Fatalf("Diff: token %q, %v", diffToken, err)
	}
	tests := map[string]func() error{
		"not base64": func() error {
			_, _, _, err := s.ListFindings(ctx, "s", store.Filter{}, store.Page{Token: "%%%"})
			return err
		},
		"base64 of garbage": func() error {
			_, _, _, err := s.ListFindings(ctx, "s", store.Filter{}, store.Page{Token: "aGVsbG8"})
			return err
		},
		"truncated": func() error {
			_, _, _, err := s.ListFindings(ctx, "s", store.Filter{}, store.Page{Token: good[:len(good)/2]})
			return err
		},
		"from another sweep": func() error {
			_, _, _, err := s.ListFindings(ctx, "t", store.Filter{}, store.Page{Token: good})
			return err
		},
		"from another filter": func() error {
			_, _, _, err := s.ListFindings(ctx, "s", store.Filter{IncludeSuppressed: true}, store.Page{Token: good})
			return err
		},
		"from ListSweeps, to ListFindings": func() error {
			_, _, _, err := s.ListFindings(ctx, "s", store.Filter{}, store.Page{Token: sweepsToken})
			return err
		},
		"from ListFindings, to ListSweeps": func() error {
			_, _, err := s.ListSweeps(ctx, reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED, store.Page{Token: good})
			return err
		},
		"from ListSweeps with another state": func() error {
			_, _, err := s.ListSweeps(ctx, reportingv1.SweepState_SWEEP_STATE_RUNNING, store.Page{Token: sweepsToken})
			return err
		},
		"from ListFindings, to Diff": func() error {
			_, _, _, err := s.Diff(ctx, "s", "t", nil, store.Filter{}, store.Page{Token: good})
			return err
		},
		"from Diff with other kinds": func() error {
			_, _, _, err := s.Diff(ctx, "s", "t", []reportingv1.DiffKind{reportingv1.DiffKind_DIFF_KIND_NEW}, store.Filter{}, store.Page{Token: diffToken})
			return err
		},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, store.ErrBadPageToken) {
				t.Errorf("got %v, want ErrBadPageToken", err)
			}
		})
	}
}

func testStream(t *testing.T, s store.Store) {
	ctx := context.Background()
	// More findings than one chunk of the stream reads, so it pages inside.
	var many []*evaluationv1.Finding
	for i := range 2345 {
		many = append(many, Finding("s", acctA, "us-east-1", fmt.Sprintf("DPS-X-%03d", i%40), fmt.Sprintf("arn:aws:s3:::b-%04d", (i*7919)%2345), "", []evaluationv1.FindingStatus{pass, fail}[i%2], high, false))
	}
	record(t, s, "s", many)
	for name, f := range map[string]store.Filter{"all": {}, "failing": {Statuses: []evaluationv1.FindingStatus{fail}}} {
		t.Run(name, func(t *testing.T) {
			var got []*evaluationv1.Finding
			for fd, err := range s.Findings(ctx, "s", f) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, fd)
			}
			equalKeys(t, "Findings", keys(got), keys(expect(many, f)))
		})
	}
	n := 0
	for _, err := range s.Findings(ctx, "s", store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 1500 {
			break // stopping early must be clean
		}
	}
	for _, err := range s.Findings(ctx, "nope", store.Filter{}) {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Findings of an unknown sweep: %v, want ErrNotFound", err)
		}
	}
}

func testListSweeps(t *testing.T, s store.Store) {
	ctx := context.Background()
	ids := []string{"s1", "s2", "s3", "s4", "s5"}
	for _, id := range ids {
		record(t, s, id, World(id)[:3])
	}
	final := map[string]reportingv1.SweepState{
		"s2": reportingv1.SweepState_SWEEP_STATE_COMPLETED,
		"s3": reportingv1.SweepState_SWEEP_STATE_FAILED,
		"s5": reportingv1.SweepState_SWEEP_STATE_COMPLETED,
	}
	for id, st := range final {
		if _, err := s.FinalizeSweep(ctx, id, st, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		state reportingv1.SweepState
		want  []string
	}{
		"all":       {reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED, []string{"s5", "s4", "s3", "s2", "s1"}},
		"running":   {reportingv1.SweepState_SWEEP_STATE_RUNNING, []string{"s4", "s1"}},
		"completed": {reportingv1.SweepState_SWEEP_STATE_COMPLETED, []string{"s5", "s2"}},
		"failed":    {reportingv1.SweepState_SWEEP_STATE_FAILED, []string{"s3"}},
		"cancelled": {reportingv1.SweepState_SWEEP_STATE_CANCELLED, nil},
	}
	for name, tt := range tests {
		for _, size := range []int{0, 1, 2} {
			t.Run(fmt.Sprintf("%s, pages of %d", name, size), func(t *testing.T) {
				var got []string
				token := ""
				for {
					sw, next, err := s.ListSweeps(ctx, tt.state, store.Page{Size: size, Token: token})
					if err != nil {
						t.Fatal(err)
					}
					for _, x := range sw {
						got = append(got, x.GetSweepId())
						if want := expectCounts(World(x.GetSweepId())[:3]); !proto.Equal(x.GetCounts(), want) {
							t.Errorf("%s counts %v, want %v", x.GetSweepId(), x.GetCounts(), want)
						}
						if x.GetState() != tt.state && tt.state != reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED {
							t.Errorf("%s is %v, listed as %v", x.GetSweepId(), x.GetState(), tt.state)
						}
					}
					if next == "" {
						break
					}
					token = next
				}
				equalKeys(t, "sweeps", got, tt.want)
			})
		}
	}
	all, _, err := s.ListSweeps(ctx, reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].GetStartedAt().AsTime().After(all[i-1].GetStartedAt().AsTime()) {
			t.Errorf("%s started after %s but is listed later", all[i].GetSweepId(), all[i-1].GetSweepId())
		}
	}
}

// diffPair records a crafted base and newer sweep: every kind of change, with
// suppressed findings on both sides, across two accounts and two controls.
func diffPair(t *testing.T, s store.Store) {
	type side struct {
		status     evaluationv1.FindingStatus
		suppressed bool
	}
	none := side{}
	rows := []struct {
		account, control, arn string
		base, now             side
	}{
		{acctA, "DPS-S3-001", "unchanged", side{fail, false}, side{fail, false}},
		{acctA, "DPS-S3-001", "fixed", side{fail, false}, side{pass, false}},
		{acctA, "DPS-S3-001", "deleted", side{fail, false}, none},
		{acctA, "DPS-S3-001", "unsuppressed", side{fail, true}, side{fail, false}},
		{acctA, "DPS-S3-001", "now-suppressed", side{fail, false}, side{fail, true}},
		{acctA, "DPS-S3-001", "suppressed-both", side{fail, true}, side{fail, true}},
		{acctA, "DPS-S3-001", "created", none, side{fail, false}},
		{acctA, "DPS-S3-001", "broke", side{pass, false}, side{fail, false}},
		{acctA, "DPS-S3-001", "pass-both", side{pass, false}, side{pass, false}},
		{acctA, "DPS-S3-001", "not-assessed-now", side{fail, false}, side{na, false}},
		{acctB, "DPS-KMS-002", "unchanged", side{fail, false}, side{fail, false}},
		{acctB, "DPS-KMS-002", "created", none, side{fail, false}},
		{acctB, "DPS-KMS-002", "deleted", side{fail, false}, none},
	}
	var base, now []*evaluationv1.Finding
	sev := map[string]evaluationv1.Severity{"DPS-S3-001": high, "DPS-KMS-002": crit}
	for _, r := range rows {
		if r.base != none {
			base = append(base, Finding("base", r.account, "us-east-1", r.control, "arn:aws:s3:::"+r.arn, "", r.base.status, sev[r.control], r.base.suppressed))
		}
		if r.now != none {
			now = append(now, Finding("now", r.account, "us-east-1", r.control, "arn:aws:s3:::"+r.arn, "", r.now.status, sev[r.control], r.now.suppressed))
		}
	}
	record(t, s, "base", base)
	record(t, s, "now", now)
}

func diffAll(t *testing.T, s store.Store, kinds []reportingv1.DiffKind, f store.Filter, size int) ([]string, *reportingv1.DiffCounts, []*reportingv1.FindingChange) {
	t.Helper()
	var got []string
	var changes []*reportingv1.FindingChange
	var counts *reportingv1.DiffCounts
	token := ""
	for {
		page, next, c, err := s.Diff(context.Background(), "base", "now", kinds, f, store.Page{Size: size, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		if counts != nil && !proto.Equal(c, counts) {
			t.Fatalf("counts changed between pages: %v then %v", counts, c)
		}
		counts = c
		if size > 0 && len(page) > size {
			t.Fatalf("page of %d changes, asked for %d", len(page), size)
		}
		for _, ch := range page {
			got = append(got, change(ch.GetKind(), ch.GetFinding()))
		}
		changes = append(changes, page...)
		if next == "" {
			return got, counts, changes
		}
		token = next
	}
}

func testDiff(t *testing.T, s store.Store) {
	diffPair(t, s)
	a := func(account, control, arn string) string {
		return strings.Join([]string{account, "us-east-1", control, "arn:aws:s3:::" + arn, ""}, "|")
	}
	tests := map[string]struct {
		f      store.Filter
		want   []string
		counts *reportingv1.DiffCounts
	}{
		"suppressed left out": {
			f: store.Filter{},
			want: []string{
				"NEW " + a(acctA, "DPS-S3-001", "broke"),
				"NEW " + a(acctA, "DPS-S3-001", "created"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "deleted"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "fixed"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "not-assessed-now"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "now-suppressed"),
				"UNCHANGED " + a(acctA, "DPS-S3-001", "unchanged"),
				"NEW " + a(acctA, "DPS-S3-001", "unsuppressed"),
				"NEW " + a(acctB, "DPS-KMS-002", "created"),
				"RESOLVED " + a(acctB, "DPS-KMS-002", "deleted"),
				"UNCHANGED " + a(acctB, "DPS-KMS-002", "unchanged"),
			},
			counts: &reportingv1.DiffCounts{New: 4, Resolved: 5, Unchanged: 2},
		},
		"suppressed included": {
			f: store.Filter{IncludeSuppressed: true},
			want: []string{
				"NEW " + a(acctA, "DPS-S3-001", "broke"),
				"NEW " + a(acctA, "DPS-S3-001", "created"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "deleted"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "fixed"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "not-assessed-now"),
				"UNCHANGED " + a(acctA, "DPS-S3-001", "now-suppressed"),
				"UNCHANGED " + a(acctA, "DPS-S3-001", "suppressed-both"),
				"UNCHANGED " + a(acctA, "DPS-S3-001", "unchanged"),
				"UNCHANGED " + a(acctA, "DPS-S3-001", "unsuppressed"),
				"NEW " + a(acctB, "DPS-KMS-002", "created"),
				"RESOLVED " + a(acctB, "DPS-KMS-002", "deleted"),
				"UNCHANGED " + a(acctB, "DPS-KMS-002", "unchanged"),
			},
			counts: &reportingv1.DiffCounts{New: 3, Resolved: 4, Unchanged: 5},
		},
		"one account": {
			f: store.Filter{AccountIDs: []string{acctB}},
			want: []string{
				"NEW " + a(acctB, "DPS-KMS-002", "created"),
				"RESOLVED " + a(acctB, "DPS-KMS-002", "deleted"),
				"UNCHANGED " + a(acctB, "DPS-KMS-002", "unchanged"),
			},
			counts: &reportingv1.DiffCounts{New: 1, Resolved: 1, Unchanged: 1},
		},
		"one severity and one control": {
			f: store.Filter{Severities: []evaluationv1.Severity{high}, ControlIDs: []string{"DPS-S3-001"}, Regions: []string{"us-east-1"}},
			want: []string{
				"NEW " + a(acctA, "DPS-S3-001", "broke"),
				"NEW " + a(acctA, "DPS-S3-001", "created"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "deleted"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "fixed"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "not-assessed-now"),
				"RESOLVED " + a(acctA, "DPS-S3-001", "now-suppressed"),
				"UNCHANGED " + a(acctA, "DPS-S3-001", "unchanged"),
				"NEW " + a(acctA, "DPS-S3-001", "unsuppressed"),
			},
			counts: &reportingv1.DiffCounts{New: 3, Resolved: 4, Unchanged: 1},
		},
		"statuses without FAIL": {
			f:      store.Filter{Statuses: []evaluationv1.FindingStatus{pass, na}},
			counts: &reportingv1.DiffCounts{},
		},
		"statuses with FAIL": {
			f: store.Filter{Statuses: []evaluationv1.FindingStatus{pass, fail}, AccountIDs: []string{acctB}},
			want: []string{
				"NEW " + a(acctB, "DPS-KMS-002", "created"),
				"RESOLVED " + a(acctB, "DPS-KMS-002", "deleted"),
				"UNCHANGED " + a(acctB, "DPS-KMS-002", "unchanged"),
			},
			counts: &reportingv1.DiffCounts{New: 1, Resolved: 1, Unchanged: 1},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, counts, changes := diffAll(t, s, nil, tt.f, 0)
			equalKeys(t, "changes", got, tt.want)
			if !proto.Equal(counts, tt.counts) {
				t.Errorf("counts %v, want %v", counts, tt.counts)
			}
			for _, ch := range changes {
				want := "now"
				if ch.GetKind() == reportingv1.DiffKind_DIFF_KIND_RESOLVED {
					want = "base"
				}
				if ch.GetFinding().GetSweepId() != want {
					t.Errorf("%s carries the finding of sweep %q, want %q", change(ch.GetKind(), ch.GetFinding()), ch.GetFinding().GetSweepId(), want)
				}
			}
		})
	}
}

func testDiffPaging(t *testing.T, s store.Store) {
	diffPair(t, s)
	all, allCounts, _ := diffAll(t, s, nil, store.Filter{IncludeSuppressed: true}, 0)
	kinds := map[string][]reportingv1.DiffKind{
		"all":                    nil,
		"new":                    {reportingv1.DiffKind_DIFF_KIND_NEW},
		"resolved":               {reportingv1.DiffKind_DIFF_KIND_RESOLVED},
		"unchanged":              {reportingv1.DiffKind_DIFF_KIND_UNCHANGED},
		"new and resolved":       {reportingv1.DiffKind_DIFF_KIND_RESOLVED, reportingv1.DiffKind_DIFF_KIND_NEW},
		"all three, by name":     {reportingv1.DiffKind_DIFF_KIND_NEW, reportingv1.DiffKind_DIFF_KIND_RESOLVED, reportingv1.DiffKind_DIFF_KIND_UNCHANGED},
		"new, asked for twice":   {reportingv1.DiffKind_DIFF_KIND_NEW, reportingv1.DiffKind_DIFF_KIND_NEW},
		"unchanged and new":      {reportingv1.DiffKind_DIFF_KIND_UNCHANGED, reportingv1.DiffKind_DIFF_KIND_NEW},
		"resolved and unchanged": {reportingv1.DiffKind_DIFF_KIND_RESOLVED, reportingv1.DiffKind_DIFF_KIND_UNCHANGED},
	}
	for name, ks := range kinds {
		var want []string
		for _, c := range all {
			k, _, _ := strings.Cut(c, " ")
			if len(ks) == 0 || slices.Contains(ks, reportingv1.DiffKind(reportingv1.DiffKind_value["DIFF_KIND_"+k])) {
				want = append(want, c)
			}
		}
		for _, size := range []int{1, 2, 5, 100} {
			t.Run(fmt.Sprintf("%s, pages of %d", name, size), func(t *testing.T) {
				got, counts, _ := diffAll(t, s, ks, store.Filter{IncludeSuppressed: true}, size)
				equalKeys(t, "changes", got, want)
				if !proto.Equal(counts, allCounts) {
					t.Errorf("counts %v, want %v whatever the kinds", counts, allCounts)
				}
			})
		}
	}
	if _, _, _, err := s.Diff(context.Background(), "base", "now", []reportingv1.DiffKind{reportingv1.DiffKind_DIFF_KIND_UNSPECIFIED}, store.Filter{}, store.Page{}); err == nil {
		t.Error("Diff with kind UNSPECIFIED succeeded")
	}
}

func testAssessed(t *testing.T, s store.Store) {
	ctx := context.Background()
	world := World("s")
	record(t, s, "s", world[:4], store.Scope{Account: acctB, Region: "us-east-1"}, store.Scope{Account: acctA, Region: "global"})
	record(t, s, "s", world[4:8], store.Scope{Account: acctA, Region: "global"}, store.Scope{Account: acctA, Region: "eu-west-1"}, store.Scope{Account: acctA, Region: "eu-west-1"})
	record(t, s, "s", world[:4], store.Scope{Account: acctB, Region: "us-east-1"})
	record(t, s, "bare", nil)
	got, err := s.Assessed(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Scope{{Account: acctA, Region: "eu-west-1"}, {Account: acctA, Region: "global"}, {Account: acctB, Region: "us-east-1"}}
	if !slices.Equal(got, want) {
		t.Errorf("Assessed: %v, want %v", got, want)
	}
	if got, err := s.Assessed(ctx, "bare"); err != nil || len(got) != 0 {
		t.Errorf("Assessed of a sweep without scopes: %v, %v", got, err)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	record(t, s, "s", World("s")[:2])
	tests := map[string]func() error{
		"GetSweep": func() error { _, err := s.GetSweep(ctx, "nope"); return err },
		"ListFindings": func() error {
			_, _, _, err := s.ListFindings(ctx, "nope", store.Filter{}, store.Page{})
			return err
		},
		"Diff, unknown base": func() error {
			_, _, _, err := s.Diff(ctx, "nope", "s", nil, store.Filter{}, store.Page{})
			return err
		},
		"Diff, unknown sweep": func() error {
			_, _, _, err := s.Diff(ctx, "s", "nope", nil, store.Filter{}, store.Page{})
			return err
		},
		"Assessed": func() error { _, err := s.Assessed(ctx, "nope"); return err },
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
		})
	}
}

func testEmptyCall(t *testing.T, s store.Store) {
	if ins, dup := record(t, s, "s", nil, store.Scope{Account: acctA, Region: "global"}); ins != 0 || dup != 0 {
		t.Errorf("inserted %d, duplicates %d; want 0, 0", ins, dup)
	}
	sw := getSweep(t, s, "s")
	if sw.GetState() != reportingv1.SweepState_SWEEP_STATE_RUNNING || sw.GetStartedAt() == nil {
		t.Errorf("sweep created by an empty call: %v", sw)
	}
	equalCounts(t, "empty sweep", sw.GetCounts(), &reportingv1.SweepCounts{})
	if fs := listAll(t, s, "s", store.Filter{IncludeSuppressed: true}, 0); len(fs) != 0 {
		t.Errorf("an empty sweep lists %d findings", len(fs))
	}
}

func testBadBatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	world := World("s")
	if _, _, err := s.RecordFindings(ctx, "s", []*evaluationv1.Finding{world[0], nil}, nil); err == nil {
		t.Fatal("RecordFindings with a nil finding succeeded")
	}
	if _, err := s.GetSweep(ctx, "s"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused batch left a sweep behind: %v", err)
	}
	if _, _, err := s.RecordFindings(ctx, "", world[:1], nil); err == nil {
		t.Error("RecordFindings with an empty sweep ID succeeded")
	}
}
