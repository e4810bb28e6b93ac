package catalog

func trail(name string, kv ...any) Fixture {
	base := []any{"name", "management-events", "multi_region", true, "log_file_validation", true,
		"kms_key_id", "arn:aws:kms:us-east-1:111122223333:key/0c6ee8b0-6c7c-4d4e-9c1e-2b4b0d2f1a11", "logging", true, "management_events", "All"}
	f := fixture(name, "AWS::CloudTrail::Trail", append(base, kv...)...)
	f.Resource.ARN = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events"
	return f
}

func init() {
	trailNeeds := []string{"cloudtrail:DescribeTrails"}
	register(
		&Control{
			ID: "DPS-LOG-001", Title: "A multi-region CloudTrail trail is logging", Category: "logging", Severity: high,
			Description:   "The account has at least one multi-region trail (its own or the organization's) that is logging.",
			Rationale:     "Without a trail that covers every region, API and user activity in the account — including reads of Service Catalog and SAR data — leaves no durable record.",
			Remediation:   []string{"Create a multi-region trail (or an organization trail from the management account) and start logging.", "Deliver it to a bucket in a log-archive account."},
			ResourceTypes: []string{"AWS::CloudTrail::AccountTrails"}, Seeds: seedCloudTrail, Needs: []string{"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus"},
			Check: func(r *Resource, _ *Env) Outcome {
				trails, ok := r.List("multi_region_trails")
				if !ok {
					return Missing("the account's trails were not read")
				}
				unknown := 0
				for _, t := range trails {
					m, _ := t.(map[string]any)
					logging, known := m["logging"].(bool)
					if logging {
						return Passed("a multi-region trail is logging")
					}
					if !known {
						unknown++
					}
				}
				if unknown > 0 {
					return Missing("the status of %d multi-region trails could not be read", unknown)
				}
				if len(trails) == 0 {
					return Failed("the account has no multi-region trail")
				}
				return Failed("none of the account's %d multi-region trails is logging", len(trails))
			},
			Pass: []Fixture{fixture("one logging", "AWS::CloudTrail::AccountTrails", "multi_region_trails", []any{
				map[string]any{"arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/a", "home_region": "us-east-1", "logging": false},
				map[string]any{"arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/b", "home_region": "us-east-1", "logging": true}})},
			Fail: []Fixture{
				fixture("no trail", "AWS::CloudTrail::AccountTrails", "multi_region_trails", nil),
				fixture("stopped", "AWS::CloudTrail::AccountTrails", "multi_region_trails", []any{
					map[string]any{"arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/a", "home_region": "us-east-1", "logging": false}}),
			},
		},
		&Control{
			ID: "DPS-LOG-002", Title: "The trail validates log files", Category: "logging", Severity: medium,
			Description:   "Log file integrity validation is enabled on the trail.",
			Rationale:     "Digest files let you prove that delivered logs were not changed or deleted after the fact.",
			Remediation:   []string{"aws cloudtrail update-trail --name <trail> --enable-log-file-validation"},
			ResourceTypes: []string{"AWS::CloudTrail::Trail"}, Seeds: seedCloudTrail, Needs: trailNeeds,
			Check: func(r *Resource, _ *Env) Outcome {
				v, ok := r.Bool("log_file_validation")
				if !ok {
					return Missing("the trail's settings were not read")
				}
				if !v {
					return Failed("log file validation is off")
				}
				return Passed("log file validation is on")
			},
			Pass: []Fixture{trail("validating")},
			Fail: []Fixture{trail("not validating", "log_file_validation", false)},
		},
		&Control{
			ID: "DPS-LOG-003", Title: "The trail encrypts logs with KMS", Category: "logging", Severity: medium,
			Description:   "The trail encrypts the log files it delivers with a KMS key (SSE-KMS).",
			Rationale:     "Logs record who did what to which resource; a customer managed key adds an access control and an audit trail of its own to reading them.",
			Remediation:   []string{"Create a KMS key whose policy lets CloudTrail encrypt, then: aws cloudtrail update-trail --name <trail> --kms-key-id <key>"},
			ResourceTypes: []string{"AWS::CloudTrail::Trail"}, Seeds: append([]Seed{}, seedCloudTrail[0], seedEncryption[0]), Needs: trailNeeds,
			Check: func(r *Resource, _ *Env) Outcome {
				key, ok := r.String("kms_key_id")
				if !ok {
					return Missing("the trail's settings were not read")
				}
				if key == "" {
					return Failed("the trail's logs are not encrypted with a KMS key")
				}
				return Passed("the trail encrypts its logs with KMS")
			},
			Pass: []Fixture{trail("kms")},
			Fail: []Fixture{trail("sse-s3 only", "kms_key_id", "")},
		},
		&Control{
			ID: "DPS-LOG-004", Title: "The trail records read and write management events", Category: "logging", Severity: medium,
			Description:   "The trail's event selectors include management events of both read and write type.",
			Rationale:     "Reads of catalogue data (Describe*, List*, Get*) are exactly the activity that shows who looked at what; a write-only trail misses them.",
			Remediation:   []string{"Set the trail's event selector to ReadWriteType All with IncludeManagementEvents true (aws cloudtrail put-event-selectors)."},
			ResourceTypes: []string{"AWS::CloudTrail::Trail"}, Seeds: seedCloudTrail, Needs: []string{"cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors"},
			Check: func(r *Resource, _ *Env) Outcome {
				v, ok := r.String("management_events")
				if !ok {
					return Missing("the trail's event selectors were not read")
				}
				switch v {
				case "All":
					return Passed("the trail records read and write management events")
				case "":
					return Failed("the trail records no management events")
				}
				return Failed("the trail records %s management events only", v)
			},
			Pass: []Fixture{trail("all events")},
			Fail: []Fixture{trail("write only", "management_events", "WriteOnly"), trail("none", "management_events", "")},
		},
	)
}
