package collect

import (
	"context"
	"encoding/csv"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

const global = collectionv1.Scope_SCOPE_GLOBAL

func init() {
	register(&Collector{
		Name: "iam.root", Service: "iam", Scope: global, Types: []string{"AWS::IAM::Root"},
		Actions:     []string{"iam:GetAccountSummary", "iam:GenerateCredentialReport", "iam:GetCredentialReport"},
		Description: "the root user: MFA, access keys, last use (account summary and credential report)",
		Run:         collectRoot,
	})
	register(&Collector{
		Name: "iam.users", Service: "iam", Scope: global, Types: []string{"AWS::IAM::User"},
		Actions: []string{"iam:ListUsers", "iam:ListAttachedUserPolicies", "iam:ListUserPolicies", "iam:GetUserPolicy",
			"iam:GenerateCredentialReport", "iam:GetCredentialReport"},
		Description: "IAM users: console password, MFA, access keys and their age (credential report), attached and inline policies",
		Run:         collectUsers,
	})
	register(&Collector{
		Name: "iam.password_policy", Service: "iam", Scope: global, Types: []string{"AWS::IAM::PasswordPolicy"},
		Actions: []string{"iam:GetAccountPasswordPolicy"}, Description: "the account password policy",
		Run: collectPasswordPolicy,
	})
}

// credentialReport generates (once per inventory) and parses the IAM
// credential report: one row per user, keyed by user name, "<root_account>"
// for the root user.
func credentialReport(ctx context.Context, e *Env) (map[string]map[string]string, error) {
	v, _ := e.shared.LoadOrStore("iam.credential_report", &onceValue{})
	ov := v.(*onceValue)
	ov.once.Do(func() {
		c := e.Clients.IAM()
		ov.err = func() error {
			for i := 0; ; i++ {
				g, err := c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
				if err != nil {
					return err
				}
				if g.State == iamtypes.ReportStateTypeComplete || i >= 20 {
					break
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(100*(i+1)) * time.Millisecond):
				}
			}
			r, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
			if err != nil {
				return err
			}
			recs, err := csv.NewReader(strings.NewReader(string(r.Content))).ReadAll()
			if err != nil || len(recs) < 1 {
				return err
			}
			rows := map[string]map[string]string{}
			for _, rec := range recs[1:] {
				row := map[string]string{}
				for i, h := range recs[0] {
					if i < len(rec) {
						row[h] = rec[i]
					}
				}
				rows[row["user"]] = row
			}
			ov.val = rows
			return nil
		}()
	})
	if ov.err != nil {
		return nil, ov.err
	}
	return ov.val.(map[string]map[string]string), nil
}

type onceValue struct {
	once sync.Once
	val  any
	err  error
}

func reportTime(s string) any {
	if s == "" || s == "N/A" || s == "no_information" || s == "not_supported" {
		return nil
	}
	return s
}

func collectRoot(ctx context.Context, e *Env) error {
	arn := "arn:" + e.Partition + ":iam::" + e.Account + ":root"
	sum, err := e.Clients.IAM().GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		return e.fail(ctx, "iam:GetAccountSummary", arn, err)
	}
	attrs := map[string]any{
		"mfa_enabled":         sum.SummaryMap["AccountMFAEnabled"] == 1,
		"access_keys_present": sum.SummaryMap["AccountAccessKeysPresent"] == 1,
	}
	rows, err := credentialReport(ctx, e)
	if err != nil {
		if ferr := e.fail(ctx, "iam:GetCredentialReport", arn, err); ferr != nil {
			return ferr
		}
	} else if root, ok := rows["<root_account>"]; ok {
		attrs["password_last_used"] = reportTime(root["password_last_used"])
		attrs["access_key_1_active"] = root["access_key_1_active"] == "true"
		attrs["access_key_2_active"] = root["access_key_2_active"] == "true"
		attrs["access_key_1_last_used"] = reportTime(root["access_key_1_last_used_date"])
		attrs["access_key_2_last_used"] = reportTime(root["access_key_2_last_used_date"])
		attrs["credential_report"] = true
	}
	return e.emit("AWS::IAM::Root", arn, "global", "root", attrs, nil)
}

