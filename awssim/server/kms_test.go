package server

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// kmsWorld: the member has customer keys with and without rotation, a
// disabled key, an asymmetric key and an AWS managed key in eu-west-1.
func kmsWorld(t testing.TB) *world.World {
	t.Helper()
	w := &world.World{
		OrganizationID: "o-abcdefghij", ManagementAccount: mgmt, RootID: "r-ab12",
		Regions: []world.RegionInfo{{Name: "us-east-1"}, {Name: "eu-west-1"}, {Name: "ap-east-1", OptIn: true}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0},
			{ID: member, Name: "prod", Email: "aws-prod@example.com", Created: t0,
				Regional: map[string]*world.Regional{"eu-west-1": {Keys: []*world.Key{
					{ID: "1111aaaa-0000-0000-0000-000000000001", Rotation: true},
					{ID: "1111aaaa-0000-0000-0000-000000000002"},
					{ID: "1111aaaa-0000-0000-0000-000000000003", State: "Disabled"},
					{ID: "1111aaaa-0000-0000-0000-000000000004", Spec: "RSA_2048"},
					{ID: "1111aaaa-0000-0000-0000-000000000005", Manager: "AWS"},
				}}}},
			{ID: optin, Name: "asia", Email: "aws-asia@example.com", Created: t0},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestKMS(t *testing.T) {
	t.Parallel()
	_, url := sim(t, kmsWorld(t), Options{Faults: Faults{PageSize: 2}})
	c := kms.NewFromConfig(cfg(url, member, "eu-west-1"))
	var keys []kmstypes.KeyListEntry
	pages := 0
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if out.Truncated != p.HasMorePages() {
			t.Fatalf("Truncated = %v on page %d", out.Truncated, pages)
		}
		keys = append(keys, out.Keys...)
	}
	if pages != 3 || len(keys) != 5 {
		t.Fatalf("pages = %d, keys = %d; want 3 and 5", pages, len(keys))
	}
	const arn1 = "arn:aws:kms:eu-west-1:222222222222:key/1111aaaa-0000-0000-0000-000000000001"
	if aws.ToString(keys[0].KeyId) != "1111aaaa-0000-0000-0000-000000000001" || aws.ToString(keys[0].KeyArn) != arn1 {
		t.Fatalf("first key = %+v", keys[0])
	}

	d, err := c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String(arn1)})
	if err != nil {
		t.Fatal(err)
	}
	md := d.KeyMetadata
	if aws.ToString(md.KeyId) != "1111aaaa-0000-0000-0000-000000000001" || aws.ToString(md.Arn) != arn1 || md.KeyManager != kmstypes.KeyManagerTypeCustomer ||
		md.KeyState != kmstypes.KeyStateEnabled || md.KeySpec != kmstypes.KeySpecSymmetricDefault || md.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt ||
		!md.Enabled || md.Origin != kmstypes.OriginTypeAwsKms || !aws.ToTime(md.CreationDate).Equal(t0) || aws.ToString(md.AWSAccountId) != member {
		t.Fatalf("key 1 = %+v", md)
	}
	d, err = c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String("1111aaaa-0000-0000-0000-000000000003")})
	if err != nil || d.KeyMetadata.Enabled || d.KeyMetadata.KeyState != kmstypes.KeyStateDisabled {
		t.Fatalf("disabled key = %+v, %v", d, err)
	}
	d, err = c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String("1111aaaa-0000-0000-0000-000000000005")})
	if err != nil || d.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeAws {
		t.Fatalf("AWS managed key = %+v, %v", d, err)
	}
	d, err = c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String("1111aaaa-0000-0000-0000-000000000004")})
	if err != nil || d.KeyMetadata.KeySpec != kmstypes.KeySpecRsa2048 {
		t.Fatalf("RSA key = %+v, %v", d, err)
	}

	rot := func(id string) bool {
		t.Helper()
		out, err := c.GetKeyRotationStatus(ctx(t), &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetKeyRotationStatus(%s): %v", id, err)
		}
		return out.KeyRotationEnabled
	}
	if !rot("1111aaaa-0000-0000-0000-000000000001") || rot("1111aaaa-0000-0000-0000-000000000002") || !rot("1111aaaa-0000-0000-0000-000000000005") {
		t.Fatal("rotation: want key 1 on, key 2 off, AWS managed key on")
	}
	if _, err := c.GetKeyRotationStatus(ctx(t), &kms.GetKeyRotationStatusInput{KeyId: aws.String("1111aaaa-0000-0000-0000-000000000004")}); apiCode(err) != "UnsupportedOperationException" {
		t.Fatalf("rotation of an asymmetric key: %v", err)
	}

	// Unknown keys, aliases and keys of another region.
	for _, id := range []string{"1111aaaa-0000-0000-0000-00000000dead", "alias/missing", "arn:aws:kms:us-east-1:222222222222:key/1111aaaa-0000-0000-0000-000000000001"} {
		if _, err := c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String(id)}); apiCode(err) != "NotFoundException" {
			t.Fatalf("DescribeKey(%s): %v", id, err)
		}
	}
	if _, err := c.GetKeyRotationStatus(ctx(t), &kms.GetKeyRotationStatusInput{KeyId: aws.String("nope")}); apiCode(err) != "NotFoundException" {
		t.Fatalf("GetKeyRotationStatus(nope): %v", err)
	}
	if out, err := kms.NewFromConfig(cfg(url, member, "us-east-1")).ListKeys(ctx(t), &kms.ListKeysInput{}); err != nil || len(out.Keys) != 0 || out.Truncated {
		t.Fatalf("us-east-1 keys = %+v, %v", out, err)
	}
	if _, err := kms.NewFromConfig(cfg(url, member, "ap-east-1")).ListKeys(ctx(t), &kms.ListKeysInput{}); apiCode(err) != "OptInRequired" {
		t.Fatalf("disabled region: %v", err)
	}
}
