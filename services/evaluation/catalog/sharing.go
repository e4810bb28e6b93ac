package catalog

import (
	"slices"
	"strings"
)

func portfolio(name string, shares ...any) Fixture {
	if shares == nil {
		shares = []any{}
	}
	f := fixture(name, "AWS::ServiceCatalog::Portfolio", "portfolio_id", "port-abcdefghijklm", "shares", shares)
	f.Resource.ARN = "arn:aws:catalog:us-east-1:111122223333:portfolio/port-abcdefghijklm"
	f.Env.OrgAccounts = map[string]bool{"111122223333": true, "444455556666": true}
	return f
}

func share(typ, principal string) map[string]any {
	return map[string]any{"type": typ, "principal_id": principal}
}

func application(name string, labels []any, statements ...any) Fixture {
	f := fixture(name, "AWS::Serverless::Application", "labels", labels, "policy_statements", statements)
	f.Resource.ARN = "arn:aws:serverlessrepo:us-east-1:111122223333:applications/image-resizer"
	return f
}

func sarStatement(principals ...any) map[string]any {
	return map[string]any{"actions": []any{"Deploy"}, "principals": principals, "principal_org_ids": nil}
}

func constraint(name string, policies ...any) Fixture {
	f := fixture(name, "AWS::ServiceCatalog::Constraint", "constraint_id", "cons-abcdefghijklm", "type", "LAUNCH", "portfolio_id", "port-abcdefghijklm",
		"product_id", "prod-abcdefghijklm", "role_arn", "arn:aws:iam::111122223333:role/SCLaunchRole", "role_attached_policies", policies)
	f.Resource.ARN = "arn:aws:catalog:us-east-1:111122223333:constraint/cons-abcdefghijklm"
	return f
}

func init() {
	register(
		&Control{
			ID: "DPS-SHR-001", Title: "Portfolios are shared only inside the organization", Category: "sharing", Severity: high,
			Description:   "The portfolio has no account-to-account share with an account outside the AWS Organization.",
			Rationale:     "A portfolio shared outside the organization exposes its products, templates and free-form text to an account nobody in the organization controls.",
			Remediation:   []string{"Delete the share (aws servicecatalog delete-portfolio-share --portfolio-id <id> --account-id <account>).", "Share with the organization, an OU or member accounts through AWS Organizations sharing instead."},
			ResourceTypes: []string{"AWS::ServiceCatalog::Portfolio"}, Seeds: seedControl[:1], Needs: []string{"servicecatalog:ListPortfolios", "servicecatalog:DescribePortfolioShares"},
			Check: func(r *Resource, env *Env) Outcome {
				shares, ok := r.List("shares")
				if !ok {
					return Missing("the portfolio's shares were not read")
				}
				outside, unknown := 0, 0
				for _, s := range shares {
					m, _ := s.(map[string]any)
					typ, _ := m["type"].(string)
					id, _ := m["principal_id"].(string)
					if typ != "ACCOUNT" {
						continue // organization, OU and member-account shares stay inside the organization
					}
					switch {
					case env.OrgAccounts == nil:
						unknown++
					case !env.OrgAccounts[id]:
						outside++
					}
				}
				switch {
				case outside > 0:
					return Failed("the portfolio is shared with %d accounts outside the organization", outside)
				case unknown > 0:
					return Missing("the portfolio has %d account shares and the organization's accounts were not given", unknown)
				}
				return Passed("the portfolio is shared only inside the organization (%d shares)", len(shares))
			},
			Pass: []Fixture{
				portfolio("not shared"),
				portfolio("inside", share("ACCOUNT", "444455556666"), share("ORGANIZATION", "o-abcdefghij"), share("ORGANIZATIONAL_UNIT", "ou-ab12-cdefghij"),
					share("ORGANIZATION_MEMBER_ACCOUNT", "444455556666")),
			},
			Fail: []Fixture{portfolio("outside", share("ORGANIZATION", "o-abcdefghij"), share("ACCOUNT", "999988887777"))},
		},
		&Control{
			ID: "DPS-SHR-002", Title: "SAR applications are not public unless labelled public", Category: "sharing", Severity: high,
			Description:   "A Serverless Application Repository application shared with everyone (principal \"*\") carries the label \"public\" to show it is meant to be.",
			Rationale:     "A public application publishes its name, author, description, README and template to every AWS account; making that deliberate and visible prevents accidental exposure.",
			Remediation:   []string{"If the application should not be public, replace its policy (aws serverlessrepo put-application-policy) with statements for specific accounts or organization IDs.", "If it should, add the label \"public\"."},
			ResourceTypes: []string{"AWS::Serverless::Application"}, Seeds: seedControl[1:], Needs: []string{"serverlessrepo:ListApplications", "serverlessrepo:GetApplicationPolicy"},
			Check: func(r *Resource, _ *Env) Outcome {
				statements, ok := r.List("policy_statements")
				if !ok {
					return Missing("the application's policy was not read")
				}
				public := false
				for _, s := range statements {
					m, _ := s.(map[string]any)
					principals, _ := m["principals"].([]any)
					orgs, _ := m["principal_org_ids"].([]any)
					if slices.Contains(principals, any("*")) && len(orgs) == 0 {
						public = true
					}
				}
				if !public {
					return Passed("the application is not public")
				}
				labels, _ := r.Strings("labels")
				if slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, "public") }) {
					return Passed("the application is public and labelled so")
				}
				return Failed("the application is shared with everyone and not labelled public")
			},
			Pass: []Fixture{
				application("private", []any{"images"}, sarStatement("111122223333")),
				application("labelled", []any{"images", "public"}, sarStatement("*")),
			},
			Fail: []Fixture{application("unlabelled", []any{"images"}, sarStatement("*"))},
		},
		&Control{
			ID: "DPS-SHR-003", Title: "Launch constraints use dedicated roles, not administrator roles", Category: "sharing", Severity: high,
			Description:   "The role of a Service Catalog launch constraint does not have AdministratorAccess attached.",
			Rationale:     "End users launch products as the launch role; an administrator launch role gives every user of the portfolio full control of the account through any template.",
			Remediation:   []string{"Create a launch role with only the permissions the product's template needs (plus the Service Catalog and CloudFormation actions it uses) and update the constraint to use it."},
			ResourceTypes: []string{"AWS::ServiceCatalog::Constraint"}, Seeds: seedCredentials[:1],
			Needs: []string{"servicecatalog:ListPortfolios", "servicecatalog:ListConstraintsForPortfolio", "servicecatalog:DescribeConstraint", "iam:ListAttachedRolePolicies"},
			Check: func(r *Resource, _ *Env) Outcome {
				policies, ok := r.Strings("role_attached_policies")
				if !ok {
					return Missing("the launch role's policies were not read")
				}
				if slices.ContainsFunc(policies, isAdminPolicy) {
					return Failed("the launch role has AdministratorAccess attached")
				}
				return Passed("the launch role has no administrator policy")
			},
			Pass: []Fixture{constraint("dedicated", "arn:aws:iam::111122223333:policy/sc-launch-minimal")},
			Fail: []Fixture{constraint("admin", AdministratorAccess)},
		},
	)
}
