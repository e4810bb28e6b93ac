package catalog

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// denyStatements returns a bucket policy's Deny statements that apply to
// everyone, every S3 action, and the bucket's objects.
func denyStatements(policy, bucketARN string) []statement {
	var p struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(policy), &p) != nil {
		return nil
	}
	var out []statement
	for _, st := range statements(p.Statement) {
		if st.Effect != "Deny" || !everyone(st.Principal) {
			continue
		}
		if !slices.ContainsFunc(oneOrMany(st.Action), func(a string) bool { return a == "*" || strings.EqualFold(a, "s3:*") }) {
			continue
		}
		// A deny on the bucket alone leaves its objects readable over plain HTTP.
		if !slices.ContainsFunc(oneOrMany(st.Resource), func(r string) bool { return wildcard(r, bucketARN+"/*") }) {
			continue
		}
		out = append(out, st)
	}
	return out
}

// everyone reports whether a principal is "*" or {"AWS": "*"}.
func everyone(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		return slices.Contains(oneOrMany(m["AWS"]), "*")
	}
	return false
}

// condition returns the values of a condition operator and key, both matched
// without regard to case as IAM does.
func (st statement) condition(op, key string) ([]string, bool) {
	for o, keys := range st.Condition {
		if !strings.EqualFold(o, op) {
			continue
		}
		for k, v := range keys {
			if strings.EqualFold(k, key) {
				return conditionValues(v), true
			}
		}
	}
	return nil, false
}

// bucketPolicy reads the bucket's policy: ok false when it could not be read.
func bucketPolicy(r *Resource) (policy string, out Outcome, ok bool) {
	if unreadable, _ := r.Bool("policy_unreadable"); unreadable {
		return "", Missing("the bucket policy could not be read"), false
	}
	p, present := r.String("policy")
	if !present {
		return "", Missing("the bucket policy was not collected"), false
	}
	return p, Outcome{}, true
}

func bucket(name string, policy any) Fixture {
	f := fixture(name, "AWS::S3::Bucket", "name", "example-bucket", "region", "us-east-1", "policy", policy)
	f.Resource.ARN = "arn:aws:s3:::example-bucket"
	return f
}

const (
	denyInsecure = `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::example-bucket","arn:aws:s3:::example-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`
	denyOldTLS   = `{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":["arn:aws:s3:::example-bucket","arn:aws:s3:::example-*/*"],"Condition":{"NumericLessThan":{"s3:TlsVersion":1.2}}}`
	allowRead    = `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::example-bucket/*"}`
)

func policyOf(st ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
}

