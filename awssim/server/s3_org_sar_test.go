package server

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	sar "github.com/aws/aws-sdk-go-v2/service/serverlessapplicationrepository"
)

func s3client(url, account, region string) *s3.Client {
	return s3.NewFromConfig(cfg(url, account, region), func(o *s3.Options) { o.UsePathStyle = true })
}

func TestS3(t *testing.T) {
	t.Parallel()
	_, url := sim(t, testWorld(t), Options{})
	c := s3client(url, member, "us-east-1")
	lb, err := c.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.Buckets) != 2 || aws.ToString(lb.Buckets[0].Name) != "prod-logs" {
		t.Fatalf("ListBuckets = %v", lb.Buckets)
	}
	loc, err := c.GetBucketLocation(ctx(t), &s3.GetBucketLocationInput{Bucket: aws.String("prod-logs")})
	if err != nil || loc.LocationConstraint != "eu-west-1" {
		t.Fatalf("GetBucketLocation = %v, %v", loc, err)
	}
	if loc, err := c.GetBucketLocation(ctx(t), &s3.GetBucketLocationInput{Bucket: aws.String("prod-old")}); err != nil || loc.LocationConstraint != "" {
		t.Fatalf("us-east-1 bucket location = %v, %v; want empty", loc, err)
	}
	enc, err := c.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("prod-logs")})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms {
		t.Fatalf("GetBucketEncryption = %v, %v", enc, err)
	}
	if _, err := c.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("prod-old")}); apiCode(err) != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Fatalf("unencrypted bucket: %v", err)
	}
	pol, err := c.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String("prod-logs")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), "aws:SecureTransport") {
		t.Fatalf("GetBucketPolicy = %v, %v", pol, err)
	}
	if _, err := c.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String("prod-old")}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Fatalf("bucket without policy: %v", err)
	}
	pab, err := c.GetPublicAccessBlock(ctx(t), &s3.GetPublicAccessBlockInput{Bucket: aws.String("prod-logs")})
	if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) {
		t.Fatalf("GetPublicAccessBlock = %v, %v", pab, err)
	}
	if _, err := c.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("nope")}); apiCode(err) != "NoSuchBucket" {
		t.Fatalf("missing bucket: %v", err)
	}
	// Another account's bucket is forbidden, not found.
	if _, err := s3client(url, mgmt, "us-east-1").GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String("prod-logs")}); apiCode(err) != "AccessDenied" {
		t.Fatalf("foreign bucket: %v", err)
	}
	// Reports are written with SSE-KMS and read back.
	body := []byte(`{"report":"ok"}`)
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("prod-logs"), Key: aws.String("reports/sweep-1.json"), Body: bytes.NewReader(body),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/reports")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("prod-logs"), Key: aws.String("reports/sweep-1.json")})
	if err != nil {
		t.Fatal(err)
	}
	head, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("prod-logs"), Key: aws.String("reports/sweep-1.json")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Fatalf("HeadObject = %v, %v", head, err)
	}
	list, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("prod-logs"), Prefix: aws.String("reports/")})
	if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "reports/sweep-1.json" {
		t.Fatalf("ListObjectsV2 = %v, %v", list, err)
	}
	if _, err := c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("prod-logs")}); err != nil {
		t.Fatalf("HeadBucket = %v", err)
	}
	b, _ := io.ReadAll(got.Body)
	if !bytes.Equal(b, body) || got.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(got.SSEKMSKeyId) != "alias/reports" {
		t.Fatalf("GetObject = %q sse=%s key=%s", b, got.ServerSideEncryption, aws.ToString(got.SSEKMSKeyId))
	}
}

func TestOrganizations(t *testing.T) {
	t.Parallel()
	_, url := sim(t, testWorld(t), Options{Faults: Faults{PageSize: 2}})
	c := organizations.NewFromConfig(cfg(url, mgmt, "us-east-1"))
	var ids []string
	p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Accounts {
			ids = append(ids, aws.ToString(a.Id))
		}
	}
	if strings.Join(ids, ",") != strings.Join([]string{mgmt, member, optin}, ",") {
		t.Fatalf("accounts = %v", ids)
	}
	roots, err := c.ListRoots(ctx(t), &organizations.ListRootsInput{})
	if err != nil || aws.ToString(roots.Roots[0].Id) != "r-ab12" {
		t.Fatalf("roots = %v, %v", roots, err)
	}
	ous, err := c.ListOrganizationalUnitsForParent(ctx(t), &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String("r-ab12")})
	if err != nil || len(ous.OrganizationalUnits) != 1 {
		t.Fatalf("OUs = %v, %v", ous, err)
	}
	inOU, err := c.ListAccountsForParent(ctx(t), &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-ab12-11111111")})
	if err != nil || len(inOU.Accounts) != 1 || aws.ToString(inOU.Accounts[0].Id) != member {
		t.Fatalf("accounts in OU = %v, %v", inOU, err)
	}
	parents, err := c.ListParents(ctx(t), &organizations.ListParentsInput{ChildId: aws.String(member)})
	if err != nil || len(parents.Parents) != 1 || aws.ToString(parents.Parents[0].Id) != "ou-ab12-11111111" || parents.Parents[0].Type != "ORGANIZATIONAL_UNIT" {
		t.Fatalf("parents = %v, %v", parents, err)
	}
	tags, err := c.ListTagsForResource(ctx(t), &organizations.ListTagsForResourceInput{ResourceId: aws.String(member)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "prod" {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	if _, err := organizations.NewFromConfig(cfg(url, member, "us-east-1")).ListAccounts(ctx(t), &organizations.ListAccountsInput{}); apiCode(err) != "AWSOrganizationsNotInUseException" {
		t.Fatalf("member calling Organizations: %v", err)
	}
}

func TestServerlessApplicationRepository(t *testing.T) {
	t.Parallel()
	_, url := sim(t, testWorld(t), Options{})
	c := sar.NewFromConfig(cfg(url, optin, "ap-east-1"))
	apps, err := c.ListApplications(ctx(t), &sar.ListApplicationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps.Applications) != 2 {
		t.Fatalf("applications = %v", apps.Applications)
	}
	id := apps.Applications[0].ApplicationId
	if !strings.HasPrefix(aws.ToString(id), "arn:aws:serverlessrepo:ap-east-1:"+optin+":applications/") {
		t.Fatalf("application ID = %s", aws.ToString(id))
	}
	app, err := c.GetApplication(ctx(t), &sar.GetApplicationInput{ApplicationId: id})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(app.Author) != "Jane Doe 111122223333" || aws.ToString(app.ReadmeUrl) != "https://example.com/README.md" || aws.ToString(app.Version.SemanticVersion) != "1.1.0" {
		t.Fatalf("GetApplication = %+v", app)
	}
	vers, err := c.ListApplicationVersions(ctx(t), &sar.ListApplicationVersionsInput{ApplicationId: id})
	if err != nil || len(vers.Versions) != 2 {
		t.Fatalf("versions = %v, %v", vers, err)
	}
	pol, err := c.GetApplicationPolicy(ctx(t), &sar.GetApplicationPolicyInput{ApplicationId: id})
	if err != nil || len(pol.Statements) != 1 || pol.Statements[0].Principals[0] != "*" {
		t.Fatalf("policy = %v, %v", pol, err)
	}
	if _, err := c.GetApplication(ctx(t), &sar.GetApplicationInput{ApplicationId: aws.String("arn:aws:serverlessrepo:ap-east-1:" + optin + ":applications/missing")}); apiCode(err) != "NotFoundException" {
		t.Fatalf("missing application: %v", err)
	}
}
