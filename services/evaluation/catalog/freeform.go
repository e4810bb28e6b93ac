package catalog

import (
	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

const (
	kindName  = collectionv1.FieldKind_FIELD_KIND_NAME
	kindDesc  = collectionv1.FieldKind_FIELD_KIND_DESCRIPTION
	kindOwner = collectionv1.FieldKind_FIELD_KIND_OWNER
	kindURL   = collectionv1.FieldKind_FIELD_KIND_URL
	kindTagV  = collectionv1.FieldKind_FIELD_KIND_TAG_VALUE
	kindLabel = collectionv1.FieldKind_FIELD_KIND_LABEL
	kindOther = collectionv1.FieldKind_FIELD_KIND_OTHER
)

// Entity categories as the RedactionService names them.
const (
	CategoryCredential = "CREDENTIAL"
	CategoryPII        = "PII"
	CategoryIdentifier = "IDENTIFIER"
)

// EntityHTTP is the entity type a URL that is not https is reported with.
const EntityHTTP = "HTTP"

func textFields(f Field) bool { return f.Kind != kindURL }
func urlFields(f Field) bool  { return f.Kind == kindURL }

// anything offends: account numbers, personal data and credentials alike.
func anything(Field, Entity) bool { return true }

// credentials offend; in a URL, host names and paths may carry account
// numbers (templates-111122223333.s3.amazonaws.com) legitimately.
func credentials(_ Field, e Entity) bool { return e.Category == CategoryCredential }

// productText: SupportEmail is meant to hold an e-mail address, so there
// only account numbers and credentials offend.
func productText(f Field, e Entity) bool {
	if f.Path == "SupportEmail" {
		return e.Category == CategoryCredential || e.Type == "AWS_ACCOUNT_ID"
	}
	return true
}

func withFields(f Fixture, offending map[string][]string, fields ...Field) Fixture {
	f.Resource.Fields = fields
	f.Fields = offending
	return f
}

const (
	fxPortfolio   = "arn:aws:catalog:us-east-1:111122223333:portfolio/port-abcdefghijklm"
	fxProduct     = "arn:aws:catalog:us-east-1:111122223333:product/prod-abcdefghijklm"
	fxProvisioned = "arn:aws:servicecatalog:us-east-1:111122223333:stack/network/pp-abcdefghijklm"
	fxTagOption   = "arn:aws:catalog:us-east-1:111122223333:tagoption/tag-abcdefghijklm"
	fxApplication = "arn:aws:serverlessrepo:us-east-1:111122223333:applications/image-resizer"
)

func ff(name, typ, arn string) Fixture {
	f := fixture(name, typ)
	f.Resource.ARN = arn
	return f
}

func freeForm(id, title, what string, typ string, seeds []Seed, needs []string, offends func(Field, Entity) bool, pass, fail []Fixture) *Control {
	return &Control{
		ID: id, Title: title, Category: "free-form-fields", Severity: high,
		Description: what + " hold no AWS account numbers, personal data or credentials, as the redaction engine detects them.",
		Rationale: "Free-form fields are not treated as sensitive: AWS may copy what you enter into them to diagnostic logs, and everyone the resource is " +
			"shared with can read them.",
		Remediation: []string{"Rewrite the field without the detected value (the finding's evidence shows where it was, redacted).",
			"If the value was a credential, rotate it: it has been stored in plain text."},
		ResourceTypes: []string{typ}, Seeds: seeds, Needs: needs,
		Fields: &FieldRule{Scans: textFields, Offends: offends},
		Pass:   pass, Fail: fail,
	}
}

func urls(id, title, what, typ string, seeds []Seed, needs []string, https bool, pass, fail []Fixture) *Control {
	c := &Control{ID: id, Title: title, Category: "urls", Severity: high, ResourceTypes: []string{typ}, Seeds: seeds, Needs: needs, Pass: pass, Fail: fail}
	if https {
		c.Category, c.Severity = "transport", medium
		c.Description = what + " use https."
		c.Rationale = "AWS and the people who deploy the resource fetch these URLs; over plain http the content can be read or replaced in transit."
		c.Remediation = []string{"Serve the file over https (an S3 https URL or a TLS-terminated host) and update the URL."}
		c.Fields = &FieldRule{Scans: urlFields, RequireHTTPS: true}
	} else {
		c.Description = what + " carry no credentials: no user:password, presigned signature or token."
		c.Rationale = "A URL given to AWS is stored and shown as it is, and may reach diagnostic logs; credentials in it are readable by everyone who can see the resource."
		c.Remediation = []string{"Remove the credentials from the URL; grant access another way (a bucket policy for the service principal, a public file without secrets).",
			"Rotate the credential: it has been stored in plain text."}
		c.Fields = &FieldRule{Scans: urlFields, Offends: credentials}
	}
	return c
}

func init() {
	scNeeds := func(list string, more ...string) []string { return append([]string{list}, more...) }
	portfolioNeeds := scNeeds("servicecatalog:ListPortfolios", "servicecatalog:DescribePortfolio")
	productNeeds := scNeeds("servicecatalog:SearchProductsAsAdmin", "servicecatalog:DescribeProductAsAdmin")
	productURLNeeds := scNeeds("servicecatalog:SearchProductsAsAdmin", "servicecatalog:DescribeProductAsAdmin", "servicecatalog:DescribeProvisioningArtifact")
	appNeeds := []string{"serverlessrepo:ListApplications"}
	appURLNeeds := []string{"serverlessrepo:ListApplications", "serverlessrepo:GetApplication", "serverlessrepo:ListApplicationVersions"}
	scFree := seedFreeFormSC
	register(
		freeForm("DPS-FFT-001", "Portfolio free-form fields hold no account numbers, personal data or credentials",
			"A portfolio's display name, description, provider name and tags", "AWS::ServiceCatalog::Portfolio", scFree, portfolioNeeds, anything,
			[]Fixture{withFields(ff("clean", "AWS::ServiceCatalog::Portfolio", fxPortfolio), nil,
				Field{"DisplayName", kindName, "Network Baseline Portfolio"}, Field{"Description", kindDesc, "Shared VPC and subnet products for every team."},
				Field{"ProviderName", kindOwner, "Network Platform Team"}, Field{"Tags[Owner]", kindTagV, "team network"})},
			[]Fixture{withFields(ff("account and key", "AWS::ServiceCatalog::Portfolio", fxPortfolio),
				map[string][]string{"Description": {"AWS_ACCOUNT_ID"}, "Tags[Owner]": {"AWS_ACCESS_KEY_ID"}},
				Field{"DisplayName", kindName, "Network Baseline Portfolio"}, Field{"Description", kindDesc, "Shared VPCs (billing account 493817265012)"},
				Field{"Tags[Owner]", kindTagV, "team network using key AKIAQ3EGTXMPLR7NJ2KD"})}),
		freeForm("DPS-FFT-002", "Product free-form fields hold no account numbers, personal data or credentials",
			"A product's name, owner, description, distributor, support description, support e-mail and tags", "AWS::ServiceCatalog::Product", scFree, productNeeds, productText,
			[]Fixture{withFields(ff("clean with support e-mail", "AWS::ServiceCatalog::Product", fxProduct), nil,
				Field{"Name", kindName, "Web Tier"}, Field{"Owner", kindOwner, "Web Platform Team"}, Field{"SupportEmail", kindOther, "cloud-support@example-corp.com"},
				Field{"SupportUrl", kindURL, "https://wiki.example-corp.com/templates-493817265012/web-tier"})},
			[]Fixture{withFields(ff("person and account in name", "AWS::ServiceCatalog::Product", fxProduct),
				map[string][]string{"Name": {"AWS_ACCOUNT_ID"}, "SupportDescription": {"EMAIL_ADDRESS"}, "SupportEmail": {"AWS_ACCOUNT_ID"}},
				Field{"Name", kindName, "prod-493817265012-web-tier"}, Field{"SupportDescription", kindDesc, "Open a ticket, contact maria.garcia@example-corp.com"},
				Field{"SupportEmail", kindOther, "cloud-support@example-corp.com (account 493817265012)"})}),
		freeForm("DPS-FFT-003", "Provisioned product free-form fields hold no account numbers, personal data or credentials",
			"A provisioned product's name and tags", "AWS::ServiceCatalog::ProvisionedProduct", scFree, []string{"servicecatalog:SearchProvisionedProducts"}, anything,
			[]Fixture{withFields(ff("clean", "AWS::ServiceCatalog::ProvisionedProduct", fxProvisioned), nil,
				Field{"Name", kindName, "web-tier-staging"}, Field{"Tags[Purpose]", kindTagV, "stack for web tier"})},
			[]Fixture{withFields(ff("account in name, phone in tag", "AWS::ServiceCatalog::ProvisionedProduct", fxProvisioned),
				map[string][]string{"Name": {"AWS_ACCOUNT_ID"}, "Tags[Purpose]": {"PHONE_NUMBER"}},
				Field{"Name", kindName, "web-tier-acct-493817265012"}, Field{"Tags[Purpose]", kindTagV, "stack for web tier, on call +44 20 7946 0123"})}),
		freeForm("DPS-FFT-004", "Tag options hold no account numbers, personal data or credentials",
			"A tag option's key and value", "AWS::ServiceCatalog::TagOption", scFree, []string{"servicecatalog:ListTagOptions"}, anything,
			[]Fixture{withFields(ff("clean", "AWS::ServiceCatalog::TagOption", fxTagOption), nil,
				Field{"Key", collectionv1.FieldKind_FIELD_KIND_TAG_KEY, "CostCenter"}, Field{"Value", kindTagV, "analytics"})},
			[]Fixture{withFields(ff("secret in value", "AWS::ServiceCatalog::TagOption", fxTagOption),
				map[string][]string{"Value": {"SECRET_ASSIGNMENT"}},
				Field{"Key", collectionv1.FieldKind_FIELD_KIND_TAG_KEY, "Environment"}, Field{"Value", kindTagV, "staging; admin password=QRTkmnp482#xyz"})}),
		freeForm("DPS-FFT-005", "SAR application free-form fields hold no account numbers, personal data or credentials",
			"A Serverless Application Repository application's name, author, description and labels", "AWS::Serverless::Application",
			seedFreeFormSAR, appNeeds, anything,
			[]Fixture{withFields(ff("clean", "AWS::Serverless::Application", fxApplication), nil,
				Field{"Name", kindName, "image-resizer"}, Field{"Author", kindOwner, "Maria Garcia"}, Field{"Description", kindDesc, "Resizes images on upload."},
				Field{"Labels[0]", kindLabel, "images"})},
			[]Fixture{withFields(ff("account in author and label", "AWS::Serverless::Application", fxApplication),
				map[string][]string{"Author": {"AWS_ACCOUNT_ID"}, "Labels[1]": {"AWS_ACCOUNT_ID"}},
				Field{"Name", kindName, "image-resizer"}, Field{"Author", kindOwner, "Maria Garcia (billing account 493817265012)"},
				Field{"Labels[0]", kindLabel, "images"}, Field{"Labels[1]", kindLabel, "acct493817265012"})}),
		urls("DPS-URL-001", "Service Catalog URLs hold no credentials", "A product's provisioning-artifact template URLs and support URL",
			"AWS::ServiceCatalog::Product", []Seed{seedURLSC}, productURLNeeds, false,
			[]Fixture{withFields(ff("plain s3 url", "AWS::ServiceCatalog::Product", fxProduct), nil,
				Field{"ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl", kindURL, "https://templates-111122223333.s3.amazonaws.com/web/v1.yaml"})},
			[]Fixture{withFields(ff("userinfo and presigned", "AWS::ServiceCatalog::Product", fxProduct),
				map[string][]string{"ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl": {"URL_CREDENTIALS"}, "ProvisioningArtifacts[pa-bcdefghijklmn].TemplateUrl": {"URL_CREDENTIALS"}},
				Field{"ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl", kindURL, "https://deploy:QRTkmnp482#xyz@templates.example-corp.com/web/v1.yaml"},
				Field{"ProvisioningArtifacts[pa-bcdefghijklmn].TemplateUrl", kindURL, "https://templates-111122223333.s3.amazonaws.com/web/v2.yaml?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAQ3EGTXMPLR7NJ2KD%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=fe4c2fb55161baf46393497cc2d397eb77f0be3ec75eec07cfb880c68df6b641"},
				Field{"Name", kindName, "Web Tier"})}),
		urls("DPS-URL-002", "SAR application URLs hold no credentials", "An application's home page, licence and readme URLs and its versions' source code URLs",
			"AWS::Serverless::Application", []Seed{seedURLSAR}, appURLNeeds, false,
			[]Fixture{withFields(ff("github urls", "AWS::Serverless::Application", fxApplication), nil,
				Field{"HomePageUrl", kindURL, "https://github.com/example-corp/image-resizer"}, Field{"Versions[1.0.0].SourceCodeUrl", kindURL, "https://github.com/example-corp/image-resizer/tree/1.0.0"})},
			[]Fixture{withFields(ff("token in query", "AWS::Serverless::Application", fxApplication),
				map[string][]string{"ReadmeUrl": {"URL_CREDENTIALS"}},
				Field{"HomePageUrl", kindURL, "https://github.com/example-corp/image-resizer"},
				Field{"ReadmeUrl", kindURL, "https://ci:QRTkmnp482#xyz@github.com/example-corp/image-resizer/blob/main/README.md"})}),
		urls("DPS-TLS-003", "Service Catalog URLs use https", "A product's provisioning-artifact template URLs and support URL",
			"AWS::ServiceCatalog::Product", []Seed{seedTLS[0], seedTLSTransitSC}, productURLNeeds, true,
			[]Fixture{withFields(ff("https", "AWS::ServiceCatalog::Product", fxProduct), nil,
				Field{"ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl", kindURL, "https://templates-111122223333.s3.amazonaws.com/web/v1.yaml"})},
			[]Fixture{withFields(ff("http template", "AWS::ServiceCatalog::Product", fxProduct),
				map[string][]string{"ProvisioningArtifacts[pa-bcdefghijklmn].TemplateUrl": {EntityHTTP}},
				Field{"ProvisioningArtifacts[pa-abcdefghijklm].TemplateUrl", kindURL, "https://templates-111122223333.s3.amazonaws.com/web/v1.yaml"},
				Field{"ProvisioningArtifacts[pa-bcdefghijklmn].TemplateUrl", kindURL, "http://templates-111122223333.s3.amazonaws.com/web/v2.yaml"})}),
		urls("DPS-TLS-004", "Serverless Application Repository URLs use https", "An application's home page, licence and readme URLs and its versions' source code URLs",
			"AWS::Serverless::Application", []Seed{seedTLS[1], seedTLSTransitSAR}, appURLNeeds, true,
			[]Fixture{withFields(ff("https", "AWS::Serverless::Application", fxApplication), nil,
				Field{"HomePageUrl", kindURL, "https://github.com/example-corp/image-resizer"})},
			[]Fixture{withFields(ff("http licence", "AWS::Serverless::Application", fxApplication),
				map[string][]string{"LicenseUrl": {EntityHTTP}},
				Field{"HomePageUrl", kindURL, "https://github.com/example-corp/image-resizer"},
				Field{"LicenseUrl", kindURL, "HTTP://github.com/example-corp/image-resizer/blob/main/LICENSE"})}),
	)
}
