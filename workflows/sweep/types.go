// Package sweep holds the Temporal workflows of an organization sweep:
// SweepWorkflow fans out over the organization's accounts, and one
// AccountSweep child per account scans its regions. This file holds the
// names, task queue and business-key workflow IDs that the workers, the
// SweepService and the Temporal UI agree on.
package sweep

import (
	"fmt"
	"strings"
)

// TaskQueue is the task queue the sweep workers poll.
const TaskQueue = "dpsweep-sweep"

// Workflow type names, stable across versions.
const (
	SweepWorkflowName        = "SweepWorkflow"
	AccountSweepWorkflowName = "AccountSweep"
)

// SweepWorkflowID is the workflow ID of one sweep: "sweep/<sweepID>".
func SweepWorkflowID(sweepID string) string {
	return "sweep/" + sweepID
}

// AccountSweepWorkflowID is the workflow ID of one account's child workflow:
// "sweep/<sweepID>/account/<accountID>".
func AccountSweepWorkflowID(sweepID, accountID string) string {
	return fmt.Sprintf("sweep/%s/account/%s", sweepID, accountID)
}

// SweepIDFromWorkflowID is the sweep ID of a sweep workflow ID: the part
// after "sweep/", with every character a sweep ID may not hold (the colons
// of a scheduled run's timestamp) replaced by "-".
func SweepIDFromWorkflowID(workflowID string) string {
	id := strings.TrimPrefix(workflowID, "sweep/")
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

// ReplayTestKeyring is the payload key the replay histories in
// testdata/histories were recorded with (tests/sweep_test.go,
// TestRecordReplayHistories). It protects nothing: never use it elsewhere.
const ReplayTestKeyring = "replay-test:ZHBzd2VlcCByZXBsYXkgdGVzdCBrZXksIHB1YmxpYyE="
