package store

import (
	"context"
	"fmt"
	"iter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// reader is what each engine answers; listing, streaming and diffing are
// built on it once, for both.
type reader interface {
	// sweepExists returns ErrNotFound (wrapped, naming the sweep) for a
	// sweep that does not exist.
	sweepExists(ctx context.Context, sweepID string) error
	// findingsAfter returns up to limit findings of a sweep matching f, in
	// key order, strictly after key after (nil: from the first).
	findingsAfter(ctx context.Context, sweepID string, f filter, after *findingKey, limit int) ([]*evaluationv1.Finding, error)
	// countFindings counts a sweep's findings matching f over the findings.
	countFindings(ctx context.Context, sweepID string, f filter) (int64, error)
	// countTallies counts a sweep's findings matching f, which names no
	// account, from sweep_scope_tallies.
	countTallies(ctx context.Context, sweepID string, f filter) (int64, error)
	// countCommon counts the keys present, matching f, in both sweeps.
	countCommon(ctx context.Context, a, b string, f filter) (int64, error)
}

func listFindings(ctx context.Context, r reader, sweepID string, fl Filter, page Page) ([]*evaluationv1.Finding, string, int64, error) {
	f := normalize(fl)
	q := findingsQuery(sweepID, f)
	after, err := decodeFindingToken(page.Token, q)
	if err != nil {
		return nil, "", 0, err
	}
	if err := r.sweepExists(ctx, sweepID); err != nil {
		return nil, "", 0, err
	}
	size := pageSize(page.Size, defaultFindingsPage, maxFindingsPage)
	total, err := count(ctx, r, sweepID, f)
	if err != nil {
		return nil, "", 0, err
	}
	if total == 0 {
		// Nothing to look for: a filter that matches nothing must not cost a
		// walk through the sweep's findings in search of a first match.
		return nil, "", 0, nil
	}
	fs, err := r.findingsAfter(ctx, sweepID, f, after, size+1)
	if err != nil {
		return nil, "", 0, err
	}
	next := ""
	if len(fs) > size {
		fs = fs[:size]
		next = encodeToken(q, keySlice(keyOf(fs[size-1])))
	}
	return fs, next, total, nil
}

func keySlice(k findingKey) []string { return k[:] }

// count counts a sweep's findings matching f: from the scope tallies when f
// names no account (a few rows whatever the sweep's size), else over the
// findings of the accounts it names.
func count(ctx context.Context, r reader, sweepID string, f filter) (int64, error) {
	switch {
	case f.none:
		return 0, nil
	case len(f.accounts) == 0:
		return r.countTallies(ctx, sweepID, f)
	}
	return r.countFindings(ctx, sweepID, f)
}

func streamFindings(ctx context.Context, r reader, sweepID string, fl Filter) iter.Seq2[*evaluationv1.Finding, error] {
	f := normalize(fl)
	return func(yield func(*evaluationv1.Finding, error) bool) {
		if err := r.sweepExists(ctx, sweepID); err != nil {
			yield(nil, err)
			return
		}
		c := cursor{r: r, sweepID: sweepID, f: f, chunk: streamChunk}
		for {
			fd, err := c.peek(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			if fd == nil {
				return
			}
			c.advance()
			if !yield(fd, nil) {
				return
			}
		}
	}
}

// cursor walks a sweep's matching findings in key order, a chunk per query.
// A chunk is read whole before it is handed out, so no query stays open
// while the caller works.
type cursor struct {
	r       reader
	sweepID string
	f       filter
	after   *findingKey
	chunk   int
	buf     []*evaluationv1.Finding
	i       int
	done    bool
}

func (c *cursor) peek(ctx context.Context) (*evaluationv1.Finding, error) {
	if c.i < len(c.buf) {
		return c.buf[c.i], nil
	}
	if c.done {
		return nil, nil
	}
	buf, err := c.r.findingsAfter(ctx, c.sweepID, c.f, c.after, c.chunk)
	if err != nil {
		return nil, err
	}
	c.buf, c.i, c.done = buf, 0, len(buf) < c.chunk
	if len(buf) == 0 {
		return nil, nil
	}
	k := keyOf(buf[len(buf)-1])
	c.after = &k
	return buf[0], nil
}

func (c *cursor) advance() { c.i++ }

func diff(ctx context.Context, r reader, base, sweepID string, kinds []reportingv1.DiffKind, fl Filter, page Page) ([]*reportingv1.FindingChange, string, *reportingv1.DiffCounts, error) {
	set, err := kindSet(kinds)
	if err != nil {
		return nil, "", nil, err
	}
	f := normalize(fl).failing()
	q := diffQuery(base, sweepID, set, f)
	after, err := decodeFindingToken(page.Token, q)
	if err != nil {
		return nil, "", nil, err
	}
	for _, id := range []string{base, sweepID} {
		if err := r.sweepExists(ctx, id); err != nil {
			return nil, "", nil, err
		}
	}

	size := pageSize(page.Size, defaultFindingsPage, maxFindingsPage)
	chunk := min(streamChunk, max(size+1, 100))
	now := cursor{r: r, sweepID: sweepID, f: f, after: after, chunk: chunk}
	was := cursor{r: r, sweepID: base, f: f, after: after, chunk: chunk}
	var changes []*reportingv1.FindingChange
	for len(changes) <= size {
		n, err := now.peek(ctx)
		if err != nil {
			return nil, "", nil, err
		}
		b, err := was.peek(ctx)
		if err != nil {
			return nil, "", nil, err
		}
		var ch *reportingv1.FindingChange
		switch {
		case n == nil && b == nil:
		case b == nil || (n != nil && compareKeys(keyOf(n), keyOf(b)) < 0):
			ch = &reportingv1.FindingChange{Kind: reportingv1.DiffKind_DIFF_KIND_NEW, Finding: n}
			now.advance()
		case n == nil || compareKeys(keyOf(n), keyOf(b)) > 0:
			ch = &reportingv1.FindingChange{Kind: reportingv1.DiffKind_DIFF_KIND_RESOLVED, Finding: b}
			was.advance()
		default:
			ch = &reportingv1.FindingChange{Kind: reportingv1.DiffKind_DIFF_KIND_UNCHANGED, Finding: n}
			now.advance()
			was.advance()
		}
		if ch == nil {
			break
		}
		if set&(1<<ch.Kind) != 0 {
			changes = append(changes, ch)
		}
	}
	next := ""
	if len(changes) > size {
		changes = changes[:size]
		next = encodeToken(q, keySlice(keyOf(changes[size-1].Finding)))
	}

	nNow, err := count(ctx, r, sweepID, f)
	if err != nil {
		return nil, "", nil, err
	}
	nWas, err := count(ctx, r, base, f)
	if err != nil {
		return nil, "", nil, err
	}
	both, err := r.countCommon(ctx, sweepID, base, f)
	if err != nil {
		return nil, "", nil, err
	}
	counts := &reportingv1.DiffCounts{New: nNow - both, Resolved: nWas - both, Unchanged: both}
	return changes, next, counts, nil
}

func notFound(sweepID string) error {
	return fmt.Errorf("store: sweep %q: %w", sweepID, ErrNotFound)
}

// micros truncates t to the microsecond, the precision both engines keep.
func micros(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func timestampMicros(t time.Time) *timestamppb.Timestamp { return timestamppb.New(micros(t)) }