func init() {
	s3Needs := []string{"s3:ListAllMyBuckets", "s3:GetBucketPolicy"}
	register(
		&Control{
			ID: "DPS-TLS-001", Title: "The bucket policy denies requests without TLS", Category: "transport", Severity: high,
			Description:   "The bucket's policy denies every S3 action to everyone when aws:SecureTransport is false, so data only travels over TLS.",
			Rationale:     "Without the deny, clients may read and write the bucket over plain HTTP, exposing data and credentials in transit.",
			Remediation:   []string{"Add a statement: Effect Deny, Principal \"*\", Action \"s3:*\", Resource the bucket and bucket/*, Condition {\"Bool\": {\"aws:SecureTransport\": \"false\"}}."},
			ResourceTypes: []string{"AWS::S3::Bucket"}, Seeds: seedTLS, Needs: s3Needs,
			Check: func(r *Resource, _ *Env) Outcome {
				policy, out, ok := bucketPolicy(r)
				if !ok {
					return out
				}
				if policy == "" {
					return Failed("the bucket has no policy, so requests over plain HTTP are allowed")
				}
				for _, st := range denyStatements(policy, r.ARN) {
					if v, ok := st.condition("Bool", "aws:SecureTransport"); ok && slices.ContainsFunc(v, func(s string) bool { return strings.EqualFold(s, "false") }) {
						return Passed("statement %q denies requests without TLS", st.Sid)
					}
				}
				return Failed("no statement denies requests where aws:SecureTransport is false")
			},
			Pass: []Fixture{bucket("deny insecure", policyOf(denyInsecure, allowRead))},
			Fail: []Fixture{bucket("no policy", ""), bucket("allow only", policyOf(allowRead)), bucket("deny for one principal only",
				policyOf(strings.Replace(denyInsecure, `"Principal":"*"`, `"Principal":{"AWS":"arn:aws:iam::111122223333:root"}`, 1))),
				bucket("deny on the bucket, not its objects", policyOf(strings.Replace(denyInsecure, `,"arn:aws:s3:::example-bucket/*"`, "", 1)))},
		},
		&Control{
			ID: "DPS-TLS-002", Title: "The bucket policy denies TLS older than 1.2", Category: "transport", Severity: medium,
			Description:   "The bucket's policy denies every S3 action to everyone when s3:TlsVersion is below 1.2.",
			Rationale:     "The seeds recommend TLS 1.2 or later; TLS 1.0 and 1.1 have known weaknesses and are deprecated.",
			Remediation:   []string{"Add a statement: Effect Deny, Principal \"*\", Action \"s3:*\", Resource the bucket and bucket/*, Condition {\"NumericLessThan\": {\"s3:TlsVersion\": \"1.2\"}}."},
			ResourceTypes: []string{"AWS::S3::Bucket"}, Seeds: seedTLS[:1], Needs: s3Needs,
			Check: func(r *Resource, _ *Env) Outcome {
				policy, out, ok := bucketPolicy(r)
				if !ok {
					return out
				}
				if policy == "" {
					return Failed("the bucket has no policy, so TLS below 1.2 is allowed")
				}
				for _, st := range denyStatements(policy, r.ARN) {
					v, ok := st.condition("NumericLessThan", "s3:TlsVersion")
					if !ok {
						continue
					}
					for _, s := range v {
						if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 1.2 {
							return Passed("statement %q denies TLS below %s", st.Sid, s)
						}
					}
				}
				return Failed("no statement denies requests where s3:TlsVersion is below 1.2")
			},
			Pass: []Fixture{bucket("deny old tls", policyOf(denyInsecure, denyOldTLS)), bucket("deny below 1.3", policyOf(strings.Replace(denyOldTLS, "1.2", `"1.3"`, 1)))},
			Fail: []Fixture{bucket("no policy", ""), bucket("only secure transport", policyOf(denyInsecure)),
				bucket("denies below 1.1", policyOf(strings.Replace(denyOldTLS, "1.2", "1.1", 1)))},
		},
		&Control{
			ID: "DPS-TLS-005", Title: "Callers of the Service Catalog and SAR APIs use TLS 1.2 or later", Category: "transport", Severity: medium,
			Description:   "CloudTrail events of servicecatalog.amazonaws.com and serverlessrepo.amazonaws.com in the lookup window show no call made over TLS 1.0 or 1.1.",
			Rationale:     "AWS still accepts some older TLS versions from old clients; the events' tlsDetails show which callers need upgrading before they can be refused.",
			Remediation:   []string{"Find the callers below TLS 1.2 (CloudTrail tlsDetails.tlsVersion) and upgrade their SDK, CLI or runtime.", "Then deny old TLS with an aws:TlsVersion condition in their IAM policies or an SCP."},
			ResourceTypes: []string{"AWS::CloudTrail::EventSource"}, Seeds: []Seed{seedTLS[0], seedTLSTransitSC, seedTLSTransitSAR}, Needs: []string{"cloudtrail:LookupEvents"},
			Check: func(r *Resource, _ *Env) Outcome {
				versions, ok := r.Struct("tls_versions")
				if !ok {
					return Missing("the events' TLS versions were not collected")
				}
				weak := 0.0
				total := 0.0
				for v, n := range versions {
					c, _ := n.(float64)
					total += c
					if v == "TLSv1" || v == "TLSv1.1" {
						weak += c
					}
				}
				callers, _ := r.Strings("callers_below_tls12")
				if weak > 0 || len(callers) > 0 {
					return Failed("%d of %d events came over TLS below 1.2, from %d callers", int(weak), int(total), len(callers))
				}
				return Passed("all %d events came over TLS 1.2 or later", int(total))
			},
			Pass: []Fixture{fixture("modern callers", "AWS::CloudTrail::EventSource", "event_source", "servicecatalog.amazonaws.com", "events", 3.0,
				"tls_versions", map[string]any{"TLSv1.2": 2.0, "TLSv1.3": 1.0}, "callers_below_tls12", []any{})},
			Fail: []Fixture{fixture("a tls 1.1 caller", "AWS::CloudTrail::EventSource", "event_source", "serverlessrepo.amazonaws.com", "events", 2.0,
				"tls_versions", map[string]any{"TLSv1.2": 1.0, "TLSv1.1": 1.0}, "callers_below_tls12", []any{"arn:aws:sts::111122223333:assumed-role/Dev/alice"})},
		},
	)
}

// wildcard matches an IAM resource pattern ("*" any run, "?" one character)
// against s.
func wildcard(pattern, s string) bool {
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
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
