package world

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// GenOptions shape a generated world.
type GenOptions struct {
	// Seed makes the world reproducible.
	Seed uint64
	// Accounts in the organization, the management account included.
	Accounts int
	// ViolationRate is the chance (0..1) that each checkable setting is
	// non-compliant.
	ViolationRate float64
	// PlantRate is the chance that a free-form field holds a planted
	// account number, personal data or credential.
	PlantRate float64
	// OptInDisabledRate is the share of accounts that have not enabled the
	// opt-in region ap-east-1 (the other opt-in regions are never enabled).
	OptInDisabledRate float64
	// RoleName and ExternalID of the scanner's role in every member account.
	RoleName, ExternalID string
	// MissingRole lists account indexes (1-based order of Accounts) whose
	// scanner role does not exist.
	MissingRole []int
	// BucketsPerAccount overrides the 1 to 4 buckets each account gets.
	BucketsPerAccount int
	// Now is the reference time for ages (key rotation, last use); time.Now when zero.
	Now time.Time
}

// DefaultGenOptions are the demo's defaults.
func DefaultGenOptions() GenOptions {
	return GenOptions{Seed: 1, Accounts: 24, ViolationRate: 0.3, PlantRate: 0.15, OptInDisabledRate: 0.25, RoleName: "dpsweep-readonly"}
}

// StandardRegions are the commercial regions every account has enabled;
// OptInRegions need enabling.
var (
	StandardRegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
		"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
		"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2"}
	OptInRegions = []string{"ap-east-1", "me-south-1", "af-south-1", "eu-south-1"}
)

// Generated is a generated world with the findings it expects.
type Generated struct {
	World *World
	opts  GenOptions
	// expect collects expectations per account as accounts fill.
	expect map[string][]Expected
}

