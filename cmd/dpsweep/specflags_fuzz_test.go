package main

import (
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeSpec checks that the sweep config-file parser never panics, that
// its errors name the file, and that a spec it accepts, written back as
// protobuf JSON (which is YAML), decodes to the same spec.
func FuzzDecodeSpec(f *testing.F) {
	example, err := os.ReadFile("../../deploy/config/sweep.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{"", "# nothing\n", "regions:\nrole_name: ~\n", `regions: ""`, "regions: us-east-1\nreport_formats: ocsf\n",
		"include_account_ids: [012345678901, 111122223333]\n", "a: &x [eu-west-1]\nregions: *x\n",
		`{"includeAccountIds": ["111122223333"], "reportFormats": ["REPORT_FORMAT_HTML"], "lookupEventsWindow": "86400s"}`,
		"lookup_events_window: 24h\ntags: {team: data}\n", "tags: [team=data, {key: k, value: v}]\n", "regions: [1, {a: b}]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := decodeSpec(data, "cfg.yaml")
		if err != nil {
			if spec != nil || !strings.HasPrefix(err.Error(), "cfg.yaml:") {
				t.Fatalf("error %q: want no spec and the file's name first", err)
			}
			return
		}
		j, err := protojson.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeSpec(j, "cfg.json")
		if err != nil {
			t.Fatalf("the accepted spec written as JSON does not decode: %v\n%s", err, j)
		}
		if !proto.Equal(spec, again) {
			t.Fatalf("round trip changed the spec:\n%v\n%v", spec, again)
		}
	})
}
