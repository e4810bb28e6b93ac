// Package store keeps findings per sweep behind one interface with two
// engines: SQLite (pure Go, the embedded default) and PostgreSQL (pgx, for
// teams). Both apply versioned schema migrations at open, and both pass the
// same tests (package storetest).
package store

import (
	"context"
	"errors"
	"iter"
	"time"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// ErrNotFound is returned for a sweep that does not exist.
var ErrNotFound = errors.New("not found")

// ErrBadPageToken is returned for a page token the store did not give.
var ErrBadPageToken = errors.New("bad page token")

// ErrFinalized is returned when findings arrive for, or a second final
// state is set on, a sweep that was already finalized.
var ErrFinalized = errors.New("sweep already finalized")

// Scope is one (account, region) pair a sweep assessed; region is "global"
// for account-wide services.
type Scope struct {
	Account, Region string
}

// Filter narrows findings; empty fields match everything, values within a
// field are alternatives, fields combine with AND. Suppressed findings are
// left out unless IncludeSuppressed.
type Filter struct {
	ControlIDs        []string
	Severities        []evaluationv1.Severity
	Statuses          []evaluationv1.FindingStatus
	AccountIDs        []string
	Regions           []string
	IncludeSuppressed bool
}

// Page asks for one page: at most Size items after Token ("" for the first).
type Page struct {
	Size  int
	Token string
}

// Store is the findings store.
type Store interface {
	// RecordFindings stores findings of a sweep, creating the sweep (RUNNING,
	// started now) on first use, and records the scopes they complete. A
	// finding is keyed by (sweep, account, region, control, resource ARN,
	// field path): storing it again changes nothing and counts as a
	// duplicate. Every finding's SweepId is set to sweepID.
	RecordFindings(ctx context.Context, sweepID string, findings []*evaluationv1.Finding, assessed []Scope) (inserted, duplicates int, err error)
	// FinalizeSweep sets a final state (COMPLETED, CANCELLED or FAILED) and
	// the time; finalizing again with the same state is a no-op.
	FinalizeSweep(ctx context.Context, sweepID string, state reportingv1.SweepState, at time.Time) (*reportingv1.Sweep, error)
	// GetSweep returns a sweep with its counts.
	GetSweep(ctx context.Context, sweepID string) (*reportingv1.Sweep, error)
	// ListSweeps lists sweeps newest first (by start time, then ID);
	// state UNSPECIFIED means all.
	ListSweeps(ctx context.Context, state reportingv1.SweepState, page Page) (sweeps []*reportingv1.Sweep, next string, err error)
	// ListFindings lists a sweep's findings matching the filter in a stable
	// order (account, region, control, resource ARN, field path), paged,
	// with the total that match.
	ListFindings(ctx context.Context, sweepID string, f Filter, page Page) (findings []*evaluationv1.Finding, next string, total int64, err error)
	// Findings streams every matching finding in the same order, for exports.
	Findings(ctx context.Context, sweepID string, f Filter) iter.Seq2[*evaluationv1.Finding, error]
	// Diff compares the failing findings (FAIL, suppressed or not per the
	// filter) of sweepID with those of base: NEW (failing now only),
	// RESOLVED (failing in base only), UNCHANGED (failing in both); findings
	// match on (account, region, control, resource ARN, field path). Kinds
	// empty means all. Counts are over every page.
	Diff(ctx context.Context, base, sweepID string, kinds []reportingv1.DiffKind, f Filter, page Page) (changes []*reportingv1.FindingChange, next string, counts *reportingv1.DiffCounts, err error)
	// Assessed returns the scopes a sweep recorded as assessed, sorted.
	Assessed(ctx context.Context, sweepID string) ([]Scope, error)
	// Close releases the store.
	Close() error
}
