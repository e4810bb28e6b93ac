package server

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// Service Catalog (JSON 1.1, regional): the read-only administrator calls a
// sweep makes over an account's portfolios, products, provisioning artifacts,
// provisioned products, shares, principals, constraints and tag options.
// Everything is read from the caller's own account in the signing region.

func init() {
	register("servicecatalog", "ListPortfolios", scListPortfolios)
	register("servicecatalog", "DescribePortfolio", scDescribePortfolio)
	register("servicecatalog", "SearchProductsAsAdmin", scSearchProductsAsAdmin)
	register("servicecatalog", "DescribeProductAsAdmin", scDescribeProductAsAdmin)
	register("servicecatalog", "ListProvisioningArtifacts", scListProvisioningArtifacts)
	register("servicecatalog", "DescribeProvisioningArtifact", scDescribeProvisioningArtifact)
	register("servicecatalog", "SearchProvisionedProducts", scSearchProvisionedProducts)
	register("servicecatalog", "ScanProvisionedProducts", scScanProvisionedProducts)
	register("servicecatalog", "ListPortfolioAccess", scListPortfolioAccess)
	register("servicecatalog", "DescribePortfolioShares", scDescribePortfolioShares)
	register("servicecatalog", "ListPrincipalsForPortfolio", scListPrincipalsForPortfolio)
	register("servicecatalog", "ListConstraintsForPortfolio", scListConstraintsForPortfolio)
	register("servicecatalog", "DescribeConstraint", scDescribeConstraint)
	register("servicecatalog", "ListTagOptions", scListTagOptions)
	register("servicecatalog", "ListPortfoliosForProduct", scListPortfoliosForProduct)
}

// Page size limits of the Service Catalog API: PageSize (most list calls)
// and PageSizeMax100 (searches, tag options, portfolio shares).
const (
	scPageMax    = 20
	scPageMax100 = 100
)

// scInput is the union of the request members the implemented operations read.
type scInput struct {
	Id                       string          `json:"Id"`
	Name                     string          `json:"Name"`
	PortfolioId              string          `json:"PortfolioId"`
	ProductId                string          `json:"ProductId"`
	ProductName              string          `json:"ProductName"`
	ProvisioningArtifactId   string          `json:"ProvisioningArtifactId"`
	ProvisioningArtifactName string          `json:"ProvisioningArtifactName"`
	OrganizationParentId     string          `json:"OrganizationParentId"`
	Type                     string          `json:"Type"`
	PageToken                string          `json:"PageToken"`
	PageSize                 int             `json:"PageSize"`
	Filters                  json.RawMessage `json:"Filters"`
}

// scDecode reads the request and checks PageSize against the operation's
// limit (0 for operations that do not page); it returns the page size to use.
func (c *Call) scDecode(max int) (scInput, int, error) {
	var in scInput
	if err := c.decode(&in); err != nil {
		return in, 0, err
	}
	if in.PageSize < 0 {
		return in, 0, errInvalid(c, "PageSize must not be negative")
	}
	if max > 0 && in.PageSize > max {
		return in, 0, errInvalid(c, "PageSize must be between 0 and %d", max)
	}
	size := in.PageSize
	if size == 0 {
		size = max
	}
	return in, size, nil
}

func scNotFound(format string, args ...any) *APIError {
	e := errNotFound("ResourceNotFoundException", format, args...)
	e.Status = 400
	return e
}

func scRequired(c *Call, member, v string) error {
	if v == "" {
		return errInvalid(c, "%s is required", member)
	}
	return nil
}

func (c *Call) scRegional() *world.Regional { return c.Account.In(c.Region) }

