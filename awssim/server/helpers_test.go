package server

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/dpsweep/dpsweep/awssim/world"
)

const (
	mgmt   = "111111111111"
	member = "222222222222"
	optin  = "333333333333"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testWorld is a small hand-written world: a management account and two
// members, one with an opt-in region enabled.
func testWorld(t testing.TB) *world.World {
	t.Helper()
	w := &world.World{
		OrganizationID: "o-abcdefghij", ManagementAccount: mgmt, RootID: "r-ab12",
		OUs:     []*world.OU{{ID: "ou-ab12-11111111", Name: "Prod", Parent: "r-ab12"}},
		Regions: []world.RegionInfo{{Name: "us-east-1"}, {Name: "eu-west-1"}, {Name: "ap-east-1", OptIn: true}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0},
			{ID: member, Name: "prod", Email: "aws-prod@example.com", Parent: "ou-ab12-11111111", Created: t0,
				Tags:  map[string]string{"env": "prod"},
				Roles: []*world.Role{{Name: "dpsweep-readonly", ExternalID: "ext-123"}, {Name: "AdminLaunch", AttachedPolicies: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}}},
				IAM: world.IAM{
					Root: world.Root{MFA: false, AccessKeys: 1, LastUsed: t0.Add(-24 * time.Hour)},
					Users: []*world.User{
						{Name: "alice", Created: t0, ConsolePassword: true, MFA: true, AttachedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}},
						{Name: "bob", Created: t0, ConsolePassword: true, AccessKeys: []world.AccessKey{{ID: "AKIABOBKEY0000000001", Active: true, LastRotated: t0.Add(-400 * 24 * time.Hour)}},
							AttachedPolicies: []string{"arn:aws:iam::aws:policy/AdministratorAccess"},
							InlinePolicies:   []world.InlinePolicy{{Name: "all", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}}},
						{Name: "carol", Created: t0},
					},
					PasswordPolicy: &world.PasswordPolicy{MinimumLength: 14, RequireSymbols: true},
				},
				Buckets: []*world.Bucket{
					{Name: "prod-logs", Region: "eu-west-1", Encryption: "aws:kms", KMSKeyID: "arn:aws:kms:eu-west-1:222222222222:key/k1",
						Policy:            `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::prod-logs/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
						PublicAccessBlock: &world.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}},
					{Name: "prod-old", Region: "us-east-1"},
				},
			},
			{ID: optin, Name: "asia", Email: "aws-asia@example.com", EnabledOptInRegions: []string{"ap-east-1"},
				Roles: []*world.Role{{Name: "dpsweep-readonly"}},
				Regional: map[string]*world.Regional{"ap-east-1": {Applications: []*world.Application{
					{ID: "hello-world", Name: "hello-world", Author: "Jane Doe 111122223333", Description: "Says hello.", Labels: []string{"demo", "public"},
						HomePageURL: "https://github.com/example/hello", SourceCodeURL: "https://user:pass@git.example.com/hello.git", LicenseURL: "https://example.com/LICENSE", ReadmeURL: "https://example.com/README.md",
						Versions: []*world.Version{{SemanticVersion: "1.0.0", TemplateURL: "https://example.com/t.yaml"}, {SemanticVersion: "1.1.0", TemplateURL: "https://example.com/t2.yaml", SourceCodeURL: "https://git.example.com/hello/tree/1.1.0"}},
						Policy:   []*world.PolicyStatement{{Actions: []string{"Deploy"}, Principals: []string{"*"}}}},
					{ID: "internal-tool", Name: "internal-tool", Author: "platform", Description: "Internal."},
				}}}},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

// sim starts a simulator over w on a real 127.0.0.1 listener.
func sim(t testing.TB, w *world.World, opts Options) (*Server, string) {
	t.Helper()
	opts.World = w
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs.URL
}

// cfg is an SDK config that talks to the simulator as an account's root.
func cfg(url, account, region string) aws.Config {
	ak, sk := RootCredentials(account)
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
