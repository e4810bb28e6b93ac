package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/servicecatalog"
	sctypes "github.com/aws/aws-sdk-go-v2/service/servicecatalog/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/dpsweep/dpsweep/awssim/world"
)

const (
	scMember   = "222222222222" // in the organization, under scOU
	scSibling  = "444444444444" // in the organization, under the root
	scOutside  = "999999999999" // not in the organization
	scOU       = "ou-ab12-11111111"
	scOrg      = "o-abcdefghij"
	scRegion   = "us-east-1"
	scLaunch   = "arn:aws:iam::111111111111:role/SCLaunch-Role+=,.@_-"
	scCredsURL = "https://user:pw@templates.example.com/path/t.yaml?x=1&y=<2>"
	scHTTPURL  = "http://insecure.example.com/legacy.json"
	// scFree is a free-form value with characters a careless encoder changes.
	scFree = "Line one\nline \"two\" <b>&amp;</b> \\ tab\t ünïcödé ✓ 😀 '\u2028'"
)

var scCreated = time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// scWorld is a management account with a Service Catalog in us-east-1:
// two portfolios, three products with artifacts, provisioned products, tag
// options, shares to an in-org account, an out-of-org account, an OU and the
// organization, and LAUNCH and TEMPLATE constraints.
func scWorld(t testing.TB) *world.World {
	t.Helper()
	catalog := &world.Regional{
		Portfolios: []*world.Portfolio{
			{ID: "port-aaaa1111", DisplayName: "Shared " + scFree, Description: scFree, ProviderName: "IT <Platform> & Co", Created: scCreated,
				Tags:       map[string]string{"team": "platform", "cost-center": scFree},
				Products:   []string{"prod-aaaa1111", "prod-bbbb2222"},
				Principals: []string{"arn:aws:iam::111111111111:role/Developers", "arn:aws:iam:::role/ReadOnly*", "arn:aws:iam::111111111111:user/alice"},
				Shares:     []string{scMember, scOutside, scOU, scOrg},
				Constraints: []*world.Constraint{
					{ID: "cons-launch0001", Type: "LAUNCH", ProductID: "prod-aaaa1111", RoleARN: scLaunch, Description: scFree},
					{ID: "cons-tmpl00002", Type: "TEMPLATE", ProductID: "prod-bbbb2222"},
					{ID: "cons-launch0003", Type: "LAUNCH", ProductID: "prod-bbbb2222", RoleARN: "arn:aws:iam::111111111111:role/Other"},
				},
				TagOptions: []string{"tag-costa", "tag-env"}},
			{ID: "port-bbbb2222", DisplayName: "Second", Products: []string{"prod-aaaa1111", "prod-cccc3333"}},
		},
		Products: []*world.Product{
			{ID: "prod-aaaa1111", Name: "Web App", Owner: "Platform " + scFree, Description: scFree, Distributor: "Dist <x>",
				SupportDescription: "Call " + scFree, SupportEmail: "help+sc@example.com", SupportURL: "https://support.example.com/a?b=c&d=e",
				Tags: map[string]string{"app": "web"}, Created: scCreated,
				Artifacts: []*world.Artifact{
					{ID: "pa-aaaa0001", Name: "v1 " + scFree, Description: "first " + scFree, TemplateURL: scCredsURL, Active: true},
					{ID: "pa-aaaa0002", Name: "v2", TemplateURL: "https://s3.amazonaws.com/bucket/v2.yaml"},
				}},
			{ID: "prod-bbbb2222", Name: "Legacy", Owner: "ops", Created: scCreated,
				Artifacts: []*world.Artifact{{ID: "pa-bbbb0001", Name: "only", TemplateURL: scHTTPURL, Active: true}}},
			{ID: "prod-cccc3333", Name: "Bare",
				Artifacts: []*world.Artifact{{ID: "pa-cccc0001", Name: "bare", TemplateURL: "https://example.com/bare.yaml", Active: true}}},
		},
		Provisioned: []*world.ProvisionedProduct{
			{ID: "pp-aaaa1111", Name: "web-prod", ProductID: "prod-aaaa1111", ArtifactID: "pa-aaaa0001", Created: scCreated,
				Tags: map[string]string{"owner": scFree, "env": "prod"}},
			{ID: "pp-bbbb2222", Name: "legacy-1", ProductID: "prod-bbbb2222", ArtifactID: "pa-bbbb0001", Status: "TAINTED", Created: scCreated},
			{ID: "pp-cccc3333", Name: "bare-1", ProductID: "prod-cccc3333", ArtifactID: "pa-cccc0001", Status: "ERROR", Created: scCreated},
		},
		TagOptions: []*world.TagOption{
			{ID: "tag-costa", Key: "CostCenter", Value: "A " + scFree, Active: true},
			{ID: "tag-costb", Key: "CostCenter", Value: "B"},
			{ID: "tag-env", Key: "env", Value: "prod", Active: true},
		},
	}
	w := &world.World{
		OrganizationID: scOrg, ManagementAccount: mgmt, RootID: "r-ab12",
		OUs:     []*world.OU{{ID: scOU, Name: "Prod", Parent: "r-ab12"}},
		Regions: []world.RegionInfo{{Name: scRegion}, {Name: "eu-west-1"}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0,
				Regional: map[string]*world.Regional{scRegion: catalog}},
			{ID: scMember, Name: "prod", Email: "aws-prod@example.com", Parent: scOU, Created: t0,
				Roles: []*world.Role{{Name: "dpsweep-readonly"}},
				Regional: map[string]*world.Regional{scRegion: {Portfolios: []*world.Portfolio{
					{ID: "port-member001", DisplayName: "Member's own", Created: scCreated}}}}},
			{ID: scSibling, Name: "sandbox", Email: "aws-sandbox@example.com", Created: t0},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

func scClient(url, account, region string) *servicecatalog.Client {
	return servicecatalog.NewFromConfig(cfg(url, account, region))
}

// scNoValidation drops the SDK's client-side check of required members, so
// the simulator's own check answers.
func scNoValidation(o *servicecatalog.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		_, err := s.Initialize.Remove("OperationInputValidation")
		return err
	})
}

func scEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestServiceCatalogPortfolios(t *testing.T) {
	t.Parallel()
	_, url := sim(t, scWorld(t), Options{})
	c := scClient(url, mgmt, scRegion)

	lp, err := c.ListPortfolios(ctx(t), &servicecatalog.ListPortfoliosInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.PortfolioDetails) != 2 || lp.NextPageToken != nil {
		t.Fatalf("ListPortfolios = %+v", lp)
	}
	pd := lp.PortfolioDetails[0]
	scEq(t, "Id", aws.ToString(pd.Id), "port-aaaa1111")
	scEq(t, "ARN", aws.ToString(pd.ARN), "arn:aws:catalog:us-east-1:111111111111:portfolio/port-aaaa1111")
	scEq(t, "DisplayName", aws.ToString(pd.DisplayName), "Shared "+scFree)
	scEq(t, "Description", aws.ToString(pd.Description), scFree)
	scEq(t, "ProviderName", aws.ToString(pd.ProviderName), "IT <Platform> & Co")
	if !aws.ToTime(pd.CreatedTime).Equal(scCreated) {
		t.Errorf("CreatedTime = %v, want %v", aws.ToTime(pd.CreatedTime), scCreated)
	}
	if second := lp.PortfolioDetails[1]; second.Description != nil || second.ProviderName != nil {
		t.Errorf("empty Description/ProviderName came back as %q/%q", aws.ToString(second.Description), aws.ToString(second.ProviderName))
	}

	dp, err := c.DescribePortfolio(ctx(t), &servicecatalog.DescribePortfolioInput{Id: aws.String("port-aaaa1111")})
	if err != nil {
		t.Fatal(err)
	}
	scEq(t, "DescribePortfolio Description", aws.ToString(dp.PortfolioDetail.Description), scFree)
	tags := map[string]string{}
	for _, tg := range dp.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if len(tags) != 2 || tags["team"] != "platform" || tags["cost-center"] != scFree {
		t.Errorf("portfolio tags = %v", tags)
	}
	if len(dp.TagOptions) != 2 || aws.ToString(dp.TagOptions[0].Id) != "tag-costa" || aws.ToString(dp.TagOptions[0].Value) != "A "+scFree ||
		!aws.ToBool(dp.TagOptions[0].Active) || aws.ToString(dp.TagOptions[0].Owner) != mgmt || aws.ToString(dp.TagOptions[1].Key) != "env" {
		t.Errorf("portfolio tag options = %+v", dp.TagOptions)
	}
	if dp.Budgets == nil || len(dp.Budgets) != 0 {
		t.Errorf("Budgets = %#v, want empty", dp.Budgets)
	}
	dp2, err := c.DescribePortfolio(ctx(t), &servicecatalog.DescribePortfolioInput{Id: aws.String("port-bbbb2222")})
	if err != nil || len(dp2.Tags) != 0 || len(dp2.TagOptions) != 0 {
		t.Errorf("second portfolio = %+v, %v", dp2, err)
	}

	// Portfolios for a product.
	lpp, err := c.ListPortfoliosForProduct(ctx(t), &servicecatalog.ListPortfoliosForProductInput{ProductId: aws.String("prod-aaaa1111")})
	if err != nil || len(lpp.PortfolioDetails) != 2 {
		t.Fatalf("ListPortfoliosForProduct = %+v, %v", lpp, err)
	}
	lpp, err = c.ListPortfoliosForProduct(ctx(t), &servicecatalog.ListPortfoliosForProductInput{ProductId: aws.String("prod-cccc3333")})
	if err != nil || len(lpp.PortfolioDetails) != 1 || aws.ToString(lpp.PortfolioDetails[0].Id) != "port-bbbb2222" {
		t.Fatalf("ListPortfoliosForProduct(bare) = %+v, %v", lpp, err)
	}

	// The catalog is regional and per account.
	if other, err := scClient(url, mgmt, "eu-west-1").ListPortfolios(ctx(t), &servicecatalog.ListPortfoliosInput{}); err != nil || len(other.PortfolioDetails) != 0 {
		t.Errorf("eu-west-1 portfolios = %+v, %v", other, err)
	}
	base := cfg(url, mgmt, scRegion)
	assumed := base.Copy()
	assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), "arn:aws:iam::"+scMember+":role/dpsweep-readonly"))
	mine, err := servicecatalog.NewFromConfig(assumed).ListPortfolios(ctx(t), &servicecatalog.ListPortfoliosInput{})
	if err != nil || len(mine.PortfolioDetails) != 1 || aws.ToString(mine.PortfolioDetails[0].ARN) != "arn:aws:catalog:us-east-1:"+scMember+":portfolio/port-member001" {
		t.Errorf("member role session portfolios = %+v, %v", mine, err)
	}
	if _, err := servicecatalog.NewFromConfig(assumed).DescribePortfolio(ctx(t), &servicecatalog.DescribePortfolioInput{Id: aws.String("port-aaaa1111")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("another account's portfolio: %v", err)
	}
}

