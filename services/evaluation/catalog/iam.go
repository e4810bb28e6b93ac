package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

const (
	high     = evaluationv1.Severity_SEVERITY_HIGH
	critical = evaluationv1.Severity_SEVERITY_CRITICAL
	medium   = evaluationv1.Severity_SEVERITY_MEDIUM
	low      = evaluationv1.Severity_SEVERITY_LOW
)

// maxAge is how old a credential may be, or how recently the root user may
// have been used, before a control fails.
const maxAge = 90 * 24 * time.Hour

// AdministratorAccess is AWS's full-access managed policy.
const AdministratorAccess = "arn:aws:iam::aws:policy/AdministratorAccess"

func isAdminPolicy(arn string) bool {
	// Any partition: arn:aws-us-gov:iam::aws:policy/AdministratorAccess too.
	return strings.HasPrefix(arn, "arn:") && strings.HasSuffix(arn, ":iam::aws:policy/AdministratorAccess")
}

func attrs(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func fixture(name string, typ string, kv ...any) Fixture {
	return Fixture{Name: name, Resource: Resource{ARN: "arn:aws:test:us-east-1:111122223333:" + strings.ReplaceAll(name, " ", "-"), Type: typ,
		Account: "111122223333", Region: "us-east-1", Attrs: attrs(kv...)}}
}

func ago(d time.Duration) string { return FixtureNow.Add(-d).Format(time.RFC3339) }

const day = 24 * time.Hour

func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func init() {
	register(
		&Control{
			ID: "DPS-IAM-001", Title: "The root user has no access keys", Category: "identity", Severity: critical,
			Description:   "The account's root user must not have access keys: nothing should call AWS APIs as root.",
			Rationale:     "Root access keys cannot be limited by IAM policies; a leaked root key gives full, unrestricted control of the account and its data.",
			Remediation:   []string{"Sign in as the root user and delete its access keys (Security credentials > Access keys).", "Give workloads IAM roles, and people IAM Identity Center or IAM users with least-privilege policies."},
			ResourceTypes: []string{"AWS::IAM::Root"}, Seeds: seedCredentials, Needs: []string{"iam:GetAccountSummary"},
			Check: func(r *Resource, _ *Env) Outcome {
				keys, ok := r.Bool("access_keys_present")
				if !ok {
					return Missing("the account summary was not read")
				}
				if keys {
					return Failed("the root user has access keys")
				}
				return Passed("the root user has no access keys")
			},
			Pass: []Fixture{fixture("no keys", "AWS::IAM::Root", "access_keys_present", false, "mfa_enabled", true)},
			Fail: []Fixture{fixture("a key", "AWS::IAM::Root", "access_keys_present", true, "mfa_enabled", true)},
		},
		&Control{
			ID: "DPS-IAM-002", Title: "The root user was not used in the last 90 days", Category: "identity", Severity: high,
			Description:   "The root user — its password and its access keys — was last used more than 90 days ago, or never.",
			Rationale:     "Everyday work as root bypasses least privilege and leaves actions unattributable to a person; root should be kept for the few tasks that need it.",
			Remediation:   []string{"Find who signs in as root (CloudTrail ConsoleLogin events with userIdentity.type Root) and give them an IAM role or Identity Center permission set instead.", "Lock the root password away and protect it with MFA."},
			ResourceTypes: []string{"AWS::IAM::Root"}, Seeds: seedCredentials,
			Needs: []string{"iam:GetAccountSummary", "iam:GetCredentialReport", "iam:GenerateCredentialReport"},
			Check: func(r *Resource, env *Env) Outcome {
				if report, _ := r.Bool("credential_report"); !report {
					return Missing("the credential report was not read")
				}
				var last time.Time
				what := ""
				for _, k := range []struct{ attr, name string }{{"password_last_used", "password"}, {"access_key_1_last_used", "first access key"},
					{"access_key_2_last_used", "second access key"}} {
					v, ok := r.String(k.attr)
					if !ok {
						continue
					}
					t, parsed := parseTime(v)
					if !parsed {
						return Missing("the root user's last use is not a time")
					}
					if t.After(last) {
						last, what = t, k.name
					}
				}
				if last.IsZero() {
					return Passed("the root user was never used")
				}
				if age := env.Now.Sub(last); age < maxAge {
					return Failed("the root user's %s was used %d days ago", what, int(age/day))
				}
				return Passed("the root user was last used %d days ago", int(env.Now.Sub(last)/day))
			},
			Pass: []Fixture{
				fixture("never used", "AWS::IAM::Root", "credential_report", true, "password_last_used", nil),
				fixture("used long ago", "AWS::IAM::Root", "credential_report", true, "password_last_used", ago(200*day), "access_key_1_last_used", ago(120*day)),
			},
			Fail: []Fixture{
				fixture("password used last week", "AWS::IAM::Root", "credential_report", true, "password_last_used", ago(7*day)),
				fixture("key used yesterday", "AWS::IAM::Root", "credential_report", true, "password_last_used", ago(300*day), "access_key_2_last_used", ago(day)),
			},
		},
		&Control{
			ID: "DPS-IAM-003", Title: "No IAM user has administrator access attached directly", Category: "identity", Severity: high,
			Description:   "IAM users do not have AdministratorAccess, or an inline policy allowing every action on every resource, attached to them.",
			Rationale:     "Each user should get only the permissions their job needs; full access attached to a user is standing privilege that outlives the need for it.",
			Remediation:   []string{"Detach AdministratorAccess and delete inline policies that allow \"*\" on \"*\".", "Grant the permissions the person needs through a group or a role they assume when needed."},
			ResourceTypes: []string{"AWS::IAM::User"}, Seeds: seedCredentials,
			Needs: []string{"iam:ListUsers", "iam:ListAttachedUserPolicies", "iam:ListUserPolicies", "iam:GetUserPolicy"},
			Check: func(r *Resource, _ *Env) Outcome {
				attached, ok := r.Strings("attached_policies")
				if !ok {
					return Missing("the user's attached policies were not read")
				}
				if slices.ContainsFunc(attached, isAdminPolicy) {
					return Failed("AdministratorAccess is attached to the user")
				}
				inline, ok := r.List("inline_policies")
				if !ok {
					return Missing("the user's inline policies were not read")
				}
				for _, p := range inline {
					m, _ := p.(map[string]any)
					doc, _ := m["document"].(string)
					if allowsEverything(doc) {
						name, _ := m["name"].(string)
						return Failed("inline policy %q allows every action on every resource", name)
					}
				}
				return Passed("no administrator policy is attached to the user")
			},
			Pass: []Fixture{
				fixture("read only", "AWS::IAM::User", "attached_policies", []any{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, "inline_policies", nil),
				fixture("scoped inline", "AWS::IAM::User", "attached_policies", nil, "inline_policies", []any{map[string]any{"name": "s3", "document": `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`}}),
			},
			Fail: []Fixture{
				fixture("managed admin", "AWS::IAM::User", "attached_policies", []any{AdministratorAccess}, "inline_policies", nil),
				fixture("inline star", "AWS::IAM::User", "attached_policies", nil, "inline_policies", []any{map[string]any{"name": "all", "document": `{"Statement":{"Effect":"Allow","Action":["*"],"Resource":"*"}}`}}),
			},
		},
		&Control{
			ID: "DPS-IAM-004", Title: "Every active access key was rotated in the last 90 days", Category: "identity", Severity: medium,
			Description:   "An IAM user's active access keys are at most 90 days old.",
			Rationale:     "Long-lived keys accumulate in scripts, laptops and logs; rotating them bounds how long a leaked key stays useful.",
			Remediation:   []string{"Create a new access key, move the user's software to it, then deactivate and delete the old key.", "Better: replace the key with a role the workload assumes."},
			ResourceTypes: []string{"AWS::IAM::User"}, Seeds: seedCredentials, Needs: []string{"iam:ListUsers", "iam:GetCredentialReport", "iam:GenerateCredentialReport"},
			Check: func(r *Resource, env *Env) Outcome {
				keys, ok := r.List("active_access_keys")
				if !ok {
					return Missing("the credential report was not read")
				}
				if len(keys) == 0 {
					return NotApplicable
				}
				oldest := time.Duration(0)
				for _, k := range keys {
					m, _ := k.(map[string]any)
					s, _ := m["last_rotated"].(string)
					t, parsed := parseTime(s)
					if !parsed {
						return Missing("an access key's rotation time is unknown")
					}
					oldest = max(oldest, env.Now.Sub(t))
				}
				if oldest > maxAge {
					return Failed("an active access key is %d days old", int(oldest/day))
				}
				return Passed("the oldest active access key is %d days old", int(oldest/day))
			},
			Pass: []Fixture{fixture("fresh key", "AWS::IAM::User", "active_access_keys", []any{map[string]any{"active": true, "last_rotated": ago(30 * day)}})},
			Fail: []Fixture{fixture("stale key", "AWS::IAM::User", "active_access_keys", []any{
				map[string]any{"active": true, "last_rotated": ago(10 * day)}, map[string]any{"active": true, "last_rotated": ago(400 * day)}})},
		},
		&Control{
			ID: "DPS-IAM-005", Title: "The root user has MFA", Category: "identity", Severity: critical,
			Description:   "Multi-factor authentication is enabled for the account's root user.",
			Rationale:     "The root password alone opens every resource of the account; a second factor stops a stolen or guessed password from being enough.",
			Remediation:   []string{"Sign in as the root user and assign an MFA device (Security credentials > Multi-factor authentication).", "Prefer a hardware key or passkey, kept where at least two people can reach it."},
			ResourceTypes: []string{"AWS::IAM::Root"}, Seeds: seedMFA, Needs: []string{"iam:GetAccountSummary"},
			Check: func(r *Resource, _ *Env) Outcome {
				mfa, ok := r.Bool("mfa_enabled")
				if !ok {
					return Missing("the account summary was not read")
				}
				if !mfa {
					return Failed("the root user has no MFA device")
				}
				return Passed("the root user has MFA")
			},
			Pass: []Fixture{fixture("mfa", "AWS::IAM::Root", "mfa_enabled", true)},
			Fail: []Fixture{fixture("no mfa", "AWS::IAM::Root", "mfa_enabled", false)},
		},
		&Control{
			ID: "DPS-IAM-006", Title: "Every IAM user with a console password has MFA", Category: "identity", Severity: high,
			Description:   "IAM users who can sign in to the console have an MFA device.",
			Rationale:     "A console password is phishable and reusable; MFA on each account is the seeds' first recommendation.",
			Remediation:   []string{"Have the user assign an MFA device, and enforce it with a policy that denies actions without aws:MultiFactorAuthPresent.", "Remove the console password of users who do not need the console."},
			ResourceTypes: []string{"AWS::IAM::User"}, Seeds: seedMFA, Needs: []string{"iam:ListUsers", "iam:GetCredentialReport", "iam:GenerateCredentialReport"},
			Check: func(r *Resource, _ *Env) Outcome {
				password, ok := r.Bool("password_enabled")
				if !ok {
					return Missing("the credential report was not read")
				}
				if !password {
					return NotApplicable
				}
				if mfa, _ := r.Bool("mfa_active"); !mfa {
					return Failed("the user has a console password and no MFA device")
				}
				return Passed("the user has a console password and MFA")
			},
			Pass: []Fixture{fixture("console with mfa", "AWS::IAM::User", "password_enabled", true, "mfa_active", true)},
			Fail: []Fixture{fixture("console without mfa", "AWS::IAM::User", "password_enabled", true, "mfa_active", false)},
		},
	)
}

// allowsEverything reports whether a policy document has an Allow statement
// for every action on every resource.
func allowsEverything(doc string) bool {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return false
	}
	for _, st := range statements(p.Statement) {
		if st.Effect == "Allow" && slices.Contains(oneOrMany(st.Action), "*") && slices.Contains(oneOrMany(st.Resource), "*") {
			return true
		}
	}
	return false
}

// statement is one IAM or bucket policy statement.
type statement struct {
	Sid       string
	Effect    string
	Principal json.RawMessage
	Action    json.RawMessage
	Resource  json.RawMessage
	Condition map[string]map[string]json.RawMessage
}

// statements reads a Statement that is one object or a list of them.
func statements(raw json.RawMessage) []statement {
	var list []statement
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one statement
	if json.Unmarshal(raw, &one) == nil {
		return []statement{one}
	}
	return nil
}

// oneOrMany reads a JSON string or list of strings.
func oneOrMany(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	return nil
}

// conditionValues reads a condition's values (a string, bool, number or a list of them) as strings.
func conditionValues(raw json.RawMessage) []string {
	var list []any
	if json.Unmarshal(raw, &list) != nil {
		var one any
		if json.Unmarshal(raw, &one) != nil {
			return nil
		}
		list = []any{one}
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		out = append(out, fmt.Sprint(v))
	}
	return out
}
