package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	sar "github.com/aws/aws-sdk-go-v2/service/serverlessapplicationrepository"
	"github.com/aws/aws-sdk-go-v2/service/servicecatalog"
	sctypes "github.com/aws/aws-sdk-go-v2/service/servicecatalog/types"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

func init() {
	register(&Collector{
		Name: "servicecatalog.portfolios", Service: "servicecatalog", Scope: regional,
		Types: []string{"AWS::ServiceCatalog::Portfolio", "AWS::ServiceCatalog::Constraint"},
		Actions: []string{"servicecatalog:ListPortfolios", "servicecatalog:DescribePortfolio", "servicecatalog:DescribePortfolioShares",
			"servicecatalog:ListConstraintsForPortfolio", "servicecatalog:DescribeConstraint", "iam:ListAttachedRolePolicies"},
		Description: "portfolios (free-form fields, tags, shares) and their launch constraints with the launch role's policies",
		Run:         collectPortfolios,
	})
	register(&Collector{
		Name: "servicecatalog.products", Service: "servicecatalog", Scope: regional, Types: []string{"AWS::ServiceCatalog::Product"},
		Actions: []string{"servicecatalog:SearchProductsAsAdmin", "servicecatalog:DescribeProductAsAdmin",
			"servicecatalog:DescribeProvisioningArtifact"},
		Description: "products (free-form fields, tags) and their provisioning artifacts' template URLs",
		Run:         collectProducts,
	})
	register(&Collector{
		Name: "servicecatalog.provisioned_products", Service: "servicecatalog", Scope: regional, Types: []string{"AWS::ServiceCatalog::ProvisionedProduct"},
		Actions: []string{"servicecatalog:SearchProvisionedProducts"}, Description: "provisioned products: names and tags",
		Run: collectProvisioned,
	})
	register(&Collector{
		Name: "servicecatalog.tag_options", Service: "servicecatalog", Scope: regional, Types: []string{"AWS::ServiceCatalog::TagOption"},
		Actions: []string{"servicecatalog:ListTagOptions"}, Description: "tag options: keys and values",
		Run: collectTagOptions,
	})
	register(&Collector{
		Name: "serverlessrepo.applications", Service: "serverlessrepo", Scope: regional, Types: []string{"AWS::Serverless::Application"},
		Actions: []string{"serverlessrepo:ListApplications", "serverlessrepo:GetApplication", "serverlessrepo:ListApplicationVersions",
			"serverlessrepo:GetApplicationPolicy"},
		Description: "Serverless Application Repository applications: author, description, labels, URLs of the application and its versions, sharing policy",
		Run:         collectApplications,
	})
}

