package world

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// field is a free-form value with the entity types planted in it.
type field struct {
	path, value string
	planted     []string
}

// expectFields writes a free-form control's expectations for one resource:
// a FAIL per planted field, or one PASS.
func (f *filler) expectFields(control, region, arn string, fields []field) {
	failed := false
	for _, fd := range fields {
		if len(fd.planted) > 0 {
			f.expect(control, region, arn, fd.path, "FAIL", fd.planted...)
			failed = true
		}
	}
	if !failed {
		f.expect(control, region, arn, "", "PASS")
	}
}

func tagFields(tags map[string]string, planted map[string][]string) []field {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []field
	for _, k := range keys {
		out = append(out, field{path: "Tags[" + k + "]", value: tags[k], planted: planted[k]})
	}
	return out
}

// urlKind picks a URL's flaw: none, plain http, or credentials in it.
func (f *filler) url(host, path string) (string, bool, bool) {
	switch {
	case f.bad() && f.r.IntN(2) == 0:
		return "http://" + host + path, true, false
	case f.bad():
		if f.r.IntN(2) == 0 {
			return "https://deploy:" + secretValue(f.r) + "@" + host + path, false, true
		}
		return "https://" + host + path + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA" + base32(f.r, 16) +
			"%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=" + hex(f.r, 64), false, true
	}
	return "https://" + host + path, false, false
}

func (f *filler) catalog(region string, g *Regional) {
	a, r := f.a, f.r
	ids := f.w.AccountIDs()
	for pi, pn := 0, 1+r.IntN(2); pi < pn; pi++ {
		team := title(words[r.IntN(len(words))])
		p := &Portfolio{ID: "port-" + alnum(r, 13), Created: a.Created}
		provider := team + " Platform Team"
		fields := []field{
			f.text("DisplayName", team+" "+title(words[r.IntN(len(words))])+" Portfolio"),
			f.text("Description", f.sentence()),
			f.text("ProviderName", provider),
		}
		p.DisplayName, p.Description, p.ProviderName = fields[0].value, fields[1].value, fields[2].value
		tagPlant := map[string][]string{}
		owner := f.text("", "team "+strings.ToLower(team))
		p.Tags = map[string]string{"Owner": owner.value, "Team": strings.ToLower(team)}
		tagPlant["Owner"] = owner.planted
		fields = append(fields, tagFields(p.Tags, tagPlant)...)
		parn := PortfolioARN(region, a.ID, p.ID)
		f.expectFields("DPS-FFT-001", region, parn, fields)
		// Shares: inside the organization, or (a violation) to an outside account.
		if len(ids) > 1 {
			p.Shares = append(p.Shares, ids[r.IntN(len(ids))])
		}
		if r.IntN(2) == 0 {
			p.Shares = append(p.Shares, f.w.OUs[r.IntN(len(f.w.OUs))].ID)
		}
		if r.IntN(3) == 0 {
			p.Shares = append(p.Shares, f.w.OrganizationID)
		}
		outside := f.bad() && r.IntN(2) == 0
		if outside {
			p.Shares = append(p.Shares, foreignAccount(f))
		}
		f.expect("DPS-SHR-001", region, parn, "", passFail(outside))
		p.Principals = []string{"arn:aws:iam::" + a.ID + ":role/ServiceCatalogEndUsers"}
		for qi, qn := 0, 1+r.IntN(3); qi < qn; qi++ {
			prod := f.product(region, g, p, provider)
			p.Products = append(p.Products, prod.ID)
			if r.IntN(2) == 0 {
				c := &Constraint{ID: "cons-" + alnum(r, 13), Type: "LAUNCH", ProductID: prod.ID, RoleARN: "arn:aws:iam::" + a.ID + ":role/SCLaunchRole", Description: "Launch as the dedicated role"}
				admin := f.bad()
				if admin {
					c.RoleARN, c.Description = "arn:aws:iam::"+a.ID+":role/OrganizationAccountAccessRole", "Launch as admin"
				}
				p.Constraints = append(p.Constraints, c)
				f.expect("DPS-SHR-003", region, ConstraintARN(region, a.ID, c.ID), "", passFail(admin))
			}
		}
		g.Portfolios = append(g.Portfolios, p)
	}
	for ti, tn := 0, 1+r.IntN(3); ti < tn; ti++ {
		key := []string{"CostCenter", "Environment", "DataClassification", "Owner"}[r.IntN(4)]
		val := f.text("Value", strings.ToLower(words[r.IntN(len(words))]))
		t := &TagOption{ID: "tag-" + alnum(r, 13), Key: key, Value: val.value, Active: true}
		g.TagOptions = append(g.TagOptions, t)
		f.expectFields("DPS-FFT-004", region, TagOptionARN(region, a.ID, t.ID), []field{{path: "Key", value: key}, val})
	}
}

