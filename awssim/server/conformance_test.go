package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/macie2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/servicecatalog"
	sctypes "github.com/aws/aws-sdk-go-v2/service/servicecatalog/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// The conformance test keeps the simulator true to AWS by comparing it with
// moto's server, an independent implementation of the same APIs: both get
// the same resources, the same calls go to both through aws-sdk-go-v2, and
// every field moto's response fills must be filled by the simulator's too,
// and errors must carry the same codes. Where moto is known to differ from
// AWS the test follows AWS and says so in knownDifferences (fields) and
// knownErrorDifferences (errors). Operations moto's server lacks are still
// called (conformanceCall.motoLacks) and compared once moto answers them.

// startMoto runs moto's server (python3 -m moto.server) on a free port, or
// skips the test when moto is not installed.
func startMoto(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import moto.server").CombinedOutput(); err != nil {
		t.Skipf("moto is not installed (pip install 'moto[server]'); conformance test skipped: %v %s", err, bytes.TrimSpace(out))
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("moto server did not start within 10s")
	return ""
}

func motoConfig(url, region string) aws.Config {
	return aws.Config{Region: region, BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
}

// fieldPaths lists the paths of the non-zero fields of an SDK output,
// slices and maps collapsed to "[]" ("Users[].UserName").
func fieldPaths(v any) []string {
	set := map[string]bool{}
	var walk func(rv reflect.Value, path string)
	walk = func(rv reflect.Value, path string) {
		for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
			if rv.IsNil() {
				return
			}
			rv = rv.Elem()
		}
		switch rv.Kind() {
		case reflect.Struct:
			if rv.Type().PkgPath() == "github.com/aws/smithy-go/middleware" || rv.Type().Name() == "noSmithyDocumentSerde" {
				return
			}
			for i := 0; i < rv.NumField(); i++ {
				f := rv.Type().Field(i)
				if !f.IsExported() || f.Name == "ResultMetadata" {
					continue
				}
				walk(rv.Field(i), strings.TrimPrefix(path+"."+f.Name, "."))
			}
			if rv.Type() == reflect.TypeOf(time.Time{}) && !rv.Interface().(time.Time).IsZero() {
				set[path] = true
			}
		case reflect.Slice, reflect.Map:
			if rv.Len() == 0 {
				return
			}
			set[path] = true
			if rv.Kind() == reflect.Slice {
				for i := 0; i < rv.Len(); i++ {
					walk(rv.Index(i), path+"[]")
				}
			}
		default:
			if !rv.IsZero() {
				set[path] = true
			}
		}
	}
	walk(reflect.ValueOf(v), "")
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// knownDifferences are fields moto fills that AWS does not (or fills only
// in cases the simulated world does not have), by operation.
var knownDifferences = map[string][]string{
	// moto reports a PermissionsBoundary-less user's Tags as empty lists and
	// always sets PasswordLastUsed on users it creates; AWS omits it for users
	// who never signed in.
	"iam:ListUsers": {"Users[].PasswordLastUsed"},
	// moto reports private DNS enabled on every endpoint, gateway endpoints
	// included; AWS answers false for gateway endpoints, which have no DNS
	// names of their own.
	"ec2:DescribeVpcEndpoints (gateway)": {"VpcEndpoints[].PrivateDnsEnabled"},
}

// knownErrorDifferences are calls AWS answers with an error moto does not
// give: the simulator must answer AWS's code (the value), whatever moto says.
var knownErrorDifferences = map[string]string{
	// AWS answers a portfolio ID it does not know with
	// ResourceNotFoundException; moto answers an empty PortfolioDetail, no
	// shares and no accounts.
	"servicecatalog:DescribePortfolio (missing)":       "ResourceNotFoundException",
	"servicecatalog:DescribePortfolioShares (missing)": "ResourceNotFoundException",
	"servicecatalog:ListPortfolioAccess (missing)":     "ResourceNotFoundException",
	// In a region where Macie is not enabled AWS answers every Macie call,
	// GetMacieSession included, AccessDeniedException "Macie is not
	// enabled"; moto answers ResourceNotFoundException after DisableMacie
	// (and has Macie enabled in every region until then).
	"macie2:GetMacieSession (not enabled)": "AccessDeniedException",
}

type conformanceCall struct {
	name string
	sim  func(ctx context.Context) (any, error)
	moto func(ctx context.Context) (any, error)
	// motoLacks marks an operation moto's server does not implement (it
	// answers 404 or 500): the call is made, and compared only if moto
	// answers after all.
	motoLacks bool
}

// same is a call made alike on both sides, through the simulator's client
// and through moto's.
func same[C, O any](name string, s, m C, f func(context.Context, C) (O, error)) conformanceCall {
	return conformanceCall{name: name,
		sim:  func(ctx context.Context) (any, error) { o, err := f(ctx, s); return o, err },
		moto: func(ctx context.Context) (any, error) { o, err := f(ctx, m); return o, err }}
}

// paired is a call whose argument differs by side: an ID moto chose, an
// account number.
func paired[C, A, O any](name string, s C, sa A, m C, ma A, f func(context.Context, C, A) (O, error)) conformanceCall {
	return conformanceCall{name: name,
		sim:  func(ctx context.Context) (any, error) { o, err := f(ctx, s, sa); return o, err },
		moto: func(ctx context.Context) (any, error) { o, err := f(ctx, m, ma); return o, err }}
}

// lacking marks the call as one moto does not implement.
func (c conformanceCall) lacking() conformanceCall { c.motoLacks = true; return c }

// motoUnimplemented reports whether moto answered as it does an operation
// it lacks: 500 (NotImplementedError) or 404 (no such route) with an HTML
// page rather than an AWS error.
func motoUnimplemented(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.HTTPStatusCode() {
	case http.StatusInternalServerError, http.StatusNotImplemented:
		return true
	case http.StatusNotFound:
		code := apiCode(err)
		return code == "" || code == "404" || code == "UnknownError"
	}
	return false
}

func compare(t *testing.T, ctx context.Context, c conformanceCall) {
	t.Helper()
	simOut, simErr := c.sim(ctx)
	motoOut, motoErr := c.moto(ctx)
	if c.motoLacks && motoUnimplemented(motoErr) {
		t.Logf("%s: moto does not implement it; not compared", c.name)
		return
	}
	if want, ok := knownErrorDifferences[c.name]; ok {
		if apiCode(simErr) != want {
			t.Errorf("%s: simulator error %v, want %s as AWS answers (moto: %v)", c.name, simErr, want, motoErr)
		}
		return
	}
	if (simErr != nil) != (motoErr != nil) || apiCode(simErr) != apiCode(motoErr) {
		t.Errorf("%s: simulator error %v, moto error %v", c.name, simErr, motoErr)
		return
	}
	if simErr != nil {
		return
	}
	have := map[string]bool{}
	for _, p := range fieldPaths(simOut) {
		have[p] = true
	}
	for _, p := range fieldPaths(motoOut) {
		if !have[p] && !slices.Contains(knownDifferences[c.name], p) {
			t.Errorf("%s: moto fills %s, the simulator does not", c.name, p)
		}
	}
}

// The member account's regional resources in the conformance world, which
// the moto side recreates through moto's create APIs (moto picks its own
// IDs; calls by ID use each side's own).
const (
	cfKeyID       = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	cfDefaultVPC  = "vpc-0d3f1a2b3c4d5e6f7"
	cfVPC         = "vpc-0a1b2c3d4e5f60718"
	cfInterfaceEP = "vpce-0a1b2c3d4e5f60718"
	cfGatewayEP   = "vpce-0f1e2d3c4b5a69788"
	cfPortfolio   = "port-2s5vkiqz3tgvc"
	cfProduct     = "prod-4rcxq7oaw3ufm"
	cfArtifact    = "pa-7sk4ddwqdk3ji"
	cfTagOption   = "tag-ab12cd34ef56g"
	cfConstraint  = "cons-3wbcbm2lqiw5a"
	// motoAccount is the account moto's server answers as.
	motoAccount = "123456789012"
)

// conformanceWorld is testWorld with regional resources in the member
// account: in us-east-1 a logging multi-region trail and a stopped one, a
// rotating customer key, a table encrypted with it, the default VPC and a
// VPC with an interface and a gateway endpoint, Macie enabled, a Service
// Catalog portfolio shared with an account and the organization, a product,
// a tag option, a constraint and a CloudTrail event; in eu-west-1 nothing
// (Macie not enabled). The other tests never see these.
func conformanceWorld(t testing.TB) *world.World {
	t.Helper()
	w := testWorld(t)
	a, _ := w.Account(member)
	keyARN := "arn:aws:kms:us-east-1:" + member + ":key/" + cfKeyID
	a.Regional = map[string]*world.Regional{
		"us-east-1": {
			Macie: true,
			Trails: []*world.Trail{
				{Name: "main", MultiRegion: true, Logging: true, LogFileValidation: true, KMSKeyID: keyARN, S3Bucket: "prod-old", ManagementEvents: "All"},
				{Name: "stopped", S3Bucket: "prod-old"},
			},
			Keys:   []*world.Key{{ID: cfKeyID, Rotation: true}},
			Tables: []*world.Table{{Name: "orders", SSE: "CMK", KMSKeyARN: keyARN}},
			VPCs: []*world.VPC{
				{ID: cfDefaultVPC, Default: true},
				{ID: cfVPC, CIDR: "10.0.0.0/16", Endpoints: []*world.Endpoint{
					{ID: cfInterfaceEP, Service: "servicecatalog", PrivateDNS: true},
					{ID: cfGatewayEP, Service: "s3", Type: "Gateway"},
				}},
			},
			Portfolios: []*world.Portfolio{{ID: cfPortfolio, DisplayName: "Platform", Description: "Shared infrastructure", ProviderName: "Platform team",
				Tags: map[string]string{"team": "platform"}, Created: t0, Products: []string{cfProduct},
				Shares:      []string{optin, w.OrganizationID},
				Constraints: []*world.Constraint{{ID: cfConstraint, Type: "LAUNCH", ProductID: cfProduct, RoleARN: "arn:aws:iam::" + member + ":role/SCLaunchRole"}},
				TagOptions:  []string{cfTagOption}}},
			Products: []*world.Product{{ID: cfProduct, Name: "vpc", Owner: "Platform team", Description: "A VPC", Distributor: "IT",
				SupportDescription: "Ask the platform team", SupportEmail: "platform@example.com", SupportURL: "https://wiki.example.com/vpc",
				Tags: map[string]string{"team": "platform"}, Created: t0,
				Artifacts: []*world.Artifact{{ID: cfArtifact, Name: "v1", Description: "First version", TemplateURL: "https://example.com/vpc.yaml", Active: true}}}},
			TagOptions: []*world.TagOption{{ID: cfTagOption, Key: "cost-center", Value: "cc-100", Active: true}},
			Events: []*world.Event{{ID: "3f1c2a4e-0000-4000-8000-000000000001", Source: "servicecatalog.amazonaws.com", Name: "ListPortfolios",
				Time: t0.Add(-time.Hour), Username: "alice", TLSVersion: "TLSv1.3"}},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

// fatalOn returns a function that fails t on a setup call's error.
func fatalOn(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// conformanceFinding is the ASFF finding both sides import, for the given account.
func conformanceFinding(id, account string) shtypes.AwsSecurityFinding {
	return shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"), Id: aws.String(id),
		ProductArn:  aws.String("arn:aws:securityhub:us-east-1:" + account + ":product/" + account + "/default"),
		GeneratorId: aws.String("dpsweep/DPS-ENC-001"), AwsAccountId: aws.String(account),
		CreatedAt: aws.String("2025-06-01T12:00:00.000Z"), UpdatedAt: aws.String("2025-06-01T12:00:00.000Z"),
		Title: aws.String("Bucket has no default encryption"), Description: aws.String("prod-old has no default encryption."),
		Types:      []string{"Software and Configuration Checks/AWS Security Best Practices"},
		Severity:   &shtypes.Severity{Label: shtypes.SeverityLabelHigh},
		Compliance: &shtypes.Compliance{Status: shtypes.ComplianceStatusFailed},
		Resources:  []shtypes.Resource{{Type: aws.String("AwsS3Bucket"), Id: aws.String("arn:aws:s3:::prod-old"), Region: aws.String("us-east-1")}},
	}
}

func TestConformanceWithMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto's server; skipped with -short")
	}
	t.Parallel()
	murl := startMoto(t)
	_, surl := sim(t, conformanceWorld(t), Options{})
	ctx := ctx(t)
	mc, mEUc := motoConfig(murl, "us-east-1"), motoConfig(murl, "eu-west-1")
	sc, sEUc := cfg(surl, member, "us-east-1"), cfg(surl, member, "eu-west-1")
	run := func(t *testing.T, calls ...conformanceCall) {
		t.Helper()
		for _, c := range calls {
			compare(t, ctx, c)
		}
	}

	// Subtests run in order on one moto server; moto's single account stands
	// for the simulator's member account.

	t.Run("STS", func(t *testing.T) {
		run(t, same("sts:GetCallerIdentity", sts.NewFromConfig(sc), sts.NewFromConfig(mc), func(ctx context.Context, c *sts.Client) (*sts.GetCallerIdentityOutput, error) {
			return c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		}))
	})

	t.Run("IAM", func(t *testing.T) {
		must := fatalOn(t)
		mi := iam.NewFromConfig(mc)
		for _, u := range []string{"alice", "bob", "carol"} {
			_, err := mi.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)})
			must(nil, err)
		}
		_, err := mi.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
		must(nil, err)
		_, err = mi.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("all"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
		must(nil, err)
		_, err = mi.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(14), RequireSymbols: true})
		must(nil, err)
		si := iam.NewFromConfig(sc)
		policy := func(name string) func(context.Context, *iam.Client) (*iam.GetUserPolicyOutput, error) {
			return func(ctx context.Context, c *iam.Client) (*iam.GetUserPolicyOutput, error) {
				return c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String(name)})
			}
		}
		run(t,
			same("iam:ListUsers", si, mi, func(ctx context.Context, c *iam.Client) (*iam.ListUsersOutput, error) {
				return c.ListUsers(ctx, &iam.ListUsersInput{})
			}),
			same("iam:ListAttachedUserPolicies", si, mi, func(ctx context.Context, c *iam.Client) (*iam.ListAttachedUserPoliciesOutput, error) {
				return c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("bob")})
			}),
			same("iam:ListUserPolicies", si, mi, func(ctx context.Context, c *iam.Client) (*iam.ListUserPoliciesOutput, error) {
				return c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("bob")})
			}),
			same("iam:GetUserPolicy", si, mi, policy("all")),
			same("iam:GetUserPolicy (missing)", si, mi, policy("none")),
			same("iam:GetAccountPasswordPolicy", si, mi, func(ctx context.Context, c *iam.Client) (*iam.GetAccountPasswordPolicyOutput, error) {
				return c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
			}),
			same("iam:GetLoginProfile (none)", si, mi, func(ctx context.Context, c *iam.Client) (*iam.GetLoginProfileOutput, error) {
				return c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})
			}),
		)
	})

	t.Run("S3", func(t *testing.T) {
		must := fatalOn(t)
		ms3 := s3.NewFromConfig(mc, func(o *s3.Options) { o.UsePathStyle = true })
		mEU := s3.NewFromConfig(mEUc, func(o *s3.Options) { o.UsePathStyle = true })
		must(ms3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("prod-logs"),
			CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}))
		must(ms3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("prod-old")}))
		must(mEU.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String("prod-logs"), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
			Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("arn:aws:kms:eu-west-1:222222222222:key/k1")}, BucketKeyEnabled: aws.Bool(true)}}}}))
		must(mEU.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("prod-logs"), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}))
		ss3, sEU := s3client(surl, member, "us-east-1"), s3client(surl, member, "eu-west-1")
		bucket := func(name string) *string { return aws.String(name) }
		run(t,
			same("s3:ListBuckets", ss3, ms3, func(ctx context.Context, c *s3.Client) (*s3.ListBucketsOutput, error) {
				return c.ListBuckets(ctx, &s3.ListBucketsInput{})
			}),
			same("s3:GetBucketLocation", ss3, ms3, func(ctx context.Context, c *s3.Client) (*s3.GetBucketLocationOutput, error) {
				return c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: bucket("prod-logs")})
			}),
			same("s3:GetBucketEncryption", sEU, mEU, func(ctx context.Context, c *s3.Client) (*s3.GetBucketEncryptionOutput, error) {
				return c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket("prod-logs")})
			}),
			same("s3:GetPublicAccessBlock", sEU, mEU, func(ctx context.Context, c *s3.Client) (*s3.GetPublicAccessBlockOutput, error) {
				return c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket("prod-logs")})
			}),
			same("s3:GetBucketPolicy (none)", ss3, ms3, func(ctx context.Context, c *s3.Client) (*s3.GetBucketPolicyOutput, error) {
				return c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket("prod-old")})
			}),
			same("s3:GetBucketEncryption (missing bucket)", ss3, ms3, func(ctx context.Context, c *s3.Client) (*s3.GetBucketEncryptionOutput, error) {
				return c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket("no-such-bucket")})
			}),
		)
		// moto leaves a new bucket unencrypted; AWS encrypts every new bucket
		// with SSE-S3 since January 2023. The simulator follows AWS for buckets
		// made after that date and models older unencrypted buckets explicitly
		// (world.Bucket.Encryption ""), which is what prod-old is here.
	})

	t.Run("Organizations", func(t *testing.T) {
		must := fatalOn(t)
		mo := organizations.NewFromConfig(mc)
		must(mo.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
		so := organizations.NewFromConfig(cfg(surl, mgmt, "us-east-1"))
		run(t,
			same("organizations:DescribeOrganization", so, mo, func(ctx context.Context, c *organizations.Client) (*organizations.DescribeOrganizationOutput, error) {
				return c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
			}),
			same("organizations:ListRoots", so, mo, func(ctx context.Context, c *organizations.Client) (*organizations.ListRootsOutput, error) {
				return c.ListRoots(ctx, &organizations.ListRootsInput{})
			}),
			same("organizations:ListAccounts", so, mo, func(ctx context.Context, c *organizations.Client) (*organizations.ListAccountsOutput, error) {
				return c.ListAccounts(ctx, &organizations.ListAccountsInput{})
			}),
		)
	})

	t.Run("EC2", func(t *testing.T) {
		must := fatalOn(t)
		me := ec2.NewFromConfig(mc)
		// moto, like AWS, gives every region a default VPC.
		vpc, err := me.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
		must(vpc, err)
		iface, err := me.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: vpc.Vpc.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.servicecatalog"),
			VpcEndpointType: ec2types.VpcEndpointTypeInterface, PrivateDnsEnabled: aws.Bool(true)})
		must(iface, err)
		gw, err := me.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: vpc.Vpc.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3"),
			VpcEndpointType: ec2types.VpcEndpointTypeGateway})
		must(gw, err)
		se := ec2.NewFromConfig(sc)
		run(t,
			same("ec2:DescribeRegions", se, me, func(ctx context.Context, c *ec2.Client) (*ec2.DescribeRegionsOutput, error) {
				return c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
			}),
			same("ec2:DescribeVpcs", se, me, func(ctx context.Context, c *ec2.Client) (*ec2.DescribeVpcsOutput, error) {
				return c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			}),
			paired("ec2:DescribeVpcs (by ID)", se, cfVPC, me, aws.ToString(vpc.Vpc.VpcId), func(ctx context.Context, c *ec2.Client, id string) (*ec2.DescribeVpcsOutput, error) {
				return c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
			}),
			same("ec2:DescribeVpcEndpoints", se, me, func(ctx context.Context, c *ec2.Client) (*ec2.DescribeVpcEndpointsOutput, error) {
				return c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
			}),
			paired("ec2:DescribeVpcEndpoints (gateway)", se, cfGatewayEP, me, aws.ToString(gw.VpcEndpoint.VpcEndpointId), func(ctx context.Context, c *ec2.Client, id string) (*ec2.DescribeVpcEndpointsOutput, error) {
				return c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
			}),
			same("ec2:DescribeVpcs (missing)", se, me, func(ctx context.Context, c *ec2.Client) (*ec2.DescribeVpcsOutput, error) {
				return c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-00000000000000000"}})
			}),
			same("ec2:DescribeVpcEndpoints (missing)", se, me, func(ctx context.Context, c *ec2.Client) (*ec2.DescribeVpcEndpointsOutput, error) {
				return c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{"vpce-00000000000000000"}})
			}),
		)
	})

	t.Run("CloudTrail", func(t *testing.T) {
		must := fatalOn(t)
		mct := cloudtrail.NewFromConfig(mc)
		// The trails write to prod-old, which the S3 subtest made in moto.
		must(mct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("prod-old"), IsMultiRegionTrail: aws.Bool(true),
			EnableLogFileValidation: aws.Bool(true), KmsKeyId: aws.String("arn:aws:kms:us-east-1:" + motoAccount + ":key/" + cfKeyID)}))
		must(mct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("main")}))
		must(mct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("main"),
			EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}))
		// The simulator's stopped trail has logged before (it reports when it
		// stopped), so moto's is started and stopped.
		must(mct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("stopped"), S3BucketName: aws.String("prod-old")}))
		must(mct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("stopped")}))
		must(mct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("stopped")}))
		sct, sctEU, mctEU := cloudtrail.NewFromConfig(sc), cloudtrail.NewFromConfig(sEUc), cloudtrail.NewFromConfig(mEUc)
		status := func(name string) func(context.Context, *cloudtrail.Client) (*cloudtrail.GetTrailStatusOutput, error) {
			return func(ctx context.Context, c *cloudtrail.Client) (*cloudtrail.GetTrailStatusOutput, error) {
				return c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(name)})
			}
		}
		selectors := func(name string) func(context.Context, *cloudtrail.Client) (*cloudtrail.GetEventSelectorsOutput, error) {
			return func(ctx context.Context, c *cloudtrail.Client) (*cloudtrail.GetEventSelectorsOutput, error) {
				return c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(name)})
			}
		}
		describe := func(ctx context.Context, c *cloudtrail.Client) (*cloudtrail.DescribeTrailsOutput, error) {
			return c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		}
		run(t,
			same("cloudtrail:DescribeTrails", sct, mct, describe),
			same("cloudtrail:DescribeTrails (shadow)", sctEU, mctEU, describe),
			same("cloudtrail:GetTrailStatus", sct, mct, status("main")),
			same("cloudtrail:GetTrailStatus (stopped)", sct, mct, status("stopped")),
			same("cloudtrail:GetEventSelectors", sct, mct, selectors("main")),
			same("cloudtrail:GetTrailStatus (missing)", sct, mct, status("no-such-trail")),
			same("cloudtrail:GetEventSelectors (missing)", sct, mct, selectors("no-such-trail")),
			same("cloudtrail:LookupEvents", sct, mct, func(ctx context.Context, c *cloudtrail.Client) (*cloudtrail.LookupEventsOutput, error) {
				return c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
			}).lacking(),
		)
	})

	t.Run("KMS", func(t *testing.T) {
		must := fatalOn(t)
		mk := kms.NewFromConfig(mc)
		key, err := mk.CreateKey(ctx, &kms.CreateKeyInput{})
		must(key, err)
		motoKey := aws.ToString(key.KeyMetadata.KeyId)
		must(mk.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(motoKey)}))
		sk := kms.NewFromConfig(sc)
		describe := func(ctx context.Context, c *kms.Client, id string) (*kms.DescribeKeyOutput, error) {
			return c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		}
		run(t,
			same("kms:ListKeys", sk, mk, func(ctx context.Context, c *kms.Client) (*kms.ListKeysOutput, error) {
				return c.ListKeys(ctx, &kms.ListKeysInput{})
			}),
			paired("kms:DescribeKey", sk, cfKeyID, mk, motoKey, describe),
			paired("kms:GetKeyRotationStatus", sk, cfKeyID, mk, motoKey, func(ctx context.Context, c *kms.Client, id string) (*kms.GetKeyRotationStatusOutput, error) {
				return c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
			}),
			paired("kms:DescribeKey (missing)", sk, "11111111-2222-3333-4444-555555555555", mk, "11111111-2222-3333-4444-555555555555", describe),
			paired("kms:DescribeKey (missing alias)", sk, "alias/no-such-alias", mk, "alias/no-such-alias", describe),
			same("kms:GetKeyRotationStatus (missing)", sk, mk, func(ctx context.Context, c *kms.Client) (*kms.GetKeyRotationStatusOutput, error) {
				return c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String("11111111-2222-3333-4444-555555555555")})
			}),
		)
	})

	t.Run("DynamoDB", func(t *testing.T) {
		must := fatalOn(t)
		mk := kms.NewFromConfig(mc)
		key, err := mk.CreateKey(ctx, &kms.CreateKeyInput{})
		must(key, err)
		md := dynamodb.NewFromConfig(mc)
		must(md.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
			SSESpecification:     &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: key.KeyMetadata.Arn}}))
		sd := dynamodb.NewFromConfig(sc)
		describe := func(name string) func(context.Context, *dynamodb.Client) (*dynamodb.DescribeTableOutput, error) {
			return func(ctx context.Context, c *dynamodb.Client) (*dynamodb.DescribeTableOutput, error) {
				return c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			}
		}
		run(t,
			same("dynamodb:ListTables", sd, md, func(ctx context.Context, c *dynamodb.Client) (*dynamodb.ListTablesOutput, error) {
				return c.ListTables(ctx, &dynamodb.ListTablesInput{})
			}),
			same("dynamodb:DescribeTable", sd, md, describe("orders")),
			same("dynamodb:DescribeTable (missing)", sd, md, describe("no-such-table")),
		)
	})

	t.Run("Macie2", func(t *testing.T) {
		must := fatalOn(t)
		// moto has Macie enabled in every region from the start; the
		// simulator's member has it in us-east-1 only.
		mm, mmEU := macie2.NewFromConfig(mc), macie2.NewFromConfig(mEUc)
		must(mm.EnableMacie(ctx, &macie2.EnableMacieInput{}))
		must(mmEU.DisableMacie(ctx, &macie2.DisableMacieInput{}))
		session := func(ctx context.Context, c *macie2.Client) (*macie2.GetMacieSessionOutput, error) {
			return c.GetMacieSession(ctx, &macie2.GetMacieSessionInput{})
		}
		run(t,
			same("macie2:GetMacieSession", macie2.NewFromConfig(sc), mm, session),
			same("macie2:GetMacieSession (not enabled)", macie2.NewFromConfig(sEUc), mmEU, session),
		)
	})

	t.Run("SecurityHub", func(t *testing.T) {
		ssh, msh := securityhub.NewFromConfig(sc), securityhub.NewFromConfig(mc)
		// The second finding has no resources, which AWS rejects (Resources
		// holds 1 to 32) in FailedFindings.
		noResources := func(account string) shtypes.AwsSecurityFinding {
			f := conformanceFinding("dpsweep-2", account)
			f.Resources = []shtypes.Resource{}
			return f
		}
		run(t,
			paired("securityhub:BatchImportFindings", ssh, member, msh, motoAccount, func(ctx context.Context, c *securityhub.Client, account string) (*securityhub.BatchImportFindingsOutput, error) {
				return c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{conformanceFinding("dpsweep-1", account), noResources(account)}})
			}),
			same("securityhub:GetFindings", ssh, msh, func(ctx context.Context, c *securityhub.Client) (*securityhub.GetFindingsOutput, error) {
				return c.GetFindings(ctx, &securityhub.GetFindingsInput{})
			}),
			// GetFindings has no not-found case; a MaxResults out of range is
			// the error it shares with moto.
			same("securityhub:GetFindings (bad MaxResults)", ssh, msh, func(ctx context.Context, c *securityhub.Client) (*securityhub.GetFindingsOutput, error) {
				return c.GetFindings(ctx, &securityhub.GetFindingsInput{MaxResults: aws.Int32(101)})
			}),
		)
	})

	t.Run("Account", func(t *testing.T) {
		// moto 5.2.1's Account service has alternate contacts only.
		sa, ma := account.NewFromConfig(sc), account.NewFromConfig(mc)
		optStatus := func(region string) func(context.Context, *account.Client) (*account.GetRegionOptStatusOutput, error) {
			return func(ctx context.Context, c *account.Client) (*account.GetRegionOptStatusOutput, error) {
				return c.GetRegionOptStatus(ctx, &account.GetRegionOptStatusInput{RegionName: aws.String(region)})
			}
		}
		run(t,
			same("account:ListRegions", sa, ma, func(ctx context.Context, c *account.Client) (*account.ListRegionsOutput, error) {
				return c.ListRegions(ctx, &account.ListRegionsInput{})
			}).lacking(),
			same("account:GetRegionOptStatus", sa, ma, optStatus("ap-east-1")).lacking(),
			same("account:GetRegionOptStatus (unknown region)", sa, ma, optStatus("xx-nowhere-1")).lacking(),
		)
	})

	t.Run("ServiceCatalog", func(t *testing.T) {
		must := fatalOn(t)
		msc := servicecatalog.NewFromConfig(mc)
		pf, err := msc.CreatePortfolio(ctx, &servicecatalog.CreatePortfolioInput{DisplayName: aws.String("Platform"), Description: aws.String("Shared infrastructure"),
			ProviderName: aws.String("Platform team"), Tags: []sctypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}, IdempotencyToken: aws.String("conformance-portfolio")})
		must(pf, err)
		motoPortfolio := aws.ToString(pf.PortfolioDetail.Id)
		must(msc.CreatePortfolioShare(ctx, &servicecatalog.CreatePortfolioShareInput{PortfolioId: aws.String(motoPortfolio), AccountId: aws.String(optin)}))
		must(msc.CreatePortfolioShare(ctx, &servicecatalog.CreatePortfolioShareInput{PortfolioId: aws.String(motoPortfolio),
			OrganizationNode: &sctypes.OrganizationNode{Type: sctypes.OrganizationNodeTypeOrganization, Value: aws.String("o-abcdefghij")}}))
		prod, err := msc.CreateProduct(ctx, &servicecatalog.CreateProductInput{Name: aws.String("vpc"), Owner: aws.String("Platform team"), Description: aws.String("A VPC"),
			Distributor: aws.String("IT"), SupportDescription: aws.String("Ask the platform team"), SupportEmail: aws.String("platform@example.com"),
			SupportUrl: aws.String("https://wiki.example.com/vpc"), ProductType: sctypes.ProductTypeCloudFormationTemplate, IdempotencyToken: aws.String("conformance-product"),
			Tags: []sctypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}},
			ProvisioningArtifactParameters: &sctypes.ProvisioningArtifactProperties{Name: aws.String("v1"), Description: aws.String("First version"),
				Type: sctypes.ProvisioningArtifactTypeCloudFormationTemplate, Info: map[string]string{"LoadTemplateFromURL": "https://example.com/vpc.yaml"}}})
		must(prod, err)
		motoProduct := aws.ToString(prod.ProductViewDetail.ProductViewSummary.ProductId)
		// moto's CreateProduct answers no provisioning artifact (and moto
		// cannot list them), so its side asks for the simulator's ID.
		ssc := servicecatalog.NewFromConfig(sc)
		type ids struct{ portfolio, product, artifact string }
		simIDs, motoIDs := ids{cfPortfolio, cfProduct, cfArtifact}, ids{motoPortfolio, motoProduct, cfArtifact}
		missing := ids{"port-doesnotexist1", "prod-doesnotexist1", "pa-doesnotexist1"}
		portfolio := func(ctx context.Context, c *servicecatalog.Client, id ids) (*servicecatalog.DescribePortfolioOutput, error) {
			return c.DescribePortfolio(ctx, &servicecatalog.DescribePortfolioInput{Id: aws.String(id.portfolio)})
		}
		shares := func(typ sctypes.DescribePortfolioShareType) func(context.Context, *servicecatalog.Client, ids) (*servicecatalog.DescribePortfolioSharesOutput, error) {
			return func(ctx context.Context, c *servicecatalog.Client, id ids) (*servicecatalog.DescribePortfolioSharesOutput, error) {
				return c.DescribePortfolioShares(ctx, &servicecatalog.DescribePortfolioSharesInput{PortfolioId: aws.String(id.portfolio), Type: typ})
			}
		}
		access := func(ctx context.Context, c *servicecatalog.Client, id ids) (*servicecatalog.ListPortfolioAccessOutput, error) {
			return c.ListPortfolioAccess(ctx, &servicecatalog.ListPortfolioAccessInput{PortfolioId: aws.String(id.portfolio)})
		}
		run(t,
			same("servicecatalog:ListPortfolios", ssc, msc, func(ctx context.Context, c *servicecatalog.Client) (*servicecatalog.ListPortfoliosOutput, error) {
				return c.ListPortfolios(ctx, &servicecatalog.ListPortfoliosInput{})
			}),
			paired("servicecatalog:DescribePortfolio", ssc, simIDs, msc, motoIDs, portfolio),
			paired("servicecatalog:DescribePortfolioShares (ACCOUNT)", ssc, simIDs, msc, motoIDs, shares(sctypes.DescribePortfolioShareTypeAccount)),
			paired("servicecatalog:DescribePortfolioShares (ORGANIZATION)", ssc, simIDs, msc, motoIDs, shares(sctypes.DescribePortfolioShareTypeOrganization)),
			paired("servicecatalog:ListPortfolioAccess", ssc, simIDs, msc, motoIDs, access),
			paired("servicecatalog:DescribePortfolio (missing)", ssc, missing, msc, missing, portfolio),
			paired("servicecatalog:DescribePortfolioShares (missing)", ssc, missing, msc, missing, shares(sctypes.DescribePortfolioShareTypeAccount)),
			paired("servicecatalog:ListPortfolioAccess (missing)", ssc, missing, msc, missing, access),
			same("servicecatalog:SearchProductsAsAdmin", ssc, msc, func(ctx context.Context, c *servicecatalog.Client) (*servicecatalog.SearchProductsAsAdminOutput, error) {
				return c.SearchProductsAsAdmin(ctx, &servicecatalog.SearchProductsAsAdminInput{})
			}).lacking(),
			paired("servicecatalog:DescribeProductAsAdmin", ssc, simIDs, msc, motoIDs, func(ctx context.Context, c *servicecatalog.Client, id ids) (*servicecatalog.DescribeProductAsAdminOutput, error) {
				return c.DescribeProductAsAdmin(ctx, &servicecatalog.DescribeProductAsAdminInput{Id: aws.String(id.product)})
			}).lacking(),
			paired("servicecatalog:ListProvisioningArtifacts", ssc, simIDs, msc, motoIDs, func(ctx context.Context, c *servicecatalog.Client, id ids) (*servicecatalog.ListProvisioningArtifactsOutput, error) {
				return c.ListProvisioningArtifacts(ctx, &servicecatalog.ListProvisioningArtifactsInput{ProductId: aws.String(id.product)})
			}).lacking(),
			paired("servicecatalog:DescribeProvisioningArtifact", ssc, simIDs, msc, motoIDs, func(ctx context.Context, c *servicecatalog.Client, id ids) (*servicecatalog.DescribeProvisioningArtifactOutput, error) {
				return c.DescribeProvisioningArtifact(ctx, &servicecatalog.DescribeProvisioningArtifactInput{ProductId: aws.String(id.product), ProvisioningArtifactId: aws.String(id.artifact)})
			}).lacking(),
			same("servicecatalog:ListTagOptions", ssc, msc, func(ctx context.Context, c *servicecatalog.Client) (*servicecatalog.ListTagOptionsOutput, error) {
				return c.ListTagOptions(ctx, &servicecatalog.ListTagOptionsInput{})
			}).lacking(),
			paired("servicecatalog:ListConstraintsForPortfolio", ssc, simIDs, msc, motoIDs, func(ctx context.Context, c *servicecatalog.Client, id ids) (*servicecatalog.ListConstraintsForPortfolioOutput, error) {
				return c.ListConstraintsForPortfolio(ctx, &servicecatalog.ListConstraintsForPortfolioInput{PortfolioId: aws.String(id.portfolio)})
			}).lacking(),
		)
	})
}
