package collect

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dpsweep/dpsweep/awssim/server"
)

const policyFile = "../../../deploy/iam/dpsweep-scanner-policy.json"

// iamAction maps an API operation to the IAM action that authorises it,
// where the two names differ.
var iamAction = map[string]string{
	"s3:ListBuckets":          "s3:ListAllMyBuckets",
	"s3:GetBucketEncryption":  "s3:GetEncryptionConfiguration",
	"s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
}

type policyDoc struct {
	Version   string
	Statement []struct {
		Sid      string
		Effect   string
		Action   []string
		Resource string
	}
}

// scannerPolicy renders the least-privilege policy from the collectors' actions.
func scannerPolicy() []byte {
	b, _ := json.MarshalIndent(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid": "DpsweepReadOnlyCollection", "Effect": "Allow", "Action": Actions(), "Resource": "*",
		}},
	}, "", "  ")
	return append(b, '\n')
}

// TestScannerPolicyMatchesWhatCollectorsCall: the policy shipped under
// deploy/ grants exactly the actions the collectors call against the
// simulator — nothing missing, nothing extra. Set DPSWEEP_UPDATE_POLICY=1
// to rewrite the file after adding a collector.
func TestScannerPolicyMatchesWhatCollectorsCall(t *testing.T) {
	if os.Getenv("DPSWEEP_UPDATE_POLICY") != "" {
		if err := os.WriteFile(policyFile, scannerPolicy(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatalf("%v (run with DPSWEEP_UPDATE_POLICY=1 to write it)", err)
	}
	var doc policyDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", filepath.Base(policyFile), err)
	}
	var granted []string
	for _, st := range doc.Statement {
		granted = append(granted, st.Action...)
	}
	slices.Sort(granted)
	if !slices.Equal(granted, Actions()) {
		t.Fatalf("%s grants %v;\ncollectors declare %v\n(run with DPSWEEP_UPDATE_POLICY=1)", policyFile, granted, Actions())
	}

	// Run every collector against the simulator, over every member account
	// of a world with many violations (so inline policies, launch
	// constraints and weak TLS callers exist), and read its counters.
	o := genOpts(6)
	o.ViolationRate = 0.7
	f := start(t, o, server.Faults{}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mgmt := Target{Account: f.sim.World.ManagementAccount, RoleName: ""}
	f.collect(t, mgmt, global, "", "organizations.accounts")
	for _, a := range f.sim.World.Accounts[1:] {
		a, _ := f.sim.World.Account(a.ID)
		f.collect(t, f.target(a), global, "")
		f.collect(t, f.target(a), regional, home(a))
	}
	// The GetBucketLocation fallback, for ListBuckets answers without regions.
	useListedRegion = false
	f.collect(t, f.target(f.member), global, "", "s3.buckets")
	useListedRegion = true
	member := f.target(f.member)
	if _, err := Describe(ctx, f.sessions, member); err != nil {
		t.Fatal(err)
	}
	f.sim.Server.SetFaults(server.Faults{Deny: []server.DenyRule{{Operation: "account:ListRegions"}}})
	if _, err := Describe(ctx, f.sessions, member); err != nil {
		t.Fatalf("Describe with account:ListRegions denied: %v", err)
	}
	called := map[string]bool{}
	for k := range f.sim.Server.Counts() {
		op := k.Service + ":" + k.Operation
		if op == "sts:AssumeRole" {
			continue // the caller's permission, not the scanner role's
		}
		if a, ok := iamAction[op]; ok {
			op = a
		}
		called[op] = true
	}
	var got []string
	for a := range called {
		got = append(got, a)
	}
	slices.Sort(got)
	if !slices.Equal(got, Actions()) {
		missing, extra := diff(Actions(), got), diff(got, Actions())
		t.Fatalf("declared but never called: %v\ncalled but not declared: %v", missing, extra)
	}
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