// product makes a product of portfolio p; provider is the portfolio's
// provider name before anything was planted in it, which the product's own
// fields reuse.
func (f *filler) product(region string, g *Regional, p *Portfolio, provider string) *Product {
	a, r := f.a, f.r
	base := title(words[r.IntN(len(words))]) + " " + title(words[r.IntN(len(words))])
	prod := &Product{ID: "prod-" + alnum(r, 13), Created: a.Created}
	name := f.text("Name", base)
	if len(name.planted) == 0 && f.r.Float64() < f.o.PlantRate {
		// An account number in a resource-style name: prod-123456789012-network.
		id := randomAccount(f)
		name = field{path: "Name", value: "prod-" + id + "-" + strings.ToLower(strings.ReplaceAll(base, " ", "-")), planted: []string{"AWS_ACCOUNT_ID"}}
	}
	fields := []field{
		name,
		f.text("Owner", provider),
		f.text("Description", f.sentence()),
		f.text("Distributor", "Internal"),
		f.text("SupportDescription", "Open a ticket with the "+strings.ToLower(provider)+"."),
		{path: "SupportEmail", value: "cloud-support@example-corp.com"},
		{path: "SupportUrl", value: "https://wiki.example-corp.com/" + strings.ToLower(strings.ReplaceAll(base, " ", "-"))},
	}
	prod.Name, prod.Owner, prod.Description, prod.Distributor = fields[0].value, fields[1].value, fields[2].value, fields[3].value
	prod.SupportDescription, prod.SupportEmail, prod.SupportURL = fields[4].value, fields[5].value, fields[6].value
	owner := f.text("", "team "+strings.ToLower(provider))
	prod.Tags = map[string]string{"Owner": owner.value}
	fields = append(fields, tagFields(prod.Tags, map[string][]string{"Owner": owner.planted})...)
	arn := ProductARN(region, a.ID, prod.ID)
	f.expectFields("DPS-FFT-002", region, arn, fields)
	var tlsFields, credFields []field
	for ai, an := 0, 1+r.IntN(2); ai < an; ai++ {
		art := &Artifact{ID: "pa-" + alnum(r, 13), Name: fmt.Sprintf("v%d.0", ai+1), Description: "Release " + words[r.IntN(len(words))], Active: true}
		u, plain, creds := f.url("templates-"+a.ID+".s3.amazonaws.com", "/"+prod.ID+"/"+art.Name+".yaml")
		art.TemplateURL = u
		prod.Artifacts = append(prod.Artifacts, art)
		path := "ProvisioningArtifacts[" + art.ID + "].TemplateUrl"
		if plain {
			tlsFields = append(tlsFields, field{path: path, planted: []string{"HTTP"}})
		}
		if creds {
			credFields = append(credFields, field{path: path, planted: []string{"URL_CREDENTIALS"}})
		}
	}
	f.expectFields("DPS-TLS-003", region, arn, tlsFields)
	f.expectFields("DPS-URL-001", region, arn, credFields)
	for i, n := 0, r.IntN(3); i < n; i++ {
		pp := &ProvisionedProduct{ID: "pp-" + alnum(r, 13), ProductID: prod.ID, ArtifactID: prod.Artifacts[0].ID, Status: "AVAILABLE", Created: a.Created}
		nm := f.text("Name", strings.ToLower(strings.ReplaceAll(base, " ", "-"))+"-"+words[r.IntN(len(words))])
		arnName := nm.value
		if len(nm.planted) > 0 {
			// Provisioned product names allow only [a-zA-Z0-9._-]: plant an account number.
			prefix := strings.ToLower(strings.ReplaceAll(base, " ", "-")) + "-acct-"
			nm = field{path: "Name", value: prefix + randomAccount(f), planted: []string{"AWS_ACCOUNT_ID"}}
			// The name is part of the ARN: findings carry it redacted.
			arnName = prefix + "[AWS_ACCOUNT_ID]"
		}
		pp.Name = nm.value
		tag := f.text("", "stack for "+strings.ToLower(base))
		pp.Tags = map[string]string{"Purpose": tag.value}
		g.Provisioned = append(g.Provisioned, pp)
		f.expectFields("DPS-FFT-003", region, ProvisionedARN(region, a.ID, arnName, pp.ID), append([]field{nm}, tagFields(pp.Tags, map[string][]string{"Purpose": tag.planted})...))
	}
	g.Products = append(g.Products, prod)
	return prod
}