// Generate builds a world. Accounts are filled lazily, when first used, so
// a large world costs memory only for the accounts a test touches;
// Expectations fills them all.
func Generate(o GenOptions) (*Generated, error) {
	if o.Accounts < 1 {
		return nil, fmt.Errorf("accounts: want at least 1, got %d", o.Accounts)
	}
	if o.ViolationRate < 0 || o.ViolationRate > 1 || o.PlantRate < 0 || o.PlantRate > 1 || o.OptInDisabledRate < 0 || o.OptInDisabledRate > 1 {
		return nil, fmt.Errorf("rates must be between 0 and 1")
	}
	if o.RoleName == "" {
		o.RoleName = "dpsweep-readonly"
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC().Truncate(time.Second)
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	w := &World{
		OrganizationID: "o-" + alnum(r, 10),
		RootID:         "r-" + alnum(r, 4),
	}
	for _, n := range StandardRegions {
		w.Regions = append(w.Regions, RegionInfo{Name: n})
	}
	for _, n := range OptInRegions {
		w.Regions = append(w.Regions, RegionInfo{Name: n, OptIn: true})
	}
	for _, name := range []string{"Production", "Development", "Sandbox", "Security"} {
		w.OUs = append(w.OUs, &OU{ID: "ou-" + w.RootID[2:] + "-" + alnum(r, 8), Name: name, Parent: w.RootID})
	}
	g := &Generated{World: w, opts: o, expect: map[string][]Expected{}}
	seen := map[string]bool{}
	missing := map[int]bool{}
	for _, i := range o.MissingRole {
		missing[i] = true
	}
	for i := 1; i <= o.Accounts; i++ {
		id := accountID(r)
		for seen[id] {
			id = accountID(r)
		}
		seen[id] = true
		env := []string{"prod", "dev", "sandbox", "security"}[r.IntN(4)]
		a := &Account{
			ID: id, Name: fmt.Sprintf("%s-%s-%02d", env, words[r.IntN(len(words))], i), Email: fmt.Sprintf("aws+%s-%d@example-corp.com", env, i),
			Parent: w.OUs[r.IntN(len(w.OUs))].ID, Tags: map[string]string{"env": env, "cost-center": fmt.Sprintf("cc-%d", 100+r.IntN(900))},
			Created: o.Now.Add(-time.Duration(200+r.IntN(2000)) * 24 * time.Hour),
		}
		if i == 1 {
			w.ManagementAccount, a.Parent, a.Name = id, w.RootID, "management"
		}
		if r.Float64() >= o.OptInDisabledRate {
			a.EnabledOptInRegions = []string{"ap-east-1"}
		}
		if i > 1 && !missing[i] {
			a.Roles = append(a.Roles, &Role{Name: o.RoleName, ExternalID: o.ExternalID})
		}
		seed, idx := o.Seed, uint64(i)
		a.lazy = func(a *Account) { g.fillAccount(a, rand.New(rand.NewPCG(seed, idx))) }
		w.Accounts = append(w.Accounts, a)
	}
	if err := w.Index(); err != nil {
		return nil, err
	}
	return g, nil
}

// Expectations fills every account and returns the findings the generator
// expects from a sweep of the whole organization, by account in order.
// Accounts whose scanner role is missing expect nothing here: a sweep
// reports them NOT_ASSESSED.
func (g *Generated) Expectations() []Expected {
	var out []Expected
	for _, a := range g.World.Accounts {
		a.fill()
		if _, ok := a.Role(g.opts.RoleName); !ok && a.ID != g.World.ManagementAccount {
			continue
		}
		g.World.mu.RLock()
		out = append(out, g.expect[a.ID]...)
		g.World.mu.RUnlock()
	}
	return out
}

// ExpectationsFor returns the findings expected for one account.
func (g *Generated) ExpectationsFor(id string) []Expected {
	a, ok := g.World.Account(id)
	if !ok {
		return nil
	}
	a.fill()
	g.World.mu.RLock()
	defer g.World.mu.RUnlock()
	return append([]Expected(nil), g.expect[id]...)
}

// filler generates one account's contents and its expectations.
type filler struct {
	g    *Generated
	w    *World
	a    *Account
	r    *rand.Rand
	o    GenOptions
	exp  []Expected
	home string
}

func (g *Generated) fillAccount(a *Account, r *rand.Rand) {
	f := &filler{g: g, w: g.World, a: a, r: r, o: g.opts}
	f.home = StandardRegions[r.IntN(4)] // us-east-1, us-east-2, us-west-1 or us-west-2
	f.iam()
	f.buckets()
	f.trail()
	f.regional()
	g.World.mu.Lock()
	g.expect[a.ID] = f.exp
	g.World.mu.Unlock()
}

func (f *filler) bad() bool { return f.r.Float64() < f.o.ViolationRate }

func (f *filler) expect(control, region, arn, field, status string, entities ...string) {
	f.exp = append(f.exp, Expected{Control: control, Account: f.a.ID, Region: region, ResourceARN: arn, FieldPath: field, Status: status, Entities: entities})
}

func passFail(fail bool) string {
	if fail {
		return "FAIL"
	}
	return "PASS"
}

// RootARN and the other helpers give the ARNs findings carry.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// UserARN is an IAM user's ARN.
func UserARN(account, name string) string { return "arn:aws:iam::" + account + ":user/" + name }

// BucketARN is a bucket's ARN.
func BucketARN(name string) string { return "arn:aws:s3:::" + name }

// TrailAccountARN is the synthetic ARN of an account's CloudTrail setup.
func TrailAccountARN(account string) string { return "arn:aws:cloudtrail::" + account + ":account" }

// MacieARN is the synthetic ARN of a region's Macie session.
func MacieARN(region, account string) string {
	return "arn:aws:macie2:" + region + ":" + account + ":session"
}

// EventSourceARN is the synthetic ARN of the CloudTrail events of one event source.
func EventSourceARN(region, account, source string) string {
	return "arn:aws:cloudtrail:" + region + ":" + account + ":eventsource/" + source
}

// Catalog ARNs.
func PortfolioARN(region, account, id string) string {
	return "arn:aws:catalog:" + region + ":" + account + ":portfolio/" + id
}

// ProductARN is a Service Catalog product's ARN.
func ProductARN(region, account, id string) string {
	return "arn:aws:catalog:" + region + ":" + account + ":product/" + id
}

// TagOptionARN is a tag option's synthetic ARN.
func TagOptionARN(region, account, id string) string {
	return "arn:aws:catalog:" + region + ":" + account + ":tagoption/" + id
}

// ConstraintARN is a constraint's synthetic ARN.
func ConstraintARN(region, account, id string) string {
	return "arn:aws:catalog:" + region + ":" + account + ":constraint/" + id
}

// ProvisionedARN is a provisioned product's ARN.
func ProvisionedARN(region, account, name, id string) string {
	return "arn:aws:servicecatalog:" + region + ":" + account + ":stack/" + name + "/" + id
}

// ApplicationARN is a SAR application's ARN.
func ApplicationARN(region, account, id string) string {
	return "arn:aws:serverlessrepo:" + region + ":" + account + ":applications/" + id
}

const adminPolicy = "arn:aws:iam::aws:policy/AdministratorAccess"

func (f *filler) iam() {
	a, r, now := f.a, f.r, f.o.Now
	acct := a.ID
	root := &a.IAM.Root
	root.MFA = !f.bad()
	if f.bad() {
		root.AccessKeys = 1
	}
	if f.bad() {
		root.LastUsed = now.Add(-time.Duration(1+r.IntN(20)) * 24 * time.Hour)
	} else if r.IntN(2) == 0 {
		root.LastUsed = now.Add(-time.Duration(200+r.IntN(300)) * 24 * time.Hour)
	}
	f.expect("DPS-IAM-001", "global", RootARN(acct), "", passFail(root.AccessKeys > 0))
	f.expect("DPS-IAM-002", "global", RootARN(acct), "", passFail(!root.LastUsed.IsZero() && now.Sub(root.LastUsed) < 90*24*time.Hour))
	f.expect("DPS-IAM-005", "global", RootARN(acct), "", passFail(!root.MFA))
	a.IAM.PasswordPolicy = &PasswordPolicy{MinimumLength: 8 + r.IntN(10), RequireSymbols: r.IntN(2) == 0, RequireNumbers: true, RequireUppercase: true, RequireLowercase: true}
	for i, n := 0, 2+r.IntN(4); i < n; i++ {
		u := &User{Name: fmt.Sprintf("%s.%s", first[r.IntN(len(first))], last[r.IntN(len(last))]), Created: now.Add(-time.Duration(100+r.IntN(900)) * 24 * time.Hour)}
		for _, x := range a.IAM.Users {
			if x.Name == u.Name {
				u.Name += fmt.Sprint(i)
			}
		}
		u.ConsolePassword = r.IntN(3) > 0
		if u.ConsolePassword {
			u.MFA = !f.bad()
			u.PasswordLastUsed = now.Add(-time.Duration(r.IntN(60)) * 24 * time.Hour)
		}
		if r.IntN(2) == 0 {
			age := time.Duration(10+r.IntN(70)) * 24 * time.Hour
			if f.bad() {
				age = time.Duration(120+r.IntN(600)) * 24 * time.Hour
			}
			u.AccessKeys = []AccessKey{{ID: "AKIA" + base32(r, 16), Active: true, LastRotated: now.Add(-age)}}
		}
		u.AttachedPolicies = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
		admin := f.bad() && r.IntN(2) == 0
		if admin {
			if r.IntN(2) == 0 {
				u.AttachedPolicies = append(u.AttachedPolicies, adminPolicy)
			} else {
				u.InlinePolicies = []InlinePolicy{{Name: "full-access", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}}
			}
		}
		a.IAM.Users = append(a.IAM.Users, u)
		arn := UserARN(acct, u.Name)
		f.expect("DPS-IAM-003", "global", arn, "", passFail(admin))
		if len(u.AccessKeys) > 0 {
			f.expect("DPS-IAM-004", "global", arn, "", passFail(now.Sub(u.AccessKeys[0].LastRotated) > 90*24*time.Hour))
		}
		if u.ConsolePassword {
			f.expect("DPS-IAM-006", "global", arn, "", passFail(!u.MFA))
		}
	}
	// A dedicated launch role and an administrator role for launch constraints.
	a.Roles = append(a.Roles,
		&Role{Name: "SCLaunchRole", AttachedPolicies: []string{"arn:aws:iam::" + acct + ":policy/sc-launch-minimal"}},
		&Role{Name: "OrganizationAccountAccessRole", AttachedPolicies: []string{adminPolicy}})
}

// enabled are the account's enabled regions.
func (f *filler) enabled() []string {
	out := append([]string(nil), StandardRegions...)
	return append(out, f.a.EnabledOptInRegions...)
}

const tlsDeny = `{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`
const tlsVersionDeny = `{"Sid":"DenyOldTLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"NumericLessThan":{"s3:TlsVersion":"1.2"}}}`
const readOnly = `{"Sid":"AllowAccountRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%[2]s:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::%[1]s/*"}`

func (f *filler) buckets() {
	a, r := f.a, f.r
	n := 1 + r.IntN(4)
	if f.o.BucketsPerAccount > 0 {
		n = f.o.BucketsPerAccount
	}
	regions := f.enabled()
	holding := map[string]bool{}
	for i := 0; i < n; i++ {
		region := f.home
		if r.IntN(3) == 0 {
			region = regions[r.IntN(len(regions))]
		}
		b := &Bucket{Name: fmt.Sprintf("%s-%s-%s-%d", strings.SplitN(a.Name, "-", 2)[0], words[r.IntN(len(words))], alnum(r, 6), i), Region: region, Created: a.Created.Add(time.Duration(i) * time.Hour)}
		switch {
		case f.bad() && r.IntN(2) == 0:
			// An old bucket from before default encryption.
		case f.bad():
			b.Encryption = "AES256"
		default:
			b.Encryption, b.KMSKeyID = "aws:kms", "arn:aws:kms:"+region+":"+a.ID+":key/"+uuid(r)
		}
		var st []string
		secure, modern := !f.bad(), !f.bad()
		if secure {
			st = append(st, fmt.Sprintf(tlsDeny, b.Name))
		}
		if modern {
			st = append(st, fmt.Sprintf(tlsVersionDeny, b.Name))
		}
		if r.IntN(2) == 0 {
			st = append(st, fmt.Sprintf(readOnly, b.Name, a.ID))
		}
		if len(st) > 0 {
			b.Policy = `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
		}
		b.PublicAccessBlock = &PublicAccessBlock{true, true, true, true}
		a.Buckets = append(a.Buckets, b)
		holding[region] = true
		arn := BucketARN(b.Name)
		f.expect("DPS-TLS-001", region, arn, "", passFail(!secure))
		f.expect("DPS-TLS-002", region, arn, "", passFail(!modern))
		f.expect("DPS-ENC-001", region, arn, "", passFail(b.Encryption == ""))
		f.expect("DPS-ENC-002", region, arn, "", passFail(!strings.HasPrefix(b.Encryption, "aws:kms")))
	}
	for _, region := range regions {
		if holding[region] {
			macie := !f.bad()
			f.reg(region).Macie = macie
			f.expect("DPS-MAC-001", region, MacieARN(region, a.ID), "", passFail(!macie))
		}
	}
}

func (f *filler) reg(region string) *Regional {
	if f.a.Regional == nil {
		f.a.Regional = map[string]*Regional{}
	}
	g, ok := f.a.Regional[region]
	if !ok {
		g = &Regional{}
		f.a.Regional[region] = g
	}
	return g
}

func (f *filler) trail() {
	a, r := f.a, f.r
	if f.bad() && r.IntN(2) == 0 {
		f.expect("DPS-LOG-001", "global", TrailAccountARN(a.ID), "", "FAIL") // no trail at all
		return
	}
	t := &Trail{Name: "management-events", MultiRegion: !f.bad(), Logging: !f.bad(), LogFileValidation: !f.bad(),
		S3Bucket: "cloudtrail-logs-" + a.ID, ManagementEvents: "All"}
	if !f.bad() {
		t.KMSKeyID = "arn:aws:kms:" + f.home + ":" + a.ID + ":key/" + uuid(r)
	}
	if f.bad() {
		t.ManagementEvents = []string{"WriteOnly", "ReadOnly", ""}[r.IntN(3)]
	}
	f.reg(f.home).Trails = append(f.reg(f.home).Trails, t)
	arn := "arn:aws:cloudtrail:" + f.home + ":" + a.ID + ":trail/" + t.Name
	f.expect("DPS-LOG-001", "global", TrailAccountARN(a.ID), "", passFail(!(t.MultiRegion && t.Logging)))
	f.expect("DPS-LOG-002", f.home, arn, "", passFail(!t.LogFileValidation))
	f.expect("DPS-LOG-003", f.home, arn, "", passFail(t.KMSKeyID == ""))
	f.expect("DPS-LOG-004", f.home, arn, "", passFail(t.ManagementEvents != "All"))
}

func (f *filler) regional() {
	a, r := f.a, f.r
	for _, region := range f.enabled() {
		g := f.reg(region)
		// Every region has its default VPC; the home region one more.
		vpcs := 1
		if region == f.home {
			vpcs = 2
		}
		for i := 0; i < vpcs; i++ {
			v := &VPC{ID: "vpc-" + hex(r, 17), CIDR: fmt.Sprintf("10.%d.0.0/16", r.IntN(256)), Default: i == 0}
			ok := region == f.home && !f.bad()
			if ok {
				v.Endpoints = append(v.Endpoints, &Endpoint{ID: "vpce-" + hex(r, 17), Service: "servicecatalog", Type: "Interface", PrivateDNS: true})
			} else if region == f.home && r.IntN(2) == 0 {
				v.Endpoints = append(v.Endpoints, &Endpoint{ID: "vpce-" + hex(r, 17), Service: "servicecatalog", Type: "Interface", PrivateDNS: false})
			}
			if r.IntN(2) == 0 {
				v.Endpoints = append(v.Endpoints, &Endpoint{ID: "vpce-" + hex(r, 17), Service: "s3", Type: "Gateway"})
			}
			g.VPCs = append(g.VPCs, v)
			f.expect("DPS-NET-001", region, "arn:aws:ec2:"+region+":"+a.ID+":vpc/"+v.ID, "", passFail(!ok))
		}
		if region != f.home {
			continue
		}
		for i, n := 0, r.IntN(3); i < n; i++ {
			t := &Table{Name: words[r.IntN(len(words))] + "-" + alnum(r, 5), SSE: "KMS", Items: int64(r.IntN(100000))}
			if f.bad() {
				t.SSE = "DEFAULT"
			} else if r.IntN(2) == 0 {
				t.SSE, t.KMSKeyARN = "CMK", "arn:aws:kms:"+region+":"+a.ID+":key/"+uuid(r)
			}
			g.Tables = append(g.Tables, t)
			f.expect("DPS-ENC-003", region, "arn:aws:dynamodb:"+region+":"+a.ID+":table/"+t.Name, "", passFail(t.SSE == "DEFAULT"))
		}
		for i, n := 0, 1+r.IntN(3); i < n; i++ {
			k := &Key{ID: uuid(r), Manager: "CUSTOMER", Rotation: !f.bad()}
			g.Keys = append(g.Keys, k)
			f.expect("DPS-ENC-004", region, "arn:aws:kms:"+region+":"+a.ID+":key/"+k.ID, "", passFail(!k.Rotation))
		}
		g.Keys = append(g.Keys, &Key{ID: uuid(r), Manager: "AWS", Rotation: true}) // an AWS managed key: out of scope
		f.catalog(region, g)
		f.applications(region, g)
		f.events(region, g)
	}
}