func (c *Call) scPortfolio(id string) (*world.Portfolio, error) {
	if err := scRequired(c, "PortfolioId", id); err != nil {
		return nil, err
	}
	for _, p := range c.scRegional().Portfolios {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, scNotFound("Portfolio %s not found.", id)
}

func (c *Call) scProduct(id, name string) (*world.Product, error) {
	if id == "" && name == "" {
		return nil, errInvalid(c, "ProductId or ProductName is required")
	}
	for _, p := range c.scRegional().Products {
		if (id != "" && p.ID == id) || (id == "" && p.Name == name) {
			return p, nil
		}
	}
	if id != "" {
		return nil, scNotFound("Product %s not found.", id)
	}
	return nil, scNotFound("Product %s not found.", name)
}

func (c *Call) scARN(kind, id string) string {
	return c.S.w.ARN("catalog", c.Region, c.Account.ID, kind+"/"+id)
}

func scTags(m map[string]string) []map[string]string {
	out := []map[string]string{}
	for _, k := range sortedKeys(m) {
		out = append(out, map[string]string{"Key": k, "Value": m[k]})
	}
	return out
}

func (c *Call) scPortfolioDetail(p *world.Portfolio) map[string]any {
	return map[string]any{
		"Id": p.ID, "ARN": c.scARN("portfolio", p.ID), "DisplayName": p.DisplayName,
		"Description": omitEmpty(p.Description), "ProviderName": omitEmpty(p.ProviderName), "CreatedTime": epoch(p.Created),
	}
}

func (c *Call) scTagOption(t *world.TagOption) map[string]any {
	return map[string]any{"Key": t.Key, "Value": t.Value, "Active": t.Active, "Id": t.ID, "Owner": c.Account.ID}
}

// scProductView is a ProductViewDetail. The product view ID is derived from
// the product ID (prod-x → prodview-x).
func (c *Call) scProductView(p *world.Product) map[string]any {
	view := "prodview-" + strings.TrimPrefix(p.ID, "prod-")
	return map[string]any{
		"ProductViewSummary": map[string]any{
			"Id": view, "ProductId": p.ID, "Name": p.Name, "Owner": omitEmpty(p.Owner),
			"ShortDescription": omitEmpty(p.Description), "Type": "CLOUD_FORMATION_TEMPLATE",
			"Distributor": omitEmpty(p.Distributor), "HasDefaultPath": false,
			"SupportEmail": omitEmpty(p.SupportEmail), "SupportDescription": omitEmpty(p.SupportDescription), "SupportUrl": omitEmpty(p.SupportURL),
		},
		"Status": "AVAILABLE", "ProductARN": c.scARN("product", p.ID), "CreatedTime": epoch(p.Created),
	}
}

func scArtifactDetail(p *world.Product, a *world.Artifact) map[string]any {
	return map[string]any{
		"Id": a.ID, "Name": omitEmpty(a.Name), "Description": omitEmpty(a.Description), "Type": "CLOUD_FORMATION_TEMPLATE",
		"CreatedTime": epoch(p.Created), "Active": a.Active, "Guidance": "DEFAULT",
	}
}

func scListPortfolios(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax)
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(c, c.scRegional().Portfolios, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, p := range page {
		out = append(out, c.scPortfolioDetail(p))
	}
	return map[string]any{"PortfolioDetails": out, "NextPageToken": omitEmpty(next)}, nil
}

func scDescribePortfolio(c *Call) (any, error) {
	in, _, err := c.scDecode(0)
	if err != nil {
		return nil, err
	}
	if err := scRequired(c, "Id", in.Id); err != nil {
		return nil, err
	}
	p, err := c.scPortfolio(in.Id)
	if err != nil {
		return nil, err
	}
	opts := []map[string]any{}
	for _, t := range c.scRegional().TagOptions {
		if slices.Contains(p.TagOptions, t.ID) {
			opts = append(opts, c.scTagOption(t))
		}
	}
	return map[string]any{"PortfolioDetail": c.scPortfolioDetail(p), "Tags": scTags(p.Tags), "TagOptions": opts, "Budgets": []any{}}, nil
}

func scSearchProductsAsAdmin(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax100)
	if err != nil {
		return nil, err
	}
	products := c.scRegional().Products
	if in.PortfolioId != "" {
		pf, err := c.scPortfolio(in.PortfolioId)
		if err != nil {
			return nil, err
		}
		var inPortfolio []*world.Product
		for _, p := range products {
			if slices.Contains(pf.Products, p.ID) {
				inPortfolio = append(inPortfolio, p)
			}
		}
		products = inPortfolio
	}
	page, next, err := pageOf(c, products, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, p := range page {
		out = append(out, c.scProductView(p))
	}
	return map[string]any{"ProductViewDetails": out, "NextPageToken": omitEmpty(next)}, nil
}

func scDescribeProductAsAdmin(c *Call) (any, error) {
	in, _, err := c.scDecode(0)
	if err != nil {
		return nil, err
	}
	if in.Id == "" && in.Name == "" {
		return nil, errInvalid(c, "Id or Name is required")
	}
	p, err := c.scProduct(in.Id, in.Name)
	if err != nil {
		return nil, err
	}
	arts := []map[string]any{}
	for _, a := range p.Artifacts {
		arts = append(arts, map[string]any{"Id": a.ID, "Name": omitEmpty(a.Name), "Description": omitEmpty(a.Description), "CreatedTime": epoch(p.Created)})
	}
	return map[string]any{
		"ProductViewDetail": c.scProductView(p), "ProvisioningArtifactSummaries": arts,
		"Tags": scTags(p.Tags), "TagOptions": []any{}, "Budgets": []any{},
	}, nil
}

func scListProvisioningArtifacts(c *Call) (any, error) {
	in, _, err := c.scDecode(0)
	if err != nil {
		return nil, err
	}
	if err := scRequired(c, "ProductId", in.ProductId); err != nil {
		return nil, err
	}
	p, err := c.scProduct(in.ProductId, "")
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range p.Artifacts {
		out = append(out, scArtifactDetail(p, a))
	}
	return map[string]any{"ProvisioningArtifactDetails": out}, nil
}

func scDescribeProvisioningArtifact(c *Call) (any, error) {
	in, _, err := c.scDecode(0)
	if err != nil {
		return nil, err
	}
	if in.ProvisioningArtifactId == "" && in.ProvisioningArtifactName == "" {
		return nil, errInvalid(c, "ProvisioningArtifactId or ProvisioningArtifactName is required")
	}
	p, err := c.scProduct(in.ProductId, in.ProductName)
	if err != nil {
		return nil, err
	}
	for _, a := range p.Artifacts {
		if (in.ProvisioningArtifactId != "" && a.ID == in.ProvisioningArtifactId) || (in.ProvisioningArtifactId == "" && a.Name == in.ProvisioningArtifactName) {
			return map[string]any{
				"ProvisioningArtifactDetail": scArtifactDetail(p, a),
				"Info":                       map[string]string{"LoadTemplateFromURL": a.TemplateURL},
				"Status":                     "AVAILABLE",
			}, nil
		}
	}
	id := in.ProvisioningArtifactId
	if id == "" {
		id = in.ProvisioningArtifactName
	}
	return nil, scNotFound("Provisioning artifact %s not found for product %s.", id, p.ID)
}

// scProvisionedRow is a provisioned product with its ARN, status and the
// names of its product and artifact.
type scProvisionedRow struct {
	pp           *world.ProvisionedProduct
	arn, status  string
	product, art string
}

// scProvisioned returns the account's provisioned products in the region.
func (c *Call) scProvisioned() []scProvisionedRow {
	r := c.scRegional()
	var rows []scProvisionedRow
	for _, pp := range r.Provisioned {
		row := scProvisionedRow{pp: pp, status: pp.Status,
			arn: c.S.w.ARN("servicecatalog", c.Region, c.Account.ID, "stack/"+pp.Name+"/"+pp.ID)}
		if row.status == "" {
			row.status = "AVAILABLE"
		}
		for _, p := range r.Products {
			if p.ID == pp.ProductID {
				row.product = p.Name
				for _, a := range p.Artifacts {
					if a.ID == pp.ArtifactID {
						row.art = a.Name
					}
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func scSearchProvisionedProducts(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax100)
	if err != nil {
		return nil, err
	}
	rows := c.scProvisioned()
	page, next, err := pageOf(c, rows, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, row := range page {
		pp := row.pp
		out = append(out, map[string]any{
			"Name": pp.Name, "Arn": row.arn, "Type": "CFN_STACK", "Id": pp.ID, "Status": row.status,
			"CreatedTime": epoch(pp.Created), "ProductId": pp.ProductID, "ProductName": omitEmpty(row.product),
			"ProvisioningArtifactId": pp.ArtifactID, "ProvisioningArtifactName": omitEmpty(row.art), "Tags": scTags(pp.Tags),
		})
	}
	return map[string]any{"ProvisionedProducts": out, "TotalResultsCount": len(rows), "NextPageToken": omitEmpty(next)}, nil
}

func scScanProvisionedProducts(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax)
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(c, c.scProvisioned(), in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, row := range page {
		pp := row.pp
		out = append(out, map[string]any{
			"Name": pp.Name, "Arn": row.arn, "Type": "CFN_STACK", "Id": pp.ID, "Status": row.status,
			"CreatedTime": epoch(pp.Created), "ProductId": pp.ProductID, "ProvisioningArtifactId": pp.ArtifactID,
		})
	}
	return map[string]any{"ProvisionedProducts": out, "NextPageToken": omitEmpty(next)}, nil
}

var scAccountRe = regexp.MustCompile(`^[0-9]{12}$`)

// scShareType classifies a Portfolio.Shares entry.
func scShareType(share string) string {
	switch {
	case strings.HasPrefix(share, "o-"):
		return "ORGANIZATION"
	case strings.HasPrefix(share, "ou-"):
		return "ORGANIZATIONAL_UNIT"
	case scAccountRe.MatchString(share):
		return "ACCOUNT"
	}
	return ""
}

// ListPortfolioAccess lists the accounts a portfolio is shared with by
// account ID; with OrganizationParentId, the organization's accounts under
// that node (the organization, its root or an OU) that inherit an
// organization or OU share of the portfolio.
func scListPortfolioAccess(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax)
	if err != nil {
		return nil, err
	}
	p, err := c.scPortfolio(in.PortfolioId)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	if in.OrganizationParentId == "" {
		for _, s := range p.Shares {
			if scShareType(s) == "ACCOUNT" {
				ids = append(ids, s)
			}
		}
	} else {
		w := c.S.w
		node := in.OrganizationParentId
		known := node == w.OrganizationID || node == w.RootID
		for _, ou := range w.OUs {
			known = known || ou.ID == node
		}
		if !known {
			return nil, scNotFound("Organization node %s not found.", node)
		}
		orgShared := slices.Contains(p.Shares, w.OrganizationID)
		for _, a := range w.Accounts {
			if a.ID == c.Account.ID {
				continue
			}
			path := w.OUPath(a)
			under := node == w.OrganizationID || slices.Contains(path, node)
			inherits := orgShared
			for _, ou := range path {
				inherits = inherits || (strings.HasPrefix(ou, "ou-") && slices.Contains(p.Shares, ou))
			}
			if under && inherits {
				ids = append(ids, a.ID)
			}
		}
	}
	page, next, err := pageOf(c, ids, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AccountIds": page, "NextPageToken": omitEmpty(next)}, nil
}

// DescribePortfolioShares lists a portfolio's shares of one type. The world
// records account shares by account ID, so ORGANIZATION_MEMBER_ACCOUNT
// (shares to an account as an organization node) is always empty.
func scDescribePortfolioShares(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax100)
	if err != nil {
		return nil, err
	}
	switch in.Type {
	case "ACCOUNT", "ORGANIZATION", "ORGANIZATIONAL_UNIT", "ORGANIZATION_MEMBER_ACCOUNT":
	case "":
		return nil, errInvalid(c, "Type is required")
	default:
		return nil, errInvalid(c, "Type %q is not one of ACCOUNT, ORGANIZATION, ORGANIZATIONAL_UNIT, ORGANIZATION_MEMBER_ACCOUNT", in.Type)
	}
	p, err := c.scPortfolio(in.PortfolioId)
	if err != nil {
		return nil, err
	}
	var shares []string
	for _, s := range p.Shares {
		if scShareType(s) == in.Type {
			shares = append(shares, s)
		}
	}
	page, next, err := pageOf(c, shares, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, s := range page {
		out = append(out, map[string]any{"PrincipalId": s, "Type": in.Type, "Accepted": true, "ShareTagOptions": false, "SharePrincipals": false})
	}
	return map[string]any{"PortfolioShareDetails": out, "NextPageToken": omitEmpty(next)}, nil
}

// ListPrincipalsForPortfolio: an ARN without an account (arn:aws:iam:::role/...)
// is an IAM_PATTERN principal, as AWS reports principal name sharing.
func scListPrincipalsForPortfolio(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax)
	if err != nil {
		return nil, err
	}
	p, err := c.scPortfolio(in.PortfolioId)
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(c, p.Principals, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, arn := range page {
		typ := "IAM"
		if strings.Contains(arn, ":iam:::") {
			typ = "IAM_PATTERN"
		}
		out = append(out, map[string]any{"PrincipalARN": arn, "PrincipalType": typ})
	}
	return map[string]any{"Principals": out, "NextPageToken": omitEmpty(next)}, nil
}

func (c *Call) scConstraintDetail(p *world.Portfolio, k *world.Constraint) map[string]any {
	return map[string]any{
		"ConstraintId": k.ID, "Type": k.Type, "Description": omitEmpty(k.Description), "Owner": c.Account.ID,
		"ProductId": k.ProductID, "PortfolioId": p.ID,
	}
}

func scListConstraintsForPortfolio(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax)
	if err != nil {
		return nil, err
	}
	p, err := c.scPortfolio(in.PortfolioId)
	if err != nil {
		return nil, err
	}
	var cons []*world.Constraint
	for _, k := range p.Constraints {
		if in.ProductId == "" || k.ProductID == in.ProductId {
			cons = append(cons, k)
		}
	}
	page, next, err := pageOf(c, cons, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, k := range page {
		out = append(out, c.scConstraintDetail(p, k))
	}
	return map[string]any{"ConstraintDetails": out, "NextPageToken": omitEmpty(next)}, nil
}

// scConstraintParameters is the constraint's JSON parameters, written
// without HTML escaping so the role ARN comes back as it was.
func scConstraintParameters(k *world.Constraint) string {
	var v any = map[string]any{}
	switch k.Type {
	case "LAUNCH":
		if k.RoleARN != "" {
			v = map[string]string{"RoleArn": k.RoleARN}
		}
	case "NOTIFICATION":
		v = map[string][]string{"NotificationArns": {}}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

func scDescribeConstraint(c *Call) (any, error) {
	in, _, err := c.scDecode(0)
	if err != nil {
		return nil, err
	}
	if err := scRequired(c, "Id", in.Id); err != nil {
		return nil, err
	}
	for _, p := range c.scRegional().Portfolios {
		for _, k := range p.Constraints {
			if k.ID == in.Id {
				return map[string]any{"ConstraintDetail": c.scConstraintDetail(p, k), "ConstraintParameters": scConstraintParameters(k), "Status": "AVAILABLE"}, nil
			}
		}
	}
	return nil, scNotFound("Constraint %s not found.", in.Id)
}

// ListTagOptions answers its next page's token in PageToken, as AWS does.
func scListTagOptions(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax100)
	if err != nil {
		return nil, err
	}
	var f struct {
		Key    string `json:"Key"`
		Value  string `json:"Value"`
		Active *bool  `json:"Active"`
	}
	if len(in.Filters) > 0 && string(in.Filters) != "null" {
		if err := json.Unmarshal(in.Filters, &f); err != nil {
			return nil, errInvalid(c, "Filters: %v", err)
		}
	}
	var opts []*world.TagOption
	for _, t := range c.scRegional().TagOptions {
		if (f.Key == "" || t.Key == f.Key) && (f.Value == "" || t.Value == f.Value) && (f.Active == nil || t.Active == *f.Active) {
			opts = append(opts, t)
		}
	}
	page, next, err := pageOf(c, opts, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, t := range page {
		out = append(out, c.scTagOption(t))
	}
	return map[string]any{"TagOptionDetails": out, "PageToken": omitEmpty(next)}, nil
}

func scListPortfoliosForProduct(c *Call) (any, error) {
	in, size, err := c.scDecode(scPageMax)
	if err != nil {
		return nil, err
	}
	if err := scRequired(c, "ProductId", in.ProductId); err != nil {
		return nil, err
	}
	if _, err := c.scProduct(in.ProductId, ""); err != nil {
		return nil, err
	}
	var pfs []*world.Portfolio
	for _, p := range c.scRegional().Portfolios {
		if slices.Contains(p.Products, in.ProductId) {
			pfs = append(pfs, p)
		}
	}
	page, next, err := pageOf(c, pfs, in.PageToken, size)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, p := range page {
		out = append(out, c.scPortfolioDetail(p))
	}
	return map[string]any{"PortfolioDetails": out, "NextPageToken": omitEmpty(next)}, nil
}
