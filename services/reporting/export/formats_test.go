package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

func TestJSONLines(t *testing.T) {
	t.Parallel()
	got, _ := export(t, NewJSONExporter(), fixture())
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	want := fixtureFindings()
	if len(lines) != 1+len(want) {
		t.Fatalf("%d lines, want a header and %d findings", len(lines), len(want))
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["kind"] != JSONHeaderKind || raw["sweep_id"] != "sweep-2026-01-15" || raw["state"] != "SWEEP_STATE_COMPLETED" ||
		raw["generated_at"] != "2026-01-15T12:00:00Z" || raw["version"] != "1.2.3" || len(raw["assessed"].([]any)) != 5 ||
		raw["counts"].(map[string]any)["findings"] != "15" {
		t.Errorf("header = %s", lines[0])
	}
	// Each finding line is the finding, protojson with proto names.
	for i, line := range lines[1:] {
		var f evaluationv1.Finding
		if err := protojson.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("line %d: %v", i+2, err)
		}
		if !proto.Equal(&f, want[i]) {
			t.Errorf("line %d = %v, want %v", i+2, &f, want[i])
		}
		if !strings.Contains(line, `"resource_arn":`) || !strings.Contains(line, `"observed_at":"2026-01-15T09:30:00Z"`) {
			t.Errorf("line %d lacks proto field names: %s", i+2, line)
		}
	}
}

func TestCSV(t *testing.T) {
	t.Parallel()
	got, n := export(t, NewCSVExporter(), fixture())
	rows, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVColumns) || int64(len(rows)-1) != n || n != 15 {
		t.Fatalf("header %v and %d rows (n=%d)", rows[0], len(rows)-1, n)
	}
	col := map[string]int{}
	for i, c := range CSVColumns {
		col[c] = i
	}
	for i, f := range fixtureFindings() {
		r := rows[i+1]
		if r[col["resource_arn"]] != f.ResourceArn || r[col["control_id"]] != f.ControlId || r[col["region"]] != f.Region {
			t.Errorf("row %d = %v", i+1, r)
		}
		if ts, err := time.Parse(time.RFC3339, r[col["observed_at"]]); err != nil || !ts.Equal(f.ObservedAt.AsTime()) {
			t.Errorf("row %d observed_at %q", i+1, r[col["observed_at"]])
		}
		if f.Evidence.RedactedText != "" && (r[col["evidence_redacted_text"]] != f.Evidence.RedactedText || r[col["entity_types"]] != "EMAIL_ADDRESS;AWS_ACCOUNT_ID") {
			t.Errorf("row %d evidence %v", i+1, r)
		}
		for j, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d column %s starts with a formula character: %q", i+1, CSVColumns[j], cell)
			}
		}
	}
}

func TestCSVSafe(t *testing.T) {
	t.Parallel()
	for desc, tc := range map[string]struct{ in, want string }{
		"equals":          {"=1+1", "'=1+1"},
		"plus":            {"+1", "'+1"},
		"minus":           {"-1", "'-1"},
		"at":              {"@SUM(A1)", "'@SUM(A1)"},
		"tab":             {"\t=1", "'\t=1"},
		"carriage return": {"\r=1", "'\r=1"},
		"plain":           {"arn:aws:s3:::b", "arn:aws:s3:::b"},
		"inner formula":   {"a=1", "a=1"},
		"empty":           {"", ""},
	} {
		if got := csvSafe(tc.in); got != tc.want {
			t.Errorf("%s: csvSafe(%q) = %q, want %q", desc, tc.in, got, tc.want)
		}
	}
}

// ocsfRequired are the attributes OCSF 1.1.0 requires of a Detection
// Finding (class 2004) and of the objects it holds, with the cloud profile:
// https://schema.ocsf.io/1.1.0/classes/detection_finding?profiles=cloud
// (base event: activity_id, category_uid, class_uid, metadata, severity_id,
// time, type_uid; finding: finding_info; cloud profile: cloud),
// https://schema.ocsf.io/1.1.0/objects/finding_info (uid, title),
// https://schema.ocsf.io/1.1.0/objects/metadata (product, version),
// https://schema.ocsf.io/1.1.0/objects/product (vendor_name; name too),
// https://schema.ocsf.io/1.1.0/objects/cloud (provider),
// https://schema.ocsf.io/1.1.0/objects/analytic (type_id).
var ocsfRequired = []string{
	"activity_id", "category_uid", "class_uid", "type_uid", "severity_id", "time",
	"metadata", "metadata.version", "metadata.product", "metadata.product.vendor_name", "metadata.product.name",
	"finding_info", "finding_info.uid", "finding_info.title", "finding_info.analytic.type_id",
	"cloud", "cloud.provider",
}

func TestOCSFRequiredAttributes(t *testing.T) {
	t.Parallel()
	got, _ := export(t, NewOCSFExporter(), fixture())
	sc := bufio.NewScanner(bytes.NewReader(got))
	sc.Buffer(nil, 1<<20)
	want := fixtureFindings()
	i := 0
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		for _, path := range ocsfRequired {
			var v any = rec
			for _, k := range strings.Split(path, ".") {
				m, _ := v.(map[string]any)
				v = m[k]
			}
			if v == nil || v == "" {
				t.Errorf("record %d lacks required %s", i, path)
			}
		}
		f := want[i]
		num := func(k string) int { return int(rec[k].(float64)) }
		if num("class_uid") != 2004 || num("category_uid") != 2 || num("activity_id") != 1 || num("type_uid") != 200401 {
			t.Errorf("record %d class %v", i, rec)
		}
		if num("severity_id") != int(f.Severity) || int64(rec["time"].(float64)) != f.ObservedAt.AsTime().UnixMilli() {
			t.Errorf("record %d severity %v time %v", i, rec["severity_id"], rec["time"])
		}
		wantStatus := map[evaluationv1.FindingStatus]int{
			evaluationv1.FindingStatus_FINDING_STATUS_FAIL: 1, evaluationv1.FindingStatus_FINDING_STATUS_PASS: 4,
			evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED: 99,
		}[f.Status]
		if f.Suppressed {
			wantStatus = 3
		}
		if num("status_id") != wantStatus {
			t.Errorf("record %d (%s suppressed=%v) status_id %d, want %d", i, f.Status, f.Suppressed, num("status_id"), wantStatus)
		}
		if rec["metadata"].(map[string]any)["version"] != OCSFVersion {
			t.Errorf("record %d metadata %v", i, rec["metadata"])
		}
		res := rec["resources"].([]any)[0].(map[string]any)
		if res["uid"] != resourceID(f) || res["cloud_partition"] != "aws" {
			t.Errorf("record %d resources %v", i, res)
		}
		if _, ok := res["region"]; ok == (f.Region == "global") {
			t.Errorf("record %d (region %s) resource region %v", i, f.Region, res["region"])
		}
		i++
	}
	if i != len(want) {
		t.Errorf("%d records, want %d", i, len(want))
	}
}