func scTags(tags []sctypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func collectPortfolios(ctx context.Context, e *Env) error {
	c := e.Clients.ServiceCatalog()
	p := servicecatalog.NewListPortfoliosPaginator(c, &servicecatalog.ListPortfoliosInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "servicecatalog:ListPortfolios", "", err)
		}
		for _, pd := range page.PortfolioDetails {
			id := aws.ToString(pd.Id)
			arn := e.arn("catalog", e.Region, "portfolio/"+id)
			var fields []*collectionv1.FreeFormField
			fields = field(fields, "DisplayName", kindName, aws.ToString(pd.DisplayName))
			fields = field(fields, "Description", kindDesc, aws.ToString(pd.Description))
			fields = field(fields, "ProviderName", kindOwner, aws.ToString(pd.ProviderName))
			if d, err := c.DescribePortfolio(ctx, &servicecatalog.DescribePortfolioInput{Id: pd.Id}); err != nil {
				if ferr := e.fail(ctx, "servicecatalog:DescribePortfolio", arn, err); ferr != nil {
					return ferr
				}
			} else {
				fields = tagFields(fields, scTags(d.Tags))
			}
			var shares []any
			for _, typ := range []sctypes.DescribePortfolioShareType{sctypes.DescribePortfolioShareTypeAccount, sctypes.DescribePortfolioShareTypeOrganizationMemberAccount,
				sctypes.DescribePortfolioShareTypeOrganization, sctypes.DescribePortfolioShareTypeOrganizationalUnit} {
				sp := servicecatalog.NewDescribePortfolioSharesPaginator(c, &servicecatalog.DescribePortfolioSharesInput{PortfolioId: pd.Id, Type: typ})
				for sp.HasMorePages() {
					spg, err := sp.NextPage(ctx)
					if err != nil {
						if ferr := e.fail(ctx, "servicecatalog:DescribePortfolioShares", arn, err); ferr != nil {
							return ferr
						}
						break
					}
					for _, s := range spg.PortfolioShareDetails {
						shares = append(shares, map[string]any{"type": string(s.Type), "principal_id": aws.ToString(s.PrincipalId)})
					}
				}
			}
			if err := e.emit("AWS::ServiceCatalog::Portfolio", arn, e.Region, aws.ToString(pd.DisplayName), map[string]any{"portfolio_id": id, "shares": shares}, fields); err != nil {
				return err
			}
			if err := portfolioConstraints(ctx, e, c, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// portfolioConstraints emits the portfolio's launch constraints with the
// launch role's attached policies.
func portfolioConstraints(ctx context.Context, e *Env, c *servicecatalog.Client, portfolio string) error {
	p := servicecatalog.NewListConstraintsForPortfolioPaginator(c, &servicecatalog.ListConstraintsForPortfolioInput{PortfolioId: aws.String(portfolio)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "servicecatalog:ListConstraintsForPortfolio", e.arn("catalog", e.Region, "portfolio/"+portfolio), err)
		}
		for _, cd := range page.ConstraintDetails {
			if aws.ToString(cd.Type) != "LAUNCH" {
				continue
			}
			id := aws.ToString(cd.ConstraintId)
			arn := e.arn("catalog", e.Region, "constraint/"+id)
			d, err := c.DescribeConstraint(ctx, &servicecatalog.DescribeConstraintInput{Id: cd.ConstraintId})
			if err != nil {
				if ferr := e.fail(ctx, "servicecatalog:DescribeConstraint", arn, err); ferr != nil {
					return ferr
				}
				continue
			}
			var params struct{ RoleArn, LocalRoleName string }
			_ = json.Unmarshal([]byte(aws.ToString(d.ConstraintParameters)), &params)
			attrs := map[string]any{"constraint_id": id, "type": "LAUNCH", "portfolio_id": portfolio, "product_id": aws.ToString(cd.ProductId), "role_arn": params.RoleArn}
			role := params.LocalRoleName
			if role == "" && params.RoleArn != "" {
				role = params.RoleArn[strings.LastIndexByte(params.RoleArn, '/')+1:]
			}
			if role != "" {
				var attached []string
				ap := iam.NewListAttachedRolePoliciesPaginator(e.Clients.IAM(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
				readable := true
				for ap.HasMorePages() {
					apg, err := ap.NextPage(ctx)
					if err != nil {
						if ferr := e.fail(ctx, "iam:ListAttachedRolePolicies", arn, err); ferr != nil {
							return ferr
						}
						readable = false
						break
					}
					for _, pol := range apg.AttachedPolicies {
						attached = append(attached, aws.ToString(pol.PolicyArn))
					}
				}
				if readable {
					attrs["role_attached_policies"] = attached
				}
			}
			if err := e.emit("AWS::ServiceCatalog::Constraint", arn, e.Region, id, attrs, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectProducts(ctx context.Context, e *Env) error {
	c := e.Clients.ServiceCatalog()
	p := servicecatalog.NewSearchProductsAsAdminPaginator(c, &servicecatalog.SearchProductsAsAdminInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "servicecatalog:SearchProductsAsAdmin", "", err)
		}
		for _, pv := range page.ProductViewDetails {
			s := pv.ProductViewSummary
			id := aws.ToString(s.ProductId)
			arn := e.arn("catalog", e.Region, "product/"+id)
			var fields []*collectionv1.FreeFormField
			fields = field(fields, "Name", kindName, aws.ToString(s.Name))
			fields = field(fields, "Owner", kindOwner, aws.ToString(s.Owner))
			fields = field(fields, "Description", kindDesc, aws.ToString(s.ShortDescription))
			fields = field(fields, "Distributor", kindOwner, aws.ToString(s.Distributor))
			fields = field(fields, "SupportDescription", kindDesc, aws.ToString(s.SupportDescription))
			fields = field(fields, "SupportEmail", kindOther, aws.ToString(s.SupportEmail))
			fields = field(fields, "SupportUrl", kindURL, aws.ToString(s.SupportUrl))
			d, err := c.DescribeProductAsAdmin(ctx, &servicecatalog.DescribeProductAsAdminInput{Id: s.ProductId})
			if err != nil {
				if ferr := e.fail(ctx, "servicecatalog:DescribeProductAsAdmin", arn, err); ferr != nil {
					return ferr
				}
			} else {
				fields = tagFields(fields, scTags(d.Tags))
				for _, a := range d.ProvisioningArtifactSummaries {
					art, err := c.DescribeProvisioningArtifact(ctx, &servicecatalog.DescribeProvisioningArtifactInput{ProductId: s.ProductId, ProvisioningArtifactId: a.Id})
					if err != nil {
						if ferr := e.fail(ctx, "servicecatalog:DescribeProvisioningArtifact", arn, err); ferr != nil {
							return ferr
						}
						continue
					}
					u := art.Info["LoadTemplateFromURL"]
					if u == "" {
						u = art.Info["TemplateUrl"]
					}
					fields = field(fields, fmt.Sprintf("ProvisioningArtifacts[%s].TemplateUrl", aws.ToString(a.Id)), kindURL, u)
				}
			}
			if err := e.emit("AWS::ServiceCatalog::Product", arn, e.Region, aws.ToString(s.Name), map[string]any{"product_id": id, "type": string(s.Type)}, fields); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectProvisioned(ctx context.Context, e *Env) error {
	c := e.Clients.ServiceCatalog()
	p := servicecatalog.NewSearchProvisionedProductsPaginator(c, &servicecatalog.SearchProvisionedProductsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "servicecatalog:SearchProvisionedProducts", "", err)
		}
		for _, pp := range page.ProvisionedProducts {
			var fields []*collectionv1.FreeFormField
			fields = field(fields, "Name", kindName, aws.ToString(pp.Name))
			fields = tagFields(fields, scTags(pp.Tags))
			arn := aws.ToString(pp.Arn)
			if arn == "" {
				arn = e.arn("servicecatalog", e.Region, "stack/"+aws.ToString(pp.Name)+"/"+aws.ToString(pp.Id))
			}
			if err := e.emit("AWS::ServiceCatalog::ProvisionedProduct", arn, e.Region, aws.ToString(pp.Name), map[string]any{
				"provisioned_product_id": aws.ToString(pp.Id), "product_id": aws.ToString(pp.ProductId), "status": string(pp.Status)}, fields); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectTagOptions(ctx context.Context, e *Env) error {
	c := e.Clients.ServiceCatalog()
	p := servicecatalog.NewListTagOptionsPaginator(c, &servicecatalog.ListTagOptionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "servicecatalog:ListTagOptions", "", err)
		}
		for _, t := range page.TagOptionDetails {
			var fields []*collectionv1.FreeFormField
			fields = field(fields, "Key", collectionv1.FieldKind_FIELD_KIND_TAG_KEY, aws.ToString(t.Key))
			fields = field(fields, "Value", kindTagV, aws.ToString(t.Value))
			id := aws.ToString(t.Id)
			if err := e.emit("AWS::ServiceCatalog::TagOption", e.arn("catalog", e.Region, "tagoption/"+id), e.Region, id,
				map[string]any{"tag_option_id": id, "active": aws.ToBool(t.Active)}, fields); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectApplications(ctx context.Context, e *Env) error {
	c := e.Clients.SAR()
	p := sar.NewListApplicationsPaginator(c, &sar.ListApplicationsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "serverlessrepo:ListApplications", "", err)
		}
		for _, s := range page.Applications {
			arn := aws.ToString(s.ApplicationId)
			var fields []*collectionv1.FreeFormField
			fields = field(fields, "Name", kindName, aws.ToString(s.Name))
			fields = field(fields, "Author", kindOwner, aws.ToString(s.Author))
			fields = field(fields, "Description", kindDesc, aws.ToString(s.Description))
			for i, l := range s.Labels {
				fields = field(fields, fmt.Sprintf("Labels[%d]", i), kindLabel, l)
			}
			app, err := c.GetApplication(ctx, &sar.GetApplicationInput{ApplicationId: s.ApplicationId})
			if err != nil {
				if ferr := e.fail(ctx, "serverlessrepo:GetApplication", arn, err); ferr != nil {
					return ferr
				}
			} else {
				fields = field(fields, "HomePageUrl", kindURL, aws.ToString(app.HomePageUrl))
				fields = field(fields, "LicenseUrl", kindURL, aws.ToString(app.LicenseUrl))
				fields = field(fields, "ReadmeUrl", kindURL, aws.ToString(app.ReadmeUrl))
			}
			vp := sar.NewListApplicationVersionsPaginator(c, &sar.ListApplicationVersionsInput{ApplicationId: s.ApplicationId})
			for vp.HasMorePages() {
				vpg, err := vp.NextPage(ctx)
				if err != nil {
					if ferr := e.fail(ctx, "serverlessrepo:ListApplicationVersions", arn, err); ferr != nil {
						return ferr
					}
					break
				}
				// A version's TemplateUrl is a link AWS makes (and signs) to its
				// own copy of the template, not a URL a person entered: only the
				// source code URL is read.
				for _, v := range vpg.Versions {
					ver := aws.ToString(v.SemanticVersion)
					fields = field(fields, "Versions["+ver+"].SourceCodeUrl", kindURL, aws.ToString(v.SourceCodeUrl))
				}
			}
			attrs := map[string]any{"labels": s.Labels}
			pol, err := c.GetApplicationPolicy(ctx, &sar.GetApplicationPolicyInput{ApplicationId: s.ApplicationId})
			if err != nil {
				if ferr := e.fail(ctx, "serverlessrepo:GetApplicationPolicy", arn, err); ferr != nil {
					return ferr
				}
			} else {
				var st []any
				for _, p := range pol.Statements {
					st = append(st, map[string]any{"actions": p.Actions, "principals": p.Principals, "principal_org_ids": p.PrincipalOrgIDs})
				}
				attrs["policy_statements"] = st
			}
			if err := e.emit("AWS::Serverless::Application", arn, e.Region, aws.ToString(s.Name), attrs, fields); err != nil {
				return err
			}
		}
	}
	return nil
}
