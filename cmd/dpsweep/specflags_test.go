package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

func TestDecodeSpec(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		want    *sweepv1.SweepSpec
		wantErr string
	}{
		"empty":                            {in: "", want: &sweepv1.SweepSpec{}},
		"comments only":                    {in: "# nothing yet\n", want: &sweepv1.SweepSpec{}},
		"null fields stay unset":           {in: "regions:\nrole_name: ~\nlookup_events_window: null\n", want: &sweepv1.SweepSpec{}},
		"an empty string is an empty list": {in: `regions: ""`, want: &sweepv1.SweepSpec{}},
		"one value for a list":             {in: "regions: us-east-1\nreport_formats: ocsf\n", want: &sweepv1.SweepSpec{Regions: []string{"us-east-1"}, ReportFormats: []reportingv1.ReportFormat{reportingv1.ReportFormat_REPORT_FORMAT_OCSF}}},
		"account IDs keep their digits": {
			in:   "include_account_ids: [012345678901, 111122223333]\nexclude_account_ids: [\"000000000001\"]\n",
			want: &sweepv1.SweepSpec{IncludeAccountIds: []string{"012345678901", "111122223333"}, ExcludeAccountIds: []string{"000000000001"}},
		},
		"anchors and aliases": {
			in:   "include_ou_ids: &ous [ou-ab12-cdef3456]\nexclude_ou_ids: *ous\n",
			want: &sweepv1.SweepSpec{IncludeOuIds: []string{"ou-ab12-cdef3456"}, ExcludeOuIds: []string{"ou-ab12-cdef3456"}},
		},
		"tags in every form": {
			in: "include_tags: [env=prod, {key: team, value: data}, owner]\nexclude_tags: {lifecycle: retired, sandbox: ~}\n",
			want: &sweepv1.SweepSpec{IncludeTags: []*sweepv1.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "data"}, {Key: "owner"}},
				ExcludeTags: []*sweepv1.Tag{{Key: "lifecycle", Value: "retired"}, {Key: "sandbox"}}},
		},
		"numbers, booleans, durations": {
			in:   "max_concurrent_accounts: 100\napi_requests_per_second: 2\nuse_fips_endpoints: True\nlookup_events_window: 1h30m\n",
			want: &sweepv1.SweepSpec{MaxConcurrentAccounts: 100, ApiRequestsPerSecond: 2, UseFipsEndpoints: true, LookupEventsWindow: durationpb.New(90 * time.Minute)},
		},
		"not a mapping":          {in: "- us-east-1\n", wantErr: "cfg.yaml:1: want a mapping of field names to values"},
		"a list for a string":    {in: "role_name: [a, b]\n", wantErr: "cfg.yaml:1: role_name: want a single value, not a list"},
		"a mapping for a list":   {in: "regions: {us-east-1: yes}\n", wantErr: "cfg.yaml:1: regions: want a list"},
		"a bad duration":         {in: "lookup_events_window: 3 days\n", wantErr: `cfg.yaml:1: lookup_events_window: "3 days" is not a duration such as 24h or 86400s`},
		"a bad boolean":          {in: "use_fips_endpoints: sometimes\n", wantErr: `cfg.yaml:1: use_fips_endpoints: "sometimes" is not true or false`},
		"a tag with a bad field": {in: "include_tags:\n  - {key: env, val: prod}\n", wantErr: `cfg.yaml:2: include_tags[0]: unknown field "val"; known fields: key, value`},
		"too big for int32":      {in: "max_concurrent_accounts: 99999999999\n", wantErr: `max_concurrent_accounts: "99999999999" is not a whole number`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeSpec([]byte(tc.in), "cfg.yaml")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			equalProto(t, "spec", got, tc.want)
		})
	}
}
