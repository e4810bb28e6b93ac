package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

const (
	// toolName names dpsweep in SARIF, OCSF and ASFF.
	toolName = "dpsweep"
	// informationURI is dpsweep's home, written into SARIF.
	informationURI = "https://github.com/dpsweep/dpsweep"
	// globalRegion is the region of findings about account-wide resources.
	globalRegion = "global"
)

// forEach calls fn for each finding of in, stopping at the first error from
// the iterator, from fn or from ctx.
func forEach(ctx context.Context, in *Input, fn func(*evaluationv1.Finding) error) error {
	if in == nil || in.Findings == nil {
		return nil
	}
	for f, err := range in.Findings(ctx) {
		if err != nil {
			return fmt.Errorf("read findings: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if f == nil {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// FindingKey identifies a finding across sweeps: a hash of account, region,
// control, resource ARN and field path, the finding ID without the sweep.
// Formats whose consumers track a finding's lifecycle over time (Security
// Hub's Id, OCSF's finding_info.uid, SARIF's partialFingerprints) use it, so
// the same problem found again by a later sweep updates the same record.
func FindingKey(f *evaluationv1.Finding) string {
	h := sha256.New()
	for _, s := range []string{f.GetAccountId(), f.GetRegion(), f.GetControlId(), f.GetResourceArn(), f.GetFieldPath()} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// severityName is a severity without its enum prefix: CRITICAL, HIGH,
// MEDIUM, LOW, INFORMATIONAL or UNSPECIFIED.
func severityName(s evaluationv1.Severity) string {
	return strings.TrimPrefix(s.String(), "SEVERITY_")
}

// statusName is a status without its enum prefix: PASS, FAIL, NOT_ASSESSED
// or UNSPECIFIED.
func statusName(s evaluationv1.FindingStatus) string {
	return strings.TrimPrefix(s.String(), "FINDING_STATUS_")
}

// reasonName is a NOT_ASSESSED reason without its enum prefix, empty when
// none is set.
func reasonName(r evaluationv1.NotAssessedReason) string {
	if r == evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_UNSPECIFIED {
		return ""
	}
	return strings.TrimPrefix(r.String(), "NOT_ASSESSED_REASON_")
}

// rfc3339 formats a timestamp in UTC, empty when it is unset.
func rfc3339(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339Nano)
}

// millis is a timestamp in milliseconds since the epoch, 0 when unset.
func millis(ts *timestamppb.Timestamp) int64 {
	if ts == nil {
		return 0
	}
	return ts.AsTime().UnixMilli()
}

// truncate shortens s to at most max characters (runes), ending a cut
// string with "…" so a reader sees it was cut. Invalid UTF-8 is replaced.
func truncate(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// arnPartition is the partition field of an ARN, empty when s is no ARN.
func arnPartition(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 3 || parts[0] != "arn" {
		return ""
	}
	return parts[1]
}

// regionPartition is the partition a region belongs to.
func regionPartition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

// partitionOf is the partition of a finding's resource: its ARN's, or its
// region's when the ARN names none.
func partitionOf(f *evaluationv1.Finding) string {
	if p := arnPartition(f.GetResourceArn()); p != "" {
		return p
	}
	return regionPartition(f.GetRegion())
}

// stableProtoJSON renders a message as protojson with proto field names and
// every field present, then re-encodes it with encoding/json so that keys
// are sorted and spacing is fixed: protojson output is deliberately unstable
// across runs, golden files need it byte for byte.
func stableProtoJSON(m proto.Message) (json.RawMessage, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("protojson: %w", err)
	}
	return reencode(b)
}

// reencode decodes JSON and encodes it again with sorted keys and no spaces.
func reencode(b []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("re-encode JSON: %w", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("re-encode JSON: %w", err)
	}
	return out, nil
}

// resourceID names a finding's resource: its ARN, or, for a finding about
// no single resource (a collector could not list any), Security Hub's
// identifier of the account itself, "AWS::::Account:<account>".
func resourceID(f *evaluationv1.Finding) string {
	if arn := f.GetResourceArn(); arn != "" {
		return arn
	}
	return "AWS::::Account:" + f.GetAccountId()
}

// evidenceOf is the finding's evidence, never nil.
func evidenceOf(f *evaluationv1.Finding) *evaluationv1.Evidence {
	if e := f.GetEvidence(); e != nil {
		return e
	}
	return &evaluationv1.Evidence{}
}