func TestServiceCatalogProducts(t *testing.T) {
	t.Parallel()
	_, url := sim(t, scWorld(t), Options{})
	c := scClient(url, mgmt, scRegion)

	sp, err := c.SearchProductsAsAdmin(ctx(t), &servicecatalog.SearchProductsAsAdminInput{})
	if err != nil || len(sp.ProductViewDetails) != 3 {
		t.Fatalf("SearchProductsAsAdmin = %+v, %v", sp, err)
	}
	v := sp.ProductViewDetails[0]
	s := v.ProductViewSummary
	scEq(t, "ProductViewSummary.Id", aws.ToString(s.Id), "prodview-aaaa1111")
	scEq(t, "ProductId", aws.ToString(s.ProductId), "prod-aaaa1111")
	scEq(t, "Name", aws.ToString(s.Name), "Web App")
	scEq(t, "Owner", aws.ToString(s.Owner), "Platform "+scFree)
	scEq(t, "ShortDescription", aws.ToString(s.ShortDescription), scFree)
	scEq(t, "Type", s.Type, sctypes.ProductTypeCloudFormationTemplate)
	scEq(t, "Distributor", aws.ToString(s.Distributor), "Dist <x>")
	scEq(t, "HasDefaultPath", s.HasDefaultPath, false)
	scEq(t, "SupportEmail", aws.ToString(s.SupportEmail), "help+sc@example.com")
	scEq(t, "SupportDescription", aws.ToString(s.SupportDescription), "Call "+scFree)
	scEq(t, "SupportUrl", aws.ToString(s.SupportUrl), "https://support.example.com/a?b=c&d=e")
	scEq(t, "Status", v.Status, sctypes.StatusAvailable)
	scEq(t, "ProductARN", aws.ToString(v.ProductARN), "arn:aws:catalog:us-east-1:111111111111:product/prod-aaaa1111")
	if !aws.ToTime(v.CreatedTime).Equal(scCreated) {
		t.Errorf("product CreatedTime = %v", aws.ToTime(v.CreatedTime))
	}
	if bare := sp.ProductViewDetails[2].ProductViewSummary; bare.Owner != nil || bare.SupportUrl != nil || bare.ShortDescription != nil {
		t.Errorf("bare product's empty fields = %+v", bare)
	}

	inPortfolio, err := c.SearchProductsAsAdmin(ctx(t), &servicecatalog.SearchProductsAsAdminInput{PortfolioId: aws.String("port-bbbb2222")})
	if err != nil || len(inPortfolio.ProductViewDetails) != 2 || aws.ToString(inPortfolio.ProductViewDetails[1].ProductViewSummary.ProductId) != "prod-cccc3333" {
		t.Fatalf("SearchProductsAsAdmin(port-bbbb2222) = %+v, %v", inPortfolio, err)
	}

	for _, in := range []*servicecatalog.DescribeProductAsAdminInput{{Id: aws.String("prod-aaaa1111")}, {Name: aws.String("Web App")}} {
		dp, err := c.DescribeProductAsAdmin(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		scEq(t, "DescribeProductAsAdmin ProductId", aws.ToString(dp.ProductViewDetail.ProductViewSummary.ProductId), "prod-aaaa1111")
		scEq(t, "DescribeProductAsAdmin ShortDescription", aws.ToString(dp.ProductViewDetail.ProductViewSummary.ShortDescription), scFree)
		if len(dp.ProvisioningArtifactSummaries) != 2 || aws.ToString(dp.ProvisioningArtifactSummaries[0].Name) != "v1 "+scFree ||
			aws.ToString(dp.ProvisioningArtifactSummaries[0].Description) != "first "+scFree || aws.ToString(dp.ProvisioningArtifactSummaries[1].Id) != "pa-aaaa0002" {
			t.Errorf("artifact summaries = %+v", dp.ProvisioningArtifactSummaries)
		}
		if len(dp.Tags) != 1 || aws.ToString(dp.Tags[0].Key) != "app" || aws.ToString(dp.Tags[0].Value) != "web" || dp.TagOptions == nil || dp.Budgets == nil {
			t.Errorf("product tags = %+v, tag options %+v, budgets %+v", dp.Tags, dp.TagOptions, dp.Budgets)
		}
	}

	la, err := c.ListProvisioningArtifacts(ctx(t), &servicecatalog.ListProvisioningArtifactsInput{ProductId: aws.String("prod-aaaa1111")})
	if err != nil || len(la.ProvisioningArtifactDetails) != 2 {
		t.Fatalf("ListProvisioningArtifacts = %+v, %v", la, err)
	}
	a := la.ProvisioningArtifactDetails[0]
	scEq(t, "artifact Id", aws.ToString(a.Id), "pa-aaaa0001")
	scEq(t, "artifact Name", aws.ToString(a.Name), "v1 "+scFree)
	scEq(t, "artifact Description", aws.ToString(a.Description), "first "+scFree)
	scEq(t, "artifact Type", a.Type, sctypes.ProvisioningArtifactTypeCloudFormationTemplate)
	scEq(t, "artifact Guidance", a.Guidance, sctypes.ProvisioningArtifactGuidanceDefault)
	if a.Active == nil || !*a.Active || la.ProvisioningArtifactDetails[1].Active == nil || *la.ProvisioningArtifactDetails[1].Active {
		t.Errorf("artifact Active = %v, %v; want true, false", a.Active, la.ProvisioningArtifactDetails[1].Active)
	}
	if !aws.ToTime(a.CreatedTime).Equal(scCreated) {
		t.Errorf("artifact CreatedTime = %v", aws.ToTime(a.CreatedTime))
	}

	urls := map[[2]string]string{
		{"prod-aaaa1111", "pa-aaaa0001"}: scCredsURL,
		{"prod-aaaa1111", "pa-aaaa0002"}: "https://s3.amazonaws.com/bucket/v2.yaml",
		{"prod-bbbb2222", "pa-bbbb0001"}: scHTTPURL,
	}
	for k, want := range urls {
		da, err := c.DescribeProvisioningArtifact(ctx(t), &servicecatalog.DescribeProvisioningArtifactInput{ProductId: aws.String(k[0]), ProvisioningArtifactId: aws.String(k[1])})
		if err != nil {
			t.Fatalf("DescribeProvisioningArtifact %v: %v", k, err)
		}
		scEq(t, "Info.LoadTemplateFromURL "+k[1], da.Info["LoadTemplateFromURL"], want)
		scEq(t, "ProvisioningArtifactDetail.Id", aws.ToString(da.ProvisioningArtifactDetail.Id), k[1])
		scEq(t, "Status", da.Status, sctypes.StatusAvailable)
	}
	byName, err := c.DescribeProvisioningArtifact(ctx(t), &servicecatalog.DescribeProvisioningArtifactInput{ProductName: aws.String("Web App"), ProvisioningArtifactName: aws.String("v1 " + scFree)})
	if err != nil || aws.ToString(byName.ProvisioningArtifactDetail.Id) != "pa-aaaa0001" || byName.Info["LoadTemplateFromURL"] != scCredsURL {
		t.Errorf("DescribeProvisioningArtifact by names = %+v, %v", byName, err)
	}
}

func TestServiceCatalogProvisionedProducts(t *testing.T) {
	t.Parallel()
	_, url := sim(t, scWorld(t), Options{})
	c := scClient(url, mgmt, scRegion)

	sp, err := c.SearchProvisionedProducts(ctx(t), &servicecatalog.SearchProvisionedProductsInput{
		AccessLevelFilter: &sctypes.AccessLevelFilter{Key: sctypes.AccessLevelFilterKeyAccount, Value: aws.String("self")}})
	if err != nil || len(sp.ProvisionedProducts) != 3 || sp.TotalResultsCount != 3 {
		t.Fatalf("SearchProvisionedProducts = %+v, %v", sp, err)
	}
	p := sp.ProvisionedProducts[0]
	scEq(t, "Name", aws.ToString(p.Name), "web-prod")
	scEq(t, "Arn", aws.ToString(p.Arn), "arn:aws:servicecatalog:us-east-1:111111111111:stack/web-prod/pp-aaaa1111")
	scEq(t, "Type", aws.ToString(p.Type), "CFN_STACK")
	scEq(t, "Id", aws.ToString(p.Id), "pp-aaaa1111")
	scEq(t, "Status", p.Status, sctypes.ProvisionedProductStatusAvailable)
	scEq(t, "ProductId", aws.ToString(p.ProductId), "prod-aaaa1111")
	scEq(t, "ProductName", aws.ToString(p.ProductName), "Web App")
	scEq(t, "ProvisioningArtifactId", aws.ToString(p.ProvisioningArtifactId), "pa-aaaa0001")
	if !aws.ToTime(p.CreatedTime).Equal(scCreated) {
		t.Errorf("CreatedTime = %v", aws.ToTime(p.CreatedTime))
	}
	tags := map[string]string{}
	for _, tg := range p.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if len(tags) != 2 || tags["owner"] != scFree || tags["env"] != "prod" {
		t.Errorf("provisioned product tags = %v", tags)
	}
	scEq(t, "second Status", sp.ProvisionedProducts[1].Status, sctypes.ProvisionedProductStatusTainted)
	scEq(t, "third Status", sp.ProvisionedProducts[2].Status, sctypes.ProvisionedProductStatusError)

	scan, err := c.ScanProvisionedProducts(ctx(t), &servicecatalog.ScanProvisionedProductsInput{})
	if err != nil || len(scan.ProvisionedProducts) != 3 || scan.NextPageToken != nil {
		t.Fatalf("ScanProvisionedProducts = %+v, %v", scan, err)
	}
	d := scan.ProvisionedProducts[1]
	if aws.ToString(d.Id) != "pp-bbbb2222" || aws.ToString(d.Name) != "legacy-1" || aws.ToString(d.Arn) != "arn:aws:servicecatalog:us-east-1:111111111111:stack/legacy-1/pp-bbbb2222" ||
		aws.ToString(d.Type) != "CFN_STACK" || d.Status != sctypes.ProvisionedProductStatusTainted || aws.ToString(d.ProductId) != "prod-bbbb2222" ||
		aws.ToString(d.ProvisioningArtifactId) != "pa-bbbb0001" || !aws.ToTime(d.CreatedTime).Equal(scCreated) {
		t.Errorf("ScanProvisionedProducts[1] = %+v", d)
	}
}

func TestServiceCatalogSharesPrincipalsConstraints(t *testing.T) {
	t.Parallel()
	_, url := sim(t, scWorld(t), Options{})
	c := scClient(url, mgmt, scRegion)
	port := aws.String("port-aaaa1111")

	acc, err := c.ListPortfolioAccess(ctx(t), &servicecatalog.ListPortfolioAccessInput{PortfolioId: port})
	if err != nil || !slices.Equal(acc.AccountIds, []string{scMember, scOutside}) {
		t.Errorf("ListPortfolioAccess = %+v, %v", acc, err)
	}
	for node, want := range map[string][]string{scOU: {scMember}, scOrg: {scMember, scSibling}, "r-ab12": {scMember, scSibling}} {
		acc, err := c.ListPortfolioAccess(ctx(t), &servicecatalog.ListPortfolioAccessInput{PortfolioId: port, OrganizationParentId: aws.String(node)})
		if err != nil || !slices.Equal(acc.AccountIds, want) {
			t.Errorf("ListPortfolioAccess(%s) = %+v, %v; want %v", node, acc, err, want)
		}
	}
	if acc, err := c.ListPortfolioAccess(ctx(t), &servicecatalog.ListPortfolioAccessInput{PortfolioId: aws.String("port-bbbb2222")}); err != nil || len(acc.AccountIds) != 0 {
		t.Errorf("unshared portfolio access = %+v, %v", acc, err)
	}

	want := map[sctypes.DescribePortfolioShareType][]string{
		sctypes.DescribePortfolioShareTypeAccount:                   {scMember, scOutside},
		sctypes.DescribePortfolioShareTypeOrganization:              {scOrg},
		sctypes.DescribePortfolioShareTypeOrganizationalUnit:        {scOU},
		sctypes.DescribePortfolioShareTypeOrganizationMemberAccount: nil,
	}
	for typ, ids := range want {
		out, err := c.DescribePortfolioShares(ctx(t), &servicecatalog.DescribePortfolioSharesInput{PortfolioId: port, Type: typ})
		if err != nil {
			t.Fatalf("DescribePortfolioShares(%s): %v", typ, err)
		}
		var got []string
		for _, d := range out.PortfolioShareDetails {
			got = append(got, aws.ToString(d.PrincipalId))
			if d.Type != typ || !d.Accepted || d.ShareTagOptions || d.SharePrincipals {
				t.Errorf("share detail %+v", d)
			}
		}
		if !slices.Equal(got, ids) {
			t.Errorf("DescribePortfolioShares(%s) = %v, want %v", typ, got, ids)
		}
	}

	pr, err := c.ListPrincipalsForPortfolio(ctx(t), &servicecatalog.ListPrincipalsForPortfolioInput{PortfolioId: port})
	if err != nil || len(pr.Principals) != 3 {
		t.Fatalf("ListPrincipalsForPortfolio = %+v, %v", pr, err)
	}
	scEq(t, "PrincipalARN", aws.ToString(pr.Principals[0].PrincipalARN), "arn:aws:iam::111111111111:role/Developers")
	scEq(t, "PrincipalType", pr.Principals[0].PrincipalType, sctypes.PrincipalTypeIam)
	scEq(t, "pattern PrincipalType", pr.Principals[1].PrincipalType, sctypes.PrincipalTypeIamPattern)

	lc, err := c.ListConstraintsForPortfolio(ctx(t), &servicecatalog.ListConstraintsForPortfolioInput{PortfolioId: port})
	if err != nil || len(lc.ConstraintDetails) != 3 {
		t.Fatalf("ListConstraintsForPortfolio = %+v, %v", lc, err)
	}
	k := lc.ConstraintDetails[0]
	scEq(t, "ConstraintId", aws.ToString(k.ConstraintId), "cons-launch0001")
	scEq(t, "Type", aws.ToString(k.Type), "LAUNCH")
	scEq(t, "Description", aws.ToString(k.Description), scFree)
	scEq(t, "Owner", aws.ToString(k.Owner), mgmt)
	scEq(t, "ProductId", aws.ToString(k.ProductId), "prod-aaaa1111")
	scEq(t, "PortfolioId", aws.ToString(k.PortfolioId), "port-aaaa1111")
	byProduct, err := c.ListConstraintsForPortfolio(ctx(t), &servicecatalog.ListConstraintsForPortfolioInput{PortfolioId: port, ProductId: aws.String("prod-bbbb2222")})
	if err != nil || len(byProduct.ConstraintDetails) != 2 || aws.ToString(byProduct.ConstraintDetails[0].ConstraintId) != "cons-tmpl00002" {
		t.Errorf("ListConstraintsForPortfolio(prod-bbbb2222) = %+v, %v", byProduct, err)
	}

	dc, err := c.DescribeConstraint(ctx(t), &servicecatalog.DescribeConstraintInput{Id: aws.String("cons-launch0001")})
	if err != nil {
		t.Fatal(err)
	}
	scEq(t, "ConstraintParameters", aws.ToString(dc.ConstraintParameters), `{"RoleArn":"`+scLaunch+`"}`)
	scEq(t, "DescribeConstraint Status", dc.Status, sctypes.StatusAvailable)
	scEq(t, "DescribeConstraint Description", aws.ToString(dc.ConstraintDetail.Description), scFree)
	scEq(t, "DescribeConstraint PortfolioId", aws.ToString(dc.ConstraintDetail.PortfolioId), "port-aaaa1111")
	tmpl, err := c.DescribeConstraint(ctx(t), &servicecatalog.DescribeConstraintInput{Id: aws.String("cons-tmpl00002")})
	if err != nil || aws.ToString(tmpl.ConstraintDetail.Type) != "TEMPLATE" || !strings.HasPrefix(aws.ToString(tmpl.ConstraintParameters), "{") {
		t.Errorf("TEMPLATE constraint = %+v, %v", tmpl, err)
	}
}

func TestServiceCatalogTagOptions(t *testing.T) {
	t.Parallel()
	_, url := sim(t, scWorld(t), Options{})
	c := scClient(url, mgmt, scRegion)
	ids := func(f *sctypes.ListTagOptionsFilters) []string {
		out, err := c.ListTagOptions(ctx(t), &servicecatalog.ListTagOptionsInput{Filters: f})
		if err != nil {
			t.Fatalf("ListTagOptions(%+v): %v", f, err)
		}
		var ids []string
		for _, o := range out.TagOptionDetails {
			ids = append(ids, aws.ToString(o.Id))
		}
		return ids
	}
	all, err := c.ListTagOptions(ctx(t), &servicecatalog.ListTagOptionsInput{})
	if err != nil || len(all.TagOptionDetails) != 3 {
		t.Fatalf("ListTagOptions = %+v, %v", all, err)
	}
	o := all.TagOptionDetails[0]
	if aws.ToString(o.Key) != "CostCenter" || aws.ToString(o.Value) != "A "+scFree || !aws.ToBool(o.Active) || aws.ToString(o.Id) != "tag-costa" || aws.ToString(o.Owner) != mgmt {
		t.Errorf("tag option = %+v", o)
	}
	if o := all.TagOptionDetails[1]; o.Active == nil || *o.Active {
		t.Errorf("inactive tag option Active = %v", o.Active)
	}
	for _, tc := range []struct {
		f    *sctypes.ListTagOptionsFilters
		want []string
	}{
		{&sctypes.ListTagOptionsFilters{Key: aws.String("CostCenter")}, []string{"tag-costa", "tag-costb"}},
		{&sctypes.ListTagOptionsFilters{Key: aws.String("CostCenter"), Value: aws.String("B")}, []string{"tag-costb"}},
		{&sctypes.ListTagOptionsFilters{Active: aws.Bool(true)}, []string{"tag-costa", "tag-env"}},
		{&sctypes.ListTagOptionsFilters{Active: aws.Bool(false)}, []string{"tag-costb"}},
		{&sctypes.ListTagOptionsFilters{Key: aws.String("nope")}, nil},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("ListTagOptions(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

// TestServiceCatalogPaginators walks every paged list one item a page with
// the SDK's paginators.
func TestServiceCatalogPaginators(t *testing.T) {
	t.Parallel()
	s, url := sim(t, scWorld(t), Options{Faults: Faults{PageSize: 1}})
	c := scClient(url, mgmt, scRegion)
	port := aws.String("port-aaaa1111")
	check := func(what string, got []string, pages int, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
		if pages != max(len(want), 1) {
			t.Errorf("%s took %d pages, want %d", what, pages, max(len(want), 1))
		}
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewListPortfoliosPaginator(c, &servicecatalog.ListPortfoliosInput{}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.PortfolioDetails {
				got = append(got, aws.ToString(d.Id))
			}
		}
		check("ListPortfolios", got, n, "port-aaaa1111", "port-bbbb2222")
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewSearchProductsAsAdminPaginator(c, &servicecatalog.SearchProductsAsAdminInput{}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.ProductViewDetails {
				got = append(got, aws.ToString(d.ProductViewSummary.ProductId))
			}
		}
		check("SearchProductsAsAdmin", got, n, "prod-aaaa1111", "prod-bbbb2222", "prod-cccc3333")
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewSearchProvisionedProductsPaginator(c, &servicecatalog.SearchProvisionedProductsInput{}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if out.TotalResultsCount != 3 {
				t.Errorf("TotalResultsCount = %d on a page", out.TotalResultsCount)
			}
			for _, d := range out.ProvisionedProducts {
				got = append(got, aws.ToString(d.Id))
			}
		}
		check("SearchProvisionedProducts", got, n, "pp-aaaa1111", "pp-bbbb2222", "pp-cccc3333")
	}
	{
		// ScanProvisionedProducts has no SDK paginator: follow its tokens.
		var got []string
		n := 0
		in := &servicecatalog.ScanProvisionedProductsInput{}
		for {
			out, err := c.ScanProvisionedProducts(ctx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			n++
			for _, d := range out.ProvisionedProducts {
				got = append(got, aws.ToString(d.Id))
			}
			if out.NextPageToken == nil {
				break
			}
			in.PageToken = out.NextPageToken
		}
		check("ScanProvisionedProducts", got, n, "pp-aaaa1111", "pp-bbbb2222", "pp-cccc3333")
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewListPortfolioAccessPaginator(c, &servicecatalog.ListPortfolioAccessInput{PortfolioId: port, OrganizationParentId: aws.String(scOrg)}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, out.AccountIds...)
		}
		check("ListPortfolioAccess", got, n, scMember, scSibling)
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewDescribePortfolioSharesPaginator(c, &servicecatalog.DescribePortfolioSharesInput{PortfolioId: port, Type: sctypes.DescribePortfolioShareTypeAccount}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.PortfolioShareDetails {
				got = append(got, aws.ToString(d.PrincipalId))
			}
		}
		check("DescribePortfolioShares", got, n, scMember, scOutside)
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewListPrincipalsForPortfolioPaginator(c, &servicecatalog.ListPrincipalsForPortfolioInput{PortfolioId: port}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.Principals {
				got = append(got, aws.ToString(d.PrincipalARN))
			}
		}
		check("ListPrincipalsForPortfolio", got, n, "arn:aws:iam::111111111111:role/Developers", "arn:aws:iam:::role/ReadOnly*", "arn:aws:iam::111111111111:user/alice")
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewListConstraintsForPortfolioPaginator(c, &servicecatalog.ListConstraintsForPortfolioInput{PortfolioId: port}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.ConstraintDetails {
				got = append(got, aws.ToString(d.ConstraintId))
			}
		}
		check("ListConstraintsForPortfolio", got, n, "cons-launch0001", "cons-tmpl00002", "cons-launch0003")
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewListTagOptionsPaginator(c, &servicecatalog.ListTagOptionsInput{}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.TagOptionDetails {
				got = append(got, aws.ToString(d.Id))
			}
		}
		check("ListTagOptions", got, n, "tag-costa", "tag-costb", "tag-env")
	}
	{
		var got []string
		n := 0
		for p := servicecatalog.NewListPortfoliosForProductPaginator(c, &servicecatalog.ListPortfoliosForProductInput{ProductId: aws.String("prod-aaaa1111")}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.PortfolioDetails {
				got = append(got, aws.ToString(d.Id))
			}
		}
		check("ListPortfoliosForProduct", got, n, "port-aaaa1111", "port-bbbb2222")
	}
	// An empty list is one page with no token.
	{
		var got []string
		n := 0
		for p := servicecatalog.NewDescribePortfolioSharesPaginator(c, &servicecatalog.DescribePortfolioSharesInput{PortfolioId: aws.String("port-bbbb2222"), Type: sctypes.DescribePortfolioShareTypeOrganization}); p.HasMorePages(); n++ {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.PortfolioShareDetails {
				got = append(got, aws.ToString(d.PrincipalId))
			}
		}
		check("DescribePortfolioShares(empty)", got, n)
	}
	// Every call was counted against the management account in us-east-1.
	if n := s.Counts()[CountKey{"servicecatalog", "ListTagOptions", mgmt, scRegion}]; n != 3 {
		t.Errorf("ListTagOptions count = %d, want 3", n)
	}
}

func TestServiceCatalogErrors(t *testing.T) {
	t.Parallel()
	_, url := sim(t, scWorld(t), Options{})
	c := scClient(url, mgmt, scRegion)
	loose := servicecatalog.NewFromConfig(cfg(url, mgmt, scRegion), scNoValidation)
	const nf, inv = "ResourceNotFoundException", "InvalidParametersException"
	missing := aws.String("port-missing")
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"DescribePortfolio unknown", func() error {
			_, err := c.DescribePortfolio(ctx(t), &servicecatalog.DescribePortfolioInput{Id: missing})
			return err
		}, nf},
		{"DescribePortfolio no Id", func() error {
			_, err := loose.DescribePortfolio(ctx(t), &servicecatalog.DescribePortfolioInput{})
			return err
		}, inv},
		{"ListPortfolios PageSize 21", func() error {
			_, err := c.ListPortfolios(ctx(t), &servicecatalog.ListPortfoliosInput{PageSize: 21})
			return err
		}, inv},
		{"ListPortfolios bad token", func() error {
			_, err := c.ListPortfolios(ctx(t), &servicecatalog.ListPortfoliosInput{PageToken: aws.String("garbage")})
			return err
		}, inv},
		{"SearchProductsAsAdmin PageSize 101", func() error {
			_, err := c.SearchProductsAsAdmin(ctx(t), &servicecatalog.SearchProductsAsAdminInput{PageSize: 101})
			return err
		}, inv},
		{"SearchProductsAsAdmin unknown portfolio", func() error {
			_, err := c.SearchProductsAsAdmin(ctx(t), &servicecatalog.SearchProductsAsAdminInput{PortfolioId: missing})
			return err
		}, nf},
		{"DescribeProductAsAdmin unknown", func() error {
			_, err := c.DescribeProductAsAdmin(ctx(t), &servicecatalog.DescribeProductAsAdminInput{Id: aws.String("prod-missing")})
			return err
		}, nf},
		{"DescribeProductAsAdmin unknown name", func() error {
			_, err := c.DescribeProductAsAdmin(ctx(t), &servicecatalog.DescribeProductAsAdminInput{Name: aws.String("No Such Product")})
			return err
		}, nf},
		{"DescribeProductAsAdmin neither Id nor Name", func() error {
			_, err := c.DescribeProductAsAdmin(ctx(t), &servicecatalog.DescribeProductAsAdminInput{})
			return err
		}, inv},
		{"ListProvisioningArtifacts unknown", func() error {
			_, err := c.ListProvisioningArtifacts(ctx(t), &servicecatalog.ListProvisioningArtifactsInput{ProductId: aws.String("prod-missing")})
			return err
		}, nf},
		{"ListProvisioningArtifacts no ProductId", func() error {
			_, err := loose.ListProvisioningArtifacts(ctx(t), &servicecatalog.ListProvisioningArtifactsInput{})
			return err
		}, inv},
		{"DescribeProvisioningArtifact unknown artifact", func() error {
			_, err := c.DescribeProvisioningArtifact(ctx(t), &servicecatalog.DescribeProvisioningArtifactInput{ProductId: aws.String("prod-aaaa1111"), ProvisioningArtifactId: aws.String("pa-bbbb0001")})
			return err
		}, nf},
		{"DescribeProvisioningArtifact unknown product", func() error {
			_, err := c.DescribeProvisioningArtifact(ctx(t), &servicecatalog.DescribeProvisioningArtifactInput{ProductId: aws.String("prod-missing"), ProvisioningArtifactId: aws.String("pa-aaaa0001")})
			return err
		}, nf},
		{"DescribeProvisioningArtifact no artifact", func() error {
			_, err := c.DescribeProvisioningArtifact(ctx(t), &servicecatalog.DescribeProvisioningArtifactInput{ProductId: aws.String("prod-aaaa1111")})
			return err
		}, inv},
		{"SearchProvisionedProducts PageSize 101", func() error {
			_, err := c.SearchProvisionedProducts(ctx(t), &servicecatalog.SearchProvisionedProductsInput{PageSize: 101})
			return err
		}, inv},
		{"ScanProvisionedProducts PageSize 21", func() error {
			_, err := c.ScanProvisionedProducts(ctx(t), &servicecatalog.ScanProvisionedProductsInput{PageSize: 21})
			return err
		}, inv},
		{"ListPortfolioAccess unknown", func() error {
			_, err := c.ListPortfolioAccess(ctx(t), &servicecatalog.ListPortfolioAccessInput{PortfolioId: missing})
			return err
		}, nf},
		{"ListPortfolioAccess unknown node", func() error {
			_, err := c.ListPortfolioAccess(ctx(t), &servicecatalog.ListPortfolioAccessInput{PortfolioId: aws.String("port-aaaa1111"), OrganizationParentId: aws.String("ou-zz99-99999999")})
			return err
		}, nf},
		{"ListPortfolioAccess no PortfolioId", func() error {
			_, err := loose.ListPortfolioAccess(ctx(t), &servicecatalog.ListPortfolioAccessInput{})
			return err
		}, inv},
		{"DescribePortfolioShares no Type", func() error {
			_, err := loose.DescribePortfolioShares(ctx(t), &servicecatalog.DescribePortfolioSharesInput{PortfolioId: aws.String("port-aaaa1111")})
			return err
		}, inv},
		{"DescribePortfolioShares bad Type", func() error {
			_, err := c.DescribePortfolioShares(ctx(t), &servicecatalog.DescribePortfolioSharesInput{PortfolioId: aws.String("port-aaaa1111"), Type: "EVERYONE"})
			return err
		}, inv},
		{"DescribePortfolioShares unknown", func() error {
			_, err := c.DescribePortfolioShares(ctx(t), &servicecatalog.DescribePortfolioSharesInput{PortfolioId: missing, Type: sctypes.DescribePortfolioShareTypeAccount})
			return err
		}, nf},
		{"ListPrincipalsForPortfolio unknown", func() error {
			_, err := c.ListPrincipalsForPortfolio(ctx(t), &servicecatalog.ListPrincipalsForPortfolioInput{PortfolioId: missing})
			return err
		}, nf},
		{"ListConstraintsForPortfolio unknown", func() error {
			_, err := c.ListConstraintsForPortfolio(ctx(t), &servicecatalog.ListConstraintsForPortfolioInput{PortfolioId: missing})
			return err
		}, nf},
		{"ListConstraintsForPortfolio PageSize 21", func() error {
			_, err := c.ListConstraintsForPortfolio(ctx(t), &servicecatalog.ListConstraintsForPortfolioInput{PortfolioId: aws.String("port-aaaa1111"), PageSize: 21})
			return err
		}, inv},
		{"DescribeConstraint unknown", func() error {
			_, err := c.DescribeConstraint(ctx(t), &servicecatalog.DescribeConstraintInput{Id: aws.String("cons-missing")})
			return err
		}, nf},
		{"DescribeConstraint no Id", func() error {
			_, err := loose.DescribeConstraint(ctx(t), &servicecatalog.DescribeConstraintInput{})
			return err
		}, inv},
		{"ListTagOptions PageSize 101", func() error {
			_, err := c.ListTagOptions(ctx(t), &servicecatalog.ListTagOptionsInput{PageSize: 101})
			return err
		}, inv},
		{"ListPortfoliosForProduct unknown", func() error {
			_, err := c.ListPortfoliosForProduct(ctx(t), &servicecatalog.ListPortfoliosForProductInput{ProductId: aws.String("prod-missing")})
			return err
		}, nf},
		{"ListPortfoliosForProduct no ProductId", func() error {
			_, err := loose.ListPortfoliosForProduct(ctx(t), &servicecatalog.ListPortfoliosForProductInput{})
			return err
		}, inv},
	}
	for _, tc := range cases {
		if got := apiCode(tc.call()); got != tc.want {
			t.Errorf("%s: error code %q, want %q", tc.name, got, tc.want)
		}
	}
	// The largest allowed page sizes are accepted.
	if _, err := c.ListPortfolios(ctx(t), &servicecatalog.ListPortfoliosInput{PageSize: 20}); err != nil {
		t.Errorf("ListPortfolios PageSize 20: %v", err)
	}
	if _, err := c.SearchProvisionedProducts(ctx(t), &servicecatalog.SearchProvisionedProductsInput{PageSize: 100}); err != nil {
		t.Errorf("SearchProvisionedProducts PageSize 100: %v", err)
	}
}