func (f *filler) applications(region string, g *Regional) {
	a, r := f.a, f.r
	for i, n := 0, r.IntN(3); i < n; i++ {
		id := words[r.IntN(len(words))] + "-" + words[r.IntN(len(words))] + "-" + alnum(r, 4)
		app := &Application{ID: id, Name: id, Created: a.Created, SpdxLicenseID: "MIT"}
		name := field{path: "Name", value: id}
		if f.r.Float64() < f.o.PlantRate {
			app.Name = id + "-" + randomAccount(f)
			name = field{path: "Name", value: app.Name, planted: []string{"AWS_ACCOUNT_ID"}}
		}
		author := f.text("Author", first[r.IntN(len(first))]+" "+last[r.IntN(len(last))])
		desc := f.text("Description", f.sentence())
		app.Author, app.Description = author.value, desc.value
		fields := []field{name, author, desc}
		for li, ln := 0, 1+r.IntN(3); li < ln; li++ {
			l := field{path: fmt.Sprintf("Labels[%d]", li), value: words[r.IntN(len(words))]}
			if f.r.Float64() < f.o.PlantRate/2 {
				l = field{path: l.path, value: "acct" + randomAccount(f), planted: []string{"AWS_ACCOUNT_ID"}}
			}
			app.Labels = append(app.Labels, l.value)
			fields = append(fields, l)
		}
		arn := ApplicationARN(region, a.ID, id)
		host := "github.com"
		var tlsFields, credFields []field
		set := func(path string, dst *string, suffix string) {
			u, plain, creds := f.url(host, "/example-corp/"+id+suffix)
			*dst = u
			if plain {
				tlsFields = append(tlsFields, field{path: path, planted: []string{"HTTP"}})
			}
			if creds {
				credFields = append(credFields, field{path: path, planted: []string{"URL_CREDENTIALS"}})
			}
		}
		set("HomePageUrl", &app.HomePageURL, "")
		set("LicenseUrl", &app.LicenseURL, "/blob/main/LICENSE")
		set("ReadmeUrl", &app.ReadmeURL, "/blob/main/README.md")
		for vi, vn := 0, 1+r.IntN(2); vi < vn; vi++ {
			v := &Version{SemanticVersion: fmt.Sprintf("1.%d.0", vi), Created: a.Created.Add(time.Duration(vi) * 24 * time.Hour)}
			set("Versions["+v.SemanticVersion+"].SourceCodeUrl", &v.SourceCodeURL, "/tree/"+v.SemanticVersion)
			// The template URL AWS gives out is its own signed link, not checked.
			v.TemplateURL = "https://awsserverlessrepo-changesets.s3.amazonaws.com/" + id + "/" + v.SemanticVersion + "/template.yaml"
			app.Versions = append(app.Versions, v)
		}
		f.expectFields("DPS-FFT-005", region, arn, fields)
		f.expectFields("DPS-TLS-004", region, arn, tlsFields)
		f.expectFields("DPS-URL-002", region, arn, credFields)
		public, labelled := r.IntN(2) == 0, false
		if public {
			app.Policy = []*PolicyStatement{{Actions: []string{"Deploy"}, Principals: []string{"*"}}}
			if !f.bad() {
				app.Labels = append(app.Labels, "public")
				labelled = true
			}
		} else {
			app.Policy = []*PolicyStatement{{Actions: []string{"Deploy"}, Principals: []string{a.ID}}}
		}
		f.expect("DPS-SHR-002", region, arn, "", passFail(public && !labelled))
		g.Applications = append(g.Applications, app)
	}
}

func (f *filler) events(region string, g *Regional) {
	a, r := f.a, f.r
	for _, src := range []string{"servicecatalog.amazonaws.com", "serverlessrepo.amazonaws.com"} {
		n := r.IntN(4)
		if n == 0 {
			continue
		}
		weak := f.bad()
		for i := 0; i < n; i++ {
			tls := []string{"TLSv1.2", "TLSv1.3"}[r.IntN(2)]
			if weak && i == 0 {
				tls = []string{"TLSv1", "TLSv1.1"}[r.IntN(2)]
			}
			user := first[r.IntN(len(first))]
			g.Events = append(g.Events, &Event{ID: uuid(r), Source: src, Name: []string{"DescribeProduct", "ListPortfolios", "GetApplication", "SearchProducts"}[r.IntN(4)],
				Time: f.o.Now.Add(-time.Duration(1+r.IntN(20)) * time.Hour), Username: user,
				CallerARN: "arn:aws:sts::" + a.ID + ":assumed-role/Developer/" + user, TLSVersion: tls, CipherSuite: "ECDHE-RSA-AES128-GCM-SHA256"})
		}
		f.expect("DPS-TLS-005", region, EventSourceARN(region, a.ID, src), "", passFail(weak))
	}
}
