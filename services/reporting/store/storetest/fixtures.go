package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/store"
)

// Shorthands for enum values.
const (
	pass  = evaluationv1.FindingStatus_FINDING_STATUS_PASS
	fail  = evaluationv1.FindingStatus_FINDING_STATUS_FAIL
	na    = evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED
	info  = evaluationv1.Severity_SEVERITY_INFORMATIONAL
	low   = evaluationv1.Severity_SEVERITY_LOW
	med   = evaluationv1.Severity_SEVERITY_MEDIUM
	high  = evaluationv1.Severity_SEVERITY_HIGH
	crit  = evaluationv1.Severity_SEVERITY_CRITICAL
	acctA = "111111111111"
	acctB = "222222222222"
	acctC = "333333333333"
)

var observed = time.Date(2026, 11, 2, 9, 30, 15, 123456789, time.UTC)

// Finding returns a finding with every field set, so that a round trip
// through a store shows any field it loses.
func Finding(sweepID, account, region, control, arn, field string, status evaluationv1.FindingStatus, sev evaluationv1.Severity, suppressed bool) *evaluationv1.Finding {
	f := &evaluationv1.Finding{
		Id:           fmt.Sprintf("f-%s-%s-%s-%s-%s", account, region, control, arn, field),
		SweepId:      sweepID,
		ControlId:    control,
		Severity:     sev,
		Status:       status,
		AccountId:    account,
		Region:       region,
		ResourceArn:  arn,
		ResourceType: "AWS::S3::Bucket",
		FieldPath:    field,
		Evidence: &evaluationv1.Evidence{
			Summary:      "bucket policy has no aws:SecureTransport deny",
			RedactedText: "owner <AWS_ACCOUNT_ID> — naïve ✓",
			EntityTypes:  []string{"AWS_ACCOUNT_ID", "EMAIL_ADDRESS"},
		},
		Suppressed: suppressed,
		ObservedAt: timestamppb.New(observed),
		Title:      "Buckets refuse plain HTTP",
	}
	if status == na {
		f.NotAssessedReason = evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED
	}
	if suppressed {
		f.Suppression = &evaluationv1.Suppression{
			Id:              "sup-1",
			ControlId:       control,
			AccountId:       account,
			Region:          "*",
			ResourcePattern: "arn:aws:s3:::*",
			Justification:   "accepted by the data owner",
			ExpiresAt:       timestamppb.New(observed.Add(90 * 24 * time.Hour)),
		}
	}
	return f
}

// World returns a sweep's worth of findings over three accounts, three
// regions and three controls, with every status, several severities and some
// suppressed findings, in no particular order.
func World(sweepID string) []*evaluationv1.Finding {
	controls := []struct {
		id  string
		sev evaluationv1.Severity
	}{{"DPS-S3-001", high}, {"DPS-KMS-002", crit}, {"DPS-LOG-003", low}}
	var out []*evaluationv1.Finding
	i := 0
	for _, account := range []string{acctC, acctA, acctB} {
		for _, region := range []string{"us-east-1", "global", "eu-west-1"} {
			for _, c := range controls {
				for r := range 3 {
					status := []evaluationv1.FindingStatus{fail, pass, fail, na, pass}[i%5]
					field := ""
					if r == 2 {
						field = "Tags[0].Value"
					}
					arn := fmt.Sprintf("arn:aws:s3:::%s-%s-bucket-%d", account, region, r%2)
					out = append(out, Finding(sweepID, account, region, c.id, arn, field, status, c.sev, i%7 == 3))
					i++
				}
			}
		}
	}
	// A deterministic shuffle, so stores cannot rely on insertion order.
	slices.SortFunc(out, func(a, b *evaluationv1.Finding) int {
		return cmp.Compare(hash(a.GetId()), hash(b.GetId()))
	})
	return out
}

func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := range len(s) {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// key is a finding's identity within a sweep, printable.
func key(f *evaluationv1.Finding) string {
	return strings.Join([]string{f.GetAccountId(), f.GetRegion(), f.GetControlId(), f.GetResourceArn(), f.GetFieldPath()}, "|")
}

func keys(fs []*evaluationv1.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = key(f)
	}
	return out
}

// compareKey orders findings as the store must: account, region, control,
// resource ARN, field path, each byte-wise.
func compareKey(a, b *evaluationv1.Finding) int {
	return cmp.Or(
		strings.Compare(a.GetAccountId(), b.GetAccountId()),
		strings.Compare(a.GetRegion(), b.GetRegion()),
		strings.Compare(a.GetControlId(), b.GetControlId()),
		strings.Compare(a.GetResourceArn(), b.GetResourceArn()),
		strings.Compare(a.GetFieldPath(), b.GetFieldPath()),
	)
}

// matches is the reference for store.Filter.
func matches(f store.Filter, fd *evaluationv1.Finding) bool {
	return (len(f.ControlIDs) == 0 || slices.Contains(f.ControlIDs, fd.GetControlId())) &&
		(len(f.Severities) == 0 || slices.Contains(f.Severities, fd.GetSeverity())) &&
		(len(f.Statuses) == 0 || slices.Contains(f.Statuses, fd.GetStatus())) &&
		(len(f.AccountIDs) == 0 || slices.Contains(f.AccountIDs, fd.GetAccountId())) &&
		(len(f.Regions) == 0 || slices.Contains(f.Regions, fd.GetRegion())) &&
		(f.IncludeSuppressed || !fd.GetSuppressed())
}

// expect is the reference for ListFindings: matching findings, deduplicated
// by key (the first recorded wins), sorted.
func expect(all []*evaluationv1.Finding, f store.Filter) []*evaluationv1.Finding {
	seen := map[string]bool{}
	var out []*evaluationv1.Finding
	for _, fd := range all {
		if seen[key(fd)] {
			continue
		}
		seen[key(fd)] = true
		if matches(f, fd) {
			out = append(out, fd)
		}
	}
	slices.SortFunc(out, compareKey)
	return out
}

// expectCounts is the reference for SweepCounts.
func expectCounts(all []*evaluationv1.Finding) *reportingv1.SweepCounts {
	c := &reportingv1.SweepCounts{}
	accounts, regions := map[string]bool{}, map[string]bool{}
	bySev := map[evaluationv1.Severity]int64{}
	for _, f := range expect(all, store.Filter{IncludeSuppressed: true}) {
		c.Findings++
		switch f.GetStatus() {
		case pass:
			c.Pass++
		case fail:
			c.Fail++
			if !f.GetSuppressed() {
				bySev[f.GetSeverity()]++
			}
		case na:
			c.NotAssessed++
		}
		if f.GetSuppressed() {
			c.Suppressed++
		}
		accounts[f.GetAccountId()] = true
		regions[f.GetRegion()] = true
	}
	c.Accounts, c.Regions = int64(len(accounts)), int64(len(regions))
	for _, s := range []evaluationv1.Severity{crit, high, med, low, info, evaluationv1.Severity_SEVERITY_UNSPECIFIED} {
		if bySev[s] > 0 {
			c.FailBySeverity = append(c.FailBySeverity, &reportingv1.SeverityCount{Severity: s, Count: bySev[s]})
		}
	}
	return c
}

// change is a diff entry in printable form: "NEW key".
func change(kind reportingv1.DiffKind, f *evaluationv1.Finding) string {
	return strings.TrimPrefix(kind.String(), "DIFF_KIND_") + " " + key(f)
}
