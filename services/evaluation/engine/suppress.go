package engine

import (
	"time"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

// activeSuppressions are the suppressions that have not expired, the
// server's first.
func activeSuppressions(now time.Time, lists ...[]*evaluationv1.Suppression) []*evaluationv1.Suppression {
	var out []*evaluationv1.Suppression
	for _, l := range lists {
		for _, s := range l {
			if s.GetExpiresAt().AsTime().After(now) {
				out = append(out, s)
			}
		}
	}
	return out
}

// match returns the first suppression that covers the finding.
func match(active []*evaluationv1.Suppression, f *evaluationv1.Finding) *evaluationv1.Suppression {
	for _, s := range active {
		if Covers(s, f) {
			return s
		}
	}
	return nil
}

// Covers reports whether a suppression applies to a finding (expiry aside).
func Covers(s *evaluationv1.Suppression, f *evaluationv1.Finding) bool {
	any := func(want, got string) bool { return want == "" || want == "*" || want == got }
	return (s.GetControlId() == "*" || s.GetControlId() == f.GetControlId()) &&
		any(s.GetAccountId(), f.GetAccountId()) && any(s.GetRegion(), f.GetRegion()) &&
		(s.GetResourcePattern() == "" || Glob(s.GetResourcePattern(), f.GetResourceArn()))
}

// Glob matches s against a pattern where "*" stands for any run of
// characters (slashes and colons included) and everything else for itself.
func Glob(pattern, s string) bool {
	// Iterative wildcard matching with backtracking to the last star: linear
	// in practice, never exponential.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
