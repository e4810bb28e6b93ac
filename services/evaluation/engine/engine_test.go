package engine

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

const acct = "111122223333"

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func resource(t testing.TB, typ, arn, region string, attrs map[string]any, fields ...*collectionv1.FreeFormField) *collectionv1.Resource {
	t.Helper()
	s, err := structpb.NewStruct(attrs)
	if err != nil {
		t.Fatal(err)
	}
	return &collectionv1.Resource{Arn: arn, ResourceType: typ, AccountId: acct, Region: region, Attributes: s, FreeFormFields: fields}
}

func evaluate(t testing.TB, in *Input) *Result {
	t.Helper()
	e, _ := newEngine(t, catalog.Builtin(), now)
	if in.Account == "" {
		in.Account = acct
	}
	if in.SweepID == "" {
		in.SweepID = "sweep-1"
	}
	res, err := e.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// byControl indexes findings by "control arn field".
func byControl(fs []*evaluationv1.Finding) map[string]*evaluationv1.Finding {
	out := map[string]*evaluationv1.Finding{}
	for _, f := range fs {
		out[f.GetControlId()+" "+f.GetResourceArn()+" "+f.GetFieldPath()] = f
	}
	return out
}

const bucketARN = "arn:aws:s3:::logs-bucket"

func TestCollectionErrorsAreNeverPass(t *testing.T) {
	denied := func(action, arn string, types ...string) *collectionv1.CollectionError {
		return &collectionv1.CollectionError{Collector: "x", Action: action, Reason: collectionv1.ErrorReason_ERROR_REASON_ACCESS_DENIED, ErrorCode: "AccessDenied",
			Message: action + " failed: AccessDenied", ResourceTypes: types, ResourceArn: arn, Region: "us-east-1"}
	}
	tests := map[string]struct {
		in   *Input
		want map[string]evaluationv1.NotAssessedReason // key -> reason; status NOT_ASSESSED
		pass []string                                  // keys that still PASS
		fail []string                                  // keys that FAIL
	}{
		"an unreadable bucket policy leaves the TLS controls open, not encryption": {
			in: &Input{Region: "global", Resources: []*collectionv1.Resource{resource(t, "AWS::S3::Bucket", bucketARN, "eu-west-1",
				map[string]any{"name": "logs-bucket", "region": "eu-west-1", "policy_unreadable": true, "encryption": map[string]any{"algorithm": "aws:kms"}})},
				Errors: []*collectionv1.CollectionError{denied("s3:GetBucketPolicy", bucketARN, "AWS::S3::Bucket")}},
			want: map[string]evaluationv1.NotAssessedReason{
				"DPS-TLS-001 " + bucketARN + " ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED,
				"DPS-TLS-002 " + bucketARN + " ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED,
			},
			pass: []string{"DPS-ENC-001 " + bucketARN + " ", "DPS-ENC-002 " + bucketARN + " "},
		},
		"a failed list leaves every control of the type open": {
			in: &Input{Region: "global", Errors: []*collectionv1.CollectionError{denied("s3:ListAllMyBuckets", "", "AWS::S3::Bucket")}},
			want: map[string]evaluationv1.NotAssessedReason{
				"DPS-TLS-001  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED,
				"DPS-ENC-001  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED,
			},
		},
		"a role that cannot be assumed leaves the whole scope open": {
			in: &Input{Region: "eu-west-1", Errors: []*collectionv1.CollectionError{{Collector: "sts.assume_role", Action: "sts:AssumeRole",
				Reason: collectionv1.ErrorReason_ERROR_REASON_ASSUME_ROLE_FAILED, ErrorCode: "AccessDenied",
				ResourceTypes: []string{"AWS::EC2::VPC", "AWS::ServiceCatalog::Product", "AWS::KMS::Key"}, Region: "eu-west-1"}}},
			want: map[string]evaluationv1.NotAssessedReason{
				"DPS-NET-001  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED,
				"DPS-FFT-002  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED,
				"DPS-URL-001  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED,
				"DPS-TLS-003  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED,
				"DPS-ENC-004  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED,
			},
		},
		"a disabled region": {
			in: &Input{Region: "ap-east-1", Errors: []*collectionv1.CollectionError{{Collector: "kms.keys", Action: "kms:ListKeys",
				Reason: collectionv1.ErrorReason_ERROR_REASON_REGION_DISABLED, ErrorCode: "UnrecognizedClientException", ResourceTypes: []string{"AWS::KMS::Key"}, Region: "ap-east-1"}}},
			want: map[string]evaluationv1.NotAssessedReason{"DPS-ENC-004  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_REGION_DISABLED},
		},
		"no FIPS endpoint in a FIPS sweep": {
			in: &Input{Region: "eu-west-1", FIPS: true, Errors: []*collectionv1.CollectionError{{Collector: "dynamodb.tables", Action: "dynamodb:ListTables",
				Reason: collectionv1.ErrorReason_ERROR_REASON_ENDPOINT_UNAVAILABLE, ErrorCode: "NoFIPSEndpoint", ResourceTypes: []string{"AWS::DynamoDB::Table"}, Region: "eu-west-1"}}},
			want: map[string]evaluationv1.NotAssessedReason{"DPS-ENC-003  ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_FIPS_ENDPOINT_UNAVAILABLE},
		},
		"a resource left unread is open under its own ARN": {
			in: &Input{Region: "eu-west-1", Errors: []*collectionv1.CollectionError{{Collector: "dynamodb.tables", Action: "dynamodb:DescribeTable",
				Reason: collectionv1.ErrorReason_ERROR_REASON_THROTTLED, ErrorCode: "ThrottlingException", ResourceTypes: []string{"AWS::DynamoDB::Table"},
				ResourceArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/orders", Region: "eu-west-1"}}},
			want: map[string]evaluationv1.NotAssessedReason{"DPS-ENC-003 arn:aws:dynamodb:eu-west-1:111122223333:table/orders ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_COLLECTOR_ERROR},
		},
		"a missing attribute is missing data": {
			in: &Input{Region: "global", Resources: []*collectionv1.Resource{resource(t, "AWS::IAM::Root", "arn:aws:iam::111122223333:root", "global",
				map[string]any{"mfa_enabled": true, "access_keys_present": false})}},
			want: map[string]evaluationv1.NotAssessedReason{"DPS-IAM-002 arn:aws:iam::111122223333:root ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_MISSING_DATA},
			pass: []string{"DPS-IAM-001 arn:aws:iam::111122223333:root ", "DPS-IAM-005 arn:aws:iam::111122223333:root "},
		},
		"a failure read despite an error stands": {
			in: &Input{Region: "eu-west-1", Resources: []*collectionv1.Resource{resource(t, "AWS::ServiceCatalog::Product", "arn:aws:catalog:eu-west-1:111122223333:product/prod-a",
				"eu-west-1", map[string]any{"product_id": "prod-a"}, &collectionv1.FreeFormField{Path: "Description", Kind: collectionv1.FieldKind_FIELD_KIND_DESCRIPTION,
					Value: "billing account 493817265012"})},
				Errors: []*collectionv1.CollectionError{denied("servicecatalog:DescribeProductAsAdmin", "arn:aws:catalog:eu-west-1:111122223333:product/prod-a",
					"AWS::ServiceCatalog::Product")}},
			fail: []string{"DPS-FFT-002 arn:aws:catalog:eu-west-1:111122223333:product/prod-a Description"},
			want: map[string]evaluationv1.NotAssessedReason{
				"DPS-URL-001 arn:aws:catalog:eu-west-1:111122223333:product/prod-a ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED,
				"DPS-TLS-003 arn:aws:catalog:eu-west-1:111122223333:product/prod-a ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED,
			},
		},
		"sharing without the organization's accounts": {
			in: &Input{Region: "eu-west-1", Resources: []*collectionv1.Resource{resource(t, "AWS::ServiceCatalog::Portfolio", "arn:aws:catalog:eu-west-1:111122223333:portfolio/port-a",
				"eu-west-1", map[string]any{"portfolio_id": "port-a", "shares": []any{map[string]any{"type": "ACCOUNT", "principal_id": "444455556666"}}})}},
			want: map[string]evaluationv1.NotAssessedReason{"DPS-SHR-001 arn:aws:catalog:eu-west-1:111122223333:portfolio/port-a ": evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_MISSING_DATA},
			pass: []string{"DPS-FFT-001 arn:aws:catalog:eu-west-1:111122223333:portfolio/port-a "},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := byControl(evaluate(t, tc.in).Findings)
			for k, reason := range tc.want {
				f, ok := got[k]
				switch {
				case !ok:
					t.Errorf("no finding %q; have %v", k, keys(got))
				case f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED || f.GetNotAssessedReason() != reason:
					t.Errorf("%q: %s %s, want NOT_ASSESSED %s", k, f.GetStatus(), f.GetNotAssessedReason(), reason)
				}
			}
			for _, k := range tc.pass {
				if f := got[k]; f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_PASS {
					t.Errorf("%q: %s, want PASS", k, f.GetStatus())
				}
			}
			for _, k := range tc.fail {
				if f := got[k]; f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_FAIL {
					t.Errorf("%q: %s, want FAIL", k, f.GetStatus())
				}
			}
			for k, f := range got {
				if f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_PASS && !contains(tc.pass, k) {
					t.Errorf("unexpected PASS %q (%s)", k, f.GetEvidence().GetSummary())
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestBadInventory(t *testing.T) {
	good := func() *Input {
		return &Input{SweepID: "s", Account: acct, Region: "eu-west-1", Resources: []*collectionv1.Resource{
			resource(t, "AWS::KMS::Key", "arn:aws:kms:eu-west-1:111122223333:key/k", "eu-west-1", map[string]any{"manager": "CUSTOMER"})}}
	}
	tests := map[string]struct {
		edit  func(*Input)
		field string
	}{
		"unknown control":         {func(in *Input) { in.ControlIDs = []string{"DPS-IAM-001", "NOPE-1"} }, "context.control_ids[1]"},
		"bad account":             {func(in *Input) { in.Account = "12" }, "context.account_id"},
		"bad region":              {func(in *Input) { in.Region = "mars" }, "context.region"},
		"not an ARN":              {func(in *Input) { in.Resources[0].Arn = "key/k" }, "inventory.resources[0].arn"},
		"no type":                 {func(in *Input) { in.Resources[0].ResourceType = "" }, "inventory.resources[0].resource_type"},
		"another account":         {func(in *Input) { in.Resources[0].AccountId = "444455556666" }, "inventory.resources[0].account_id"},
		"another region":          {func(in *Input) { in.Resources[0].Region = "us-east-1" }, "inventory.resources[0].region"},
		"attribute of wrong type": {func(in *Input) { in.Resources[0].Attributes.Fields["spec"] = structpb.NewBoolValue(true) }, "inventory.resources[0].attributes.spec"},
		"field without path": {func(in *Input) {
			in.Resources[0].FreeFormFields = []*collectionv1.FreeFormField{{Kind: collectionv1.FieldKind_FIELD_KIND_NAME, Value: "x"}}
		}, "inventory.resources[0].free_form_fields[0].path"},
		"error without action": {func(in *Input) {
			in.Errors = []*collectionv1.CollectionError{{Reason: collectionv1.ErrorReason_ERROR_REASON_OTHER}}
		}, "inventory.errors[0].action"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, _ := newEngine(t, catalog.Builtin(), now)
			in := good()
			tc.edit(in)
			_, err := e.Evaluate(context.Background(), in)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("error %v, want an InputError on %s", err, tc.field)
			}
		})
	}
}

func TestSuppressions(t *testing.T) {
	e, _ := newEngine(t, catalog.Builtin(), now)
	sup := func(id, control, account, region, pattern string, expires time.Time) *evaluationv1.Suppression {
		return &evaluationv1.Suppression{Id: id, ControlId: control, AccountId: account, Region: region, ResourcePattern: pattern,
			Justification: "accepted", ExpiresAt: timestamppb.New(expires)}
	}
	in := &Input{SweepID: "s", Account: acct, Region: "global", Resources: []*collectionv1.Resource{
		resource(t, "AWS::S3::Bucket", "arn:aws:s3:::public-site", "eu-west-1", map[string]any{"policy": "", "encryption": nil}),
		resource(t, "AWS::S3::Bucket", "arn:aws:s3:::private-data", "us-east-1", map[string]any{"policy": "", "encryption": nil}),
	}, Suppressions: []*evaluationv1.Suppression{
		sup("site", "DPS-TLS-001", "", "*", "arn:aws:s3:::public-*", now.Add(time.Hour)),
		sup("expired", "*", acct, "", "", now.Add(-time.Hour)),
		sup("other-account", "*", "444455556666", "", "", now.Add(time.Hour)),
		sup("other-region", "DPS-ENC-001", "", "ap-south-1", "", now.Add(time.Hour)),
	}}
	res, err := e.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byControl(res.Findings)
	for k, f := range got {
		want := k == "DPS-TLS-001 arn:aws:s3:::public-site "
		if f.GetSuppressed() != want {
			t.Errorf("%q suppressed %v, want %v", k, f.GetSuppressed(), want)
		}
		if f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_FAIL {
			t.Errorf("%q: %s, want FAIL kept under suppression", k, f.GetStatus())
		}
	}
	if f := got["DPS-TLS-001 arn:aws:s3:::public-site "]; f.GetSuppression().GetId() != "site" {
		t.Errorf("suppression %v, want site", f.GetSuppression())
	}
	if res.Summary.GetSuppressed() != 1 || res.Summary.GetFail() != int64(len(res.Findings)) {
		t.Errorf("summary %v", res.Summary)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "arn:aws:s3:::x", true},
		{"arn:aws:s3:::logs-*", "arn:aws:s3:::logs-2024", true},
		{"arn:aws:s3:::logs-*", "arn:aws:s3:::data", false},
		{"*:111122223333:*", "arn:aws:kms:eu-west-1:111122223333:key/k", true},
		{"*/k", "arn:aws:kms:eu-west-1:111122223333:key/k", true},
		{"*/k", "arn:aws:kms:eu-west-1:111122223333:key/kk", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"", "", true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 5000), false},
	}
	for _, tc := range tests {
		if got := Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// pseudonym is a keyed pseudonym the identity policy puts in ARNs and paths.
var pseudonym = regexp.MustCompile(`\[([A-Z_]+):[0-9a-f]+\]`)

// TestFreeFormEvidenceIsRedacted: raw values never reach a finding; tag keys
// and ARNs that hold a planted value carry pseudonyms instead.
func TestFreeFormEvidenceIsRedacted(t *testing.T) {
	pp := "arn:aws:servicecatalog:eu-west-1:111122223333:stack/web-acct-493817265012/pp-abc"
	in := &Input{Region: "eu-west-1", Resources: []*collectionv1.Resource{
		resource(t, "AWS::ServiceCatalog::ProvisionedProduct", pp, "eu-west-1", map[string]any{},
			&collectionv1.FreeFormField{Path: "Name", Kind: collectionv1.FieldKind_FIELD_KIND_NAME, Value: "web-acct-493817265012"},
			&collectionv1.FreeFormField{Path: "Tags[maria.garcia@example-corp.com]", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: "owner"},
			&collectionv1.FreeFormField{Path: "Tags[Team]", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: "web; password=QRTkmnp482#xyz"}),
	}}
	res := evaluate(t, in)
	got := map[string]*evaluationv1.Finding{}
	for k, f := range byControl(res.Findings) {
		got[pseudonym.ReplaceAllString(k, "[$1]")] = f
	}
	redactedARN := "arn:aws:servicecatalog:eu-west-1:111122223333:stack/web-acct-[AWS_ACCOUNT_ID]/pp-abc"
	for _, k := range []string{"DPS-FFT-003 " + redactedARN + " Name", "DPS-FFT-003 " + redactedARN + " Tags[[EMAIL_ADDRESS]]", "DPS-FFT-003 " + redactedARN + " Tags[Team]"} {
		if f, ok := got[k]; !ok || f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_FAIL {
			t.Errorf("want FAIL %q; have %v", k, keys(got))
		}
	}
	for _, f := range res.Findings {
		for _, p := range planted {
			if strings.Contains(f.String(), p) {
				t.Errorf("finding carries %q: %v", p, f)
			}
		}
	}
	if f := got["DPS-FFT-003 "+redactedARN+" Tags[Team]"]; !strings.Contains(f.GetEvidence().GetRedactedText(), "[SECRET_ASSIGNMENT]") {
		t.Errorf("evidence %q, want the secret replaced by its type", f.GetEvidence().GetRedactedText())
	}
}

// TestRedactionBatches: texts are sent in batches, each distinct text once,
// and a redactor failure fails the evaluation rather than leaking text.
func TestRedactionBatches(t *testing.T) {
	red := newLocalRedactor()
	e, err := New(Options{Controls: catalog.Builtin(), Redactor: red, Now: func() time.Time { return now }, BatchTexts: 7})
	if err != nil {
		t.Fatal(err)
	}
	var rs []*collectionv1.Resource
	for i := range 20 {
		rs = append(rs, resource(t, "AWS::ServiceCatalog::TagOption", "arn:aws:catalog:eu-west-1:111122223333:tagoption/tag-"+string(rune('a'+i)), "eu-west-1",
			map[string]any{}, &collectionv1.FreeFormField{Path: "Value", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: "same value"}))
	}
	if _, err := e.Evaluate(context.Background(), &Input{SweepID: "s", Account: acct, Region: "eu-west-1", Resources: rs}); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range red.texts {
		if len(b) > 7 {
			t.Errorf("batch of %d texts, want at most 7", len(b))
		}
		total += len(b)
	}
	if red.calls < 2 {
		t.Errorf("%d redactor calls, want several batches", red.calls)
	}
	seen := map[string]int{}
	for _, b := range red.texts {
		for _, s := range b {
			seen[s]++
		}
	}
	if seen["same value"] != 1 {
		t.Errorf("the shared value was sent %d times, want once", seen["same value"])
	}
	failing := failingRedactor{}
	e2, _ := New(Options{Controls: catalog.Builtin(), Redactor: failing, Now: func() time.Time { return now }})
	if _, err := e2.Evaluate(context.Background(), &Input{SweepID: "s", Account: acct, Region: "eu-west-1", Resources: rs}); err == nil {
		t.Fatal("want an error when the redactor fails")
	}
	if total != len(seenKeys(red)) {
		t.Errorf("%d texts sent, %d distinct: a text was sent twice", total, len(seenKeys(red)))
	}
}

func seenKeys(l *localRedactor) map[string]bool {
	out := map[string]bool{}
	for _, b := range l.texts {
		for _, s := range b {
			out[s] = true
		}
	}
	return out
}

type failingRedactor struct{}

func (failingRedactor) Redact(context.Context, []string, string) ([]Redaction, error) {
	return nil, errors.New("redaction service unavailable")
}

// TestResourcesDifferingInADetectedValueStayApart: two buckets whose names
// differ only in an account number, two tag keys likewise, and a version
// holding one, keep distinct findings with distinct IDs, and nothing raw.
func TestResourcesDifferingInADetectedValueStayApart(t *testing.T) {
	in := &Input{Region: "global", Resources: []*collectionv1.Resource{
		resource(t, "AWS::S3::Bucket", "arn:aws:s3:::logs-444455556666", "eu-west-1", map[string]any{"policy": "", "encryption": map[string]any{"algorithm": "aws:kms"}}),
		resource(t, "AWS::S3::Bucket", "arn:aws:s3:::logs-777788889999", "eu-west-1", map[string]any{"policy": "", "encryption": nil}),
	}}
	res := evaluate(t, in)
	enc := map[string]evaluationv1.FindingStatus{}
	ids := map[string]bool{}
	for _, f := range res.Findings {
		if ids[f.GetId()] {
			t.Errorf("finding ID %s used twice", f.GetId())
		}
		ids[f.GetId()] = true
		if f.GetControlId() == "DPS-ENC-001" {
			enc[f.GetResourceArn()] = f.GetStatus()
		}
		if strings.Contains(f.String(), "444455556666") || strings.Contains(f.String(), "777788889999") {
			t.Errorf("raw account number in %v", f)
		}
	}
	if len(enc) != 2 {
		t.Fatalf("ENC-001 findings %v, want one per bucket", enc)
	}
	statuses := map[evaluationv1.FindingStatus]int{}
	for _, st := range enc {
		statuses[st]++
	}
	if statuses[evaluationv1.FindingStatus_FINDING_STATUS_PASS] != 1 || statuses[evaluationv1.FindingStatus_FINDING_STATUS_FAIL] != 1 {
		t.Errorf("ENC-001 %v, want one PASS and one FAIL", enc)
	}

	app := "arn:aws:serverlessrepo:eu-west-1:111122223333:applications/resizer"
	in = &Input{Region: "eu-west-1", Resources: []*collectionv1.Resource{
		resource(t, "AWS::Serverless::Application", app, "eu-west-1", map[string]any{"labels": nil, "policy_statements": nil},
			&collectionv1.FreeFormField{Path: "Versions[1.0.0-acct-444455556666].SourceCodeUrl", Kind: collectionv1.FieldKind_FIELD_KIND_URL, Value: "http://github.com/x/y"},
			&collectionv1.FreeFormField{Path: "Versions[1.0.0-acct-777788889999].SourceCodeUrl", Kind: collectionv1.FieldKind_FIELD_KIND_URL, Value: "http://github.com/x/z"}),
		resource(t, "AWS::ServiceCatalog::Portfolio", "arn:aws:catalog:eu-west-1:111122223333:portfolio/port-a", "eu-west-1", map[string]any{"shares": nil},
			&collectionv1.FreeFormField{Path: "Tags[acct-444455556666]", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: ""},
			&collectionv1.FreeFormField{Path: "Tags[acct-777788889999]", Kind: collectionv1.FieldKind_FIELD_KIND_TAG_VALUE, Value: "x"}),
	}}
	res = evaluate(t, in)
	paths := map[string]int{}
	for _, f := range res.Findings {
		if f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_FAIL {
			paths[f.GetControlId()]++
		}
		if strings.Contains(f.String(), "444455556666") || strings.Contains(f.String(), "777788889999") {
			t.Errorf("raw account number in %v", f)
		}
	}
	if paths["DPS-TLS-004"] != 2 || paths["DPS-FFT-001"] != 2 {
		t.Errorf("failing findings per control %v; want two TLS-004 (one per version) and two FFT-001 (one per tag key)", paths)
	}
}

// TestCustomControlsAreNeverPassOnPartialData: a control without Needs (a
// custom one) is blocked by any error of a collector of its types.
func TestCustomControlsAreNeverPassOnPartialData(t *testing.T) {
	custom := &catalog.Control{ID: "ACME-1", Title: "t", ResourceTypes: []string{"AWS::IAM::User"},
		Check: func(*catalog.Resource, *catalog.Env) catalog.Outcome { return catalog.Passed("ok") }}
	e, _ := newEngine(t, []*catalog.Control{custom}, now)
	user := "arn:aws:iam::111122223333:user/alice"
	res, err := e.Evaluate(context.Background(), &Input{SweepID: "s", Account: acct, Region: "global",
		Resources: []*collectionv1.Resource{resource(t, "AWS::IAM::User", user, "global", map[string]any{})},
		Errors: []*collectionv1.CollectionError{
			{Collector: "iam.users", Action: "iam:ListAttachedUserPolicies", Reason: collectionv1.ErrorReason_ERROR_REASON_THROTTLED, ResourceTypes: []string{"AWS::IAM::User"}, ResourceArn: user},
			{Collector: "iam.users", Action: "iam:ListUsers", Reason: collectionv1.ErrorReason_ERROR_REASON_ACCESS_DENIED, ResourceTypes: []string{"AWS::IAM::User"}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 2 {
		t.Fatalf("%d findings, want the user's and the list's", len(res.Findings))
	}
	for _, f := range res.Findings {
		if f.GetStatus() != evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED {
			t.Errorf("%s %q: %s, want NOT_ASSESSED", f.GetControlId(), f.GetResourceArn(), f.GetStatus())
		}
	}
}

// TestMissingRoleLeavesEveryControlOpen: a role that cannot be assumed, seen
// in the global scope, makes every control of the account NOT_ASSESSED.
func TestMissingRoleLeavesEveryControlOpen(t *testing.T) {
	res := evaluate(t, &Input{Region: "global", Errors: []*collectionv1.CollectionError{{Collector: "sts.assume_role", Action: "sts:AssumeRole",
		Reason: collectionv1.ErrorReason_ERROR_REASON_ASSUME_ROLE_FAILED, ResourceTypes: []string{"AWS::IAM::Root"}}}})
	seen := map[string]bool{}
	for _, f := range res.Findings {
		seen[f.GetControlId()] = true
		if f.GetNotAssessedReason() != evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED {
			t.Errorf("%s: %s", f.GetControlId(), f.GetNotAssessedReason())
		}
	}
	if len(seen) != len(catalog.Builtin()) {
		t.Errorf("%d controls NOT_ASSESSED, want all %d", len(seen), len(catalog.Builtin()))
	}
}
