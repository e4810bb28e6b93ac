package collect

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

func init() {
	register(&Collector{
		Name: "organizations.accounts", Service: "organizations", Scope: global, Types: []string{"AWS::Organizations::Account"},
		Actions: []string{"organizations:DescribeOrganization", "organizations:ListRoots", "organizations:ListOrganizationalUnitsForParent",
			"organizations:ListAccountsForParent", "organizations:ListTagsForResource"},
		Description: "the organization's accounts with their OU path and tags (run against the management account, on request)",
		OnRequest:   true,
		Run:         collectOrgAccounts,
	})
}

// collectOrgAccounts walks the organization from its root, so each
// account's OU path comes from the walk rather than a call per account.
// Tags do take a call per account; the request can leave them out.
func collectOrgAccounts(ctx context.Context, e *Env) error {
	c := e.Clients.Organizations()
	_, omitTags := e.shared.Load("organizations.omit_tags")
	org, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return e.fail(ctx, "organizations:DescribeOrganization", "", err)
	}
	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return e.fail(ctx, "organizations:ListRoots", "", err)
	}
	var walk func(parent string, path []string) error
	walk = func(parent string, path []string) error {
		path = append(path, parent)
		ap := organizations.NewListAccountsForParentPaginator(c, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return e.fail(ctx, "organizations:ListAccountsForParent", "", err)
			}
			for _, a := range page.Accounts {
				ous := make([]any, len(path))
				for i, p := range path {
					ous[i] = p
				}
				attrs := map[string]any{
					"account_id": aws.ToString(a.Id), "status": string(a.Status), "state": string(a.State), "email_domain": emailDomain(aws.ToString(a.Email)),
					"parent_path": ous, "organization_id": aws.ToString(org.Organization.Id),
				}
				if !omitTags {
					tags := map[string]any{}
					tp := organizations.NewListTagsForResourcePaginator(c, &organizations.ListTagsForResourceInput{ResourceId: a.Id})
					for tp.HasMorePages() {
						tpg, err := tp.NextPage(ctx)
						if err != nil {
							if ferr := e.fail(ctx, "organizations:ListTagsForResource", aws.ToString(a.Arn), err); ferr != nil {
								return ferr
							}
							break
						}
						for _, t := range tpg.Tags {
							tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
						}
					}
					attrs["tags"] = tags
				}
				if err := e.emit("AWS::Organizations::Account", aws.ToString(a.Arn), "global", aws.ToString(a.Name), attrs, nil); err != nil {
					return err
				}
			}
		}
		op := organizations.NewListOrganizationalUnitsForParentPaginator(c, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for op.HasMorePages() {
			page, err := op.NextPage(ctx)
			if err != nil {
				return e.fail(ctx, "organizations:ListOrganizationalUnitsForParent", "", err)
			}
			for _, ou := range page.OrganizationalUnits {
				if err := walk(aws.ToString(ou.Id), path); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, r := range roots.Roots {
		if err := walk(aws.ToString(r.Id), nil); err != nil {
			return err
		}
	}
	return nil
}

// emailDomain keeps only the domain of an account's e-mail address: the
// address itself is personal data dpsweep does not need.
func emailDomain(email string) string {
	for i := len(email) - 1; i >= 0; i-- {
		if email[i] == '@' {
			return email[i+1:]
		}
	}
	return ""
}