func collectUsers(ctx context.Context, e *Env) error {
	c := e.Clients.IAM()
	rows, err := credentialReport(ctx, e)
	if err != nil {
		if ferr := e.fail(ctx, "iam:GetCredentialReport", "", err); ferr != nil {
			return ferr
		}
		rows = nil
	}
	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "iam:ListUsers", "", err)
		}
		for _, u := range page.Users {
			name, arn := aws.ToString(u.UserName), aws.ToString(u.Arn)
			attrs := map[string]any{"name": name, "created": u.CreateDate.UTC().Format(time.RFC3339)}
			if row, ok := rows[name]; ok {
				attrs["password_enabled"] = row["password_enabled"] == "true"
				attrs["mfa_active"] = row["mfa_active"] == "true"
				var keys []any
				for _, k := range []string{"1", "2"} {
					if row["access_key_"+k+"_active"] == "true" {
						keys = append(keys, map[string]any{"active": true, "last_rotated": reportTime(row["access_key_"+k+"_last_rotated"])})
					}
				}
				attrs["active_access_keys"] = keys
			}
			var attached []string
			ap := iam.NewListAttachedUserPoliciesPaginator(c, &iam.ListAttachedUserPoliciesInput{UserName: u.UserName})
			for ap.HasMorePages() {
				pg, err := ap.NextPage(ctx)
				if err != nil {
					if ferr := e.fail(ctx, "iam:ListAttachedUserPolicies", arn, err); ferr != nil {
						return ferr
					}
					break
				}
				for _, pol := range pg.AttachedPolicies {
					attached = append(attached, aws.ToString(pol.PolicyArn))
				}
			}
			attrs["attached_policies"] = attached
			var inline []any
			ip := iam.NewListUserPoliciesPaginator(c, &iam.ListUserPoliciesInput{UserName: u.UserName})
			for ip.HasMorePages() {
				pg, err := ip.NextPage(ctx)
				if err != nil {
					if ferr := e.fail(ctx, "iam:ListUserPolicies", arn, err); ferr != nil {
						return ferr
					}
					break
				}
				for _, pn := range pg.PolicyNames {
					doc, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: u.UserName, PolicyName: aws.String(pn)})
					if err != nil {
						if ferr := e.fail(ctx, "iam:GetUserPolicy", arn, err); ferr != nil {
							return ferr
						}
						continue
					}
					text, _ := url.QueryUnescape(aws.ToString(doc.PolicyDocument))
					inline = append(inline, map[string]any{"name": pn, "document": text})
				}
			}
			attrs["inline_policies"] = inline
			if err := e.emit("AWS::IAM::User", arn, "global", name, attrs, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectPasswordPolicy(ctx context.Context, e *Env) error {
	arn := "arn:" + e.Partition + ":iam::" + e.Account + ":password-policy"
	out, err := e.Clients.IAM().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if isCode(err, "NoSuchEntity") {
		return e.emit("AWS::IAM::PasswordPolicy", arn, "global", "password-policy", map[string]any{"present": false}, nil)
	}
	if err != nil {
		return e.fail(ctx, "iam:GetAccountPasswordPolicy", arn, err)
	}
	p := out.PasswordPolicy
	return e.emit("AWS::IAM::PasswordPolicy", arn, "global", "password-policy", map[string]any{
		"present": true, "minimum_length": aws.ToInt32(p.MinimumPasswordLength), "require_symbols": p.RequireSymbols,
		"require_numbers": p.RequireNumbers, "require_uppercase": p.RequireUppercaseCharacters, "require_lowercase": p.RequireLowercaseCharacters,
		"max_age_days": aws.ToInt32(p.MaxPasswordAge), "reuse_prevention": aws.ToInt32(p.PasswordReusePrevention),
	}, nil)
}
