package catalog

import (
	"slices"
	"strings"
)

func table(name, sse string) Fixture {
	f := fixture(name, "AWS::DynamoDB::Table", "name", "orders", "sse_type", sse, "kms_key_arn", "")
	f.Resource.ARN = "arn:aws:dynamodb:us-east-1:111122223333:table/orders"
	return f
}

func key(name string, kv ...any) Fixture {
	base := []any{"key_id", "0c6ee8b0-6c7c-4d4e-9c1e-2b4b0d2f1a11", "manager", "CUSTOMER", "state", "Enabled", "spec", "SYMMETRIC_DEFAULT", "usage", "ENCRYPT_DECRYPT"}
	f := fixture(name, "AWS::KMS::Key", append(base, kv...)...)
	f.Resource.ARN = "arn:aws:kms:us-east-1:111122223333:key/0c6ee8b0-6c7c-4d4e-9c1e-2b4b0d2f1a11"
	return f
}

func vpc(name string, endpoints ...any) Fixture {
	if endpoints == nil {
		endpoints = []any{}
	}
	f := fixture(name, "AWS::EC2::VPC", "vpc_id", "vpc-0a1b2c3d4e5f60718", "cidr", "10.0.0.0/16", "default", false, "endpoints", endpoints)
	f.Resource.ARN = "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0a1b2c3d4e5f60718"
	return f
}

func endpoint(service, typ string, privateDNS bool) map[string]any {
	return map[string]any{"id": "vpce-0a1b2c3d4e5f60718", "service_name": service, "type": typ, "private_dns": privateDNS, "state": "available"}
}

func bucketEncryption(r *Resource) (enc map[string]any, out Outcome, ok bool) {
	if unreadable, _ := r.Bool("encryption_unreadable"); unreadable {
		return nil, Missing("the bucket's default encryption could not be read"), false
	}
	if !r.Has("encryption") {
		return nil, Missing("the bucket's default encryption was not collected"), false
	}
	enc, _ = r.Struct("encryption")
	return enc, Outcome{}, true
}

func encryptedBucket(name string, enc any) Fixture {
	f := bucket(name, "")
	f.Resource.Attrs["encryption"] = enc
	return f
}

func init() {
	encNeeds := []string{"s3:ListAllMyBuckets", "s3:GetEncryptionConfiguration"}
	register(
		&Control{
			ID: "DPS-ENC-001", Title: "The bucket has default encryption", Category: "encryption", Severity: high,
			Description:   "The bucket has a default server-side encryption configuration.",
			Rationale:     "Default encryption makes every object encrypted at rest whatever the uploader asks for; it is one of the default security controls the seeds ask you to keep.",
			Remediation:   []string{"aws s3api put-bucket-encryption --bucket <bucket> --server-side-encryption-configuration '{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\"},\"BucketKeyEnabled\":true}]}'"},
			ResourceTypes: []string{"AWS::S3::Bucket"}, Seeds: append([]Seed{seedAtRestSC}, seedEncryption...), Needs: encNeeds,
			Check: func(r *Resource, _ *Env) Outcome {
				enc, out, ok := bucketEncryption(r)
				if !ok {
					return out
				}
				if enc == nil {
					return Failed("the bucket has no default encryption")
				}
				alg, _ := enc["algorithm"].(string)
				return Passed("the bucket encrypts by default with %s", alg)
			},
			Pass: []Fixture{encryptedBucket("sse-s3", map[string]any{"algorithm": "AES256", "kms_key_id": ""})},
			Fail: []Fixture{encryptedBucket("none", nil)},
		},
		&Control{
			ID: "DPS-ENC-002", Title: "The bucket's default encryption uses KMS", Category: "encryption", Severity: low,
			Description:   "The bucket's default encryption is SSE-KMS (aws:kms or aws:kms:dsse), not SSE-S3.",
			Rationale:     "With KMS, reading an object also needs permission on the key, and every use of the key is logged in CloudTrail.",
			Remediation:   []string{"Set the bucket's default encryption to aws:kms with a customer managed key, and enable S3 Bucket Keys to keep KMS costs down."},
			ResourceTypes: []string{"AWS::S3::Bucket"}, Seeds: seedEncryption, Needs: encNeeds,
			Check: func(r *Resource, _ *Env) Outcome {
				enc, out, ok := bucketEncryption(r)
				if !ok {
					return out
				}
				if enc == nil {
					return Failed("the bucket has no default encryption")
				}
				alg, _ := enc["algorithm"].(string)
				if !strings.HasPrefix(alg, "aws:kms") {
					return Failed("the bucket's default encryption is %s, not KMS", alg)
				}
				return Passed("the bucket encrypts by default with %s", alg)
			},
			Pass: []Fixture{encryptedBucket("kms", map[string]any{"algorithm": "aws:kms", "kms_key_id": "arn:aws:kms:us-east-1:111122223333:key/0c6ee8b0-6c7c-4d4e-9c1e-2b4b0d2f1a11"})},
			Fail: []Fixture{encryptedBucket("sse-s3", map[string]any{"algorithm": "AES256", "kms_key_id": ""}), encryptedBucket("none", nil)},
		},
		&Control{
			ID: "DPS-ENC-003", Title: "The DynamoDB table is encrypted with a KMS key", Category: "encryption", Severity: low,
			Description:   "The table is encrypted at rest with a KMS key (AWS managed aws/dynamodb or customer managed), not the AWS owned default key.",
			Rationale:     "With a KMS key, access to the table's data at rest is governed by a key policy you can read and every use is logged in CloudTrail.",
			Remediation:   []string{"aws dynamodb update-table --table-name <table> --sse-specification Enabled=true,SSEType=KMS[,KMSMasterKeyId=<key>]"},
			ResourceTypes: []string{"AWS::DynamoDB::Table"}, Seeds: append([]Seed{seedAtRestSC}, seedEncryption...), Needs: []string{"dynamodb:ListTables", "dynamodb:DescribeTable"},
			Check: func(r *Resource, _ *Env) Outcome {
				sse, ok := r.String("sse_type")
				if !ok {
					return Missing("the table's encryption was not read")
				}
				if sse != "KMS" {
					return Failed("the table is encrypted with the AWS owned key, not a KMS key")
				}
				if k, _ := r.String("kms_key_arn"); strings.Contains(k, ":key/") {
					return Passed("the table is encrypted with a customer managed KMS key")
				}
				return Passed("the table is encrypted with a KMS key")
			},
			Pass: []Fixture{table("aws managed", "KMS")},
			Fail: []Fixture{table("owned key", "DEFAULT")},
		},
		&Control{
			ID: "DPS-ENC-004", Title: "The customer managed KMS key rotates", Category: "encryption", Severity: medium,
			Description:   "Automatic rotation is enabled on each enabled, customer managed, symmetric KMS key.",
			Rationale:     "Rotation limits how much data one key version protects; AWS managed keys rotate on their own, customer managed ones only when asked.",
			Remediation:   []string{"aws kms enable-key-rotation --key-id <key>"},
			ResourceTypes: []string{"AWS::KMS::Key"}, Seeds: seedEncryption, Needs: []string{"kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus"},
			Check: func(r *Resource, _ *Env) Outcome {
				manager, _ := r.String("manager")
				spec, _ := r.String("spec")
				state, _ := r.String("state")
				if manager != "CUSTOMER" || spec != "SYMMETRIC_DEFAULT" || state != "Enabled" {
					return NotApplicable
				}
				rot, ok := r.Bool("rotation_enabled")
				if !ok {
					return Missing("the key's rotation status was not read")
				}
				if !rot {
					return Failed("automatic rotation is off")
				}
				return Passed("automatic rotation is on")
			},
			Pass: []Fixture{key("rotating", "rotation_enabled", true)},
			Fail: []Fixture{key("not rotating", "rotation_enabled", false)},
		},
		&Control{
			ID: "DPS-MAC-001", Title: "Macie is enabled in every region that holds buckets", Category: "data-discovery", Severity: medium,
			Description:   "Amazon Macie is enabled in each region where the account has S3 buckets.",
			Rationale:     "Macie discovers personal data stored in S3, so that data put where it should not be is found and protected.",
			Remediation:   []string{"Enable Macie in the region (aws macie2 enable-macie), ideally for the whole organization from a delegated administrator account."},
			ResourceTypes: []string{"AWS::Macie::Session"}, Seeds: seedMacie, Needs: []string{"s3:ListAllMyBuckets", "macie2:GetMacieSession"},
			Check: func(r *Resource, _ *Env) Outcome {
				status, ok := r.String("status")
				if !ok {
					return Missing("Macie's status was not read")
				}
				if status != "ENABLED" {
					return Failed("Macie is %s in a region with %d buckets", strings.ToLower(status), numberOr(r, "bucket_count"))
				}
				return Passed("Macie is enabled")
			},
			Pass: []Fixture{fixture("enabled", "AWS::Macie::Session", "status", "ENABLED", "bucket_count", 3.0)},
			Fail: []Fixture{fixture("disabled", "AWS::Macie::Session", "status", "DISABLED", "bucket_count", 3.0),
				fixture("paused", "AWS::Macie::Session", "status", "PAUSED", "bucket_count", 1.0)},
		},
		&Control{
			ID: "DPS-NET-001", Title: "The VPC has an interface endpoint for Service Catalog with private DNS", Category: "network", Severity: low,
			Description:   "The VPC has an interface VPC endpoint (PrivateLink) for com.amazonaws.<region>.servicecatalog with private DNS enabled.",
			Rationale:     "With the endpoint, calls to Service Catalog from the VPC stay on the AWS network instead of crossing an internet or NAT gateway; private DNS makes SDKs use it without changes.",
			Remediation:   []string{"aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --vpc-id <vpc> --service-name com.amazonaws.<region>.servicecatalog --private-dns-enabled --subnet-ids ..."},
			ResourceTypes: []string{"AWS::EC2::VPC"}, Seeds: seedPrivateLink, Needs: []string{"ec2:DescribeVpcs", "ec2:DescribeVpcEndpoints"},
			Check: func(r *Resource, _ *Env) Outcome {
				eps, ok := r.List("endpoints")
				if !ok {
					return Missing("the VPC's endpoints were not read")
				}
				withoutDNS := false
				for _, e := range eps {
					m, _ := e.(map[string]any)
					svc, _ := m["service_name"].(string)
					typ, _ := m["type"].(string)
					state, _ := m["state"].(string)
					if !strings.HasSuffix(svc, ".servicecatalog") || !strings.EqualFold(typ, "Interface") || slices.Contains([]string{"deleted", "deleting", "failed", "rejected", "expired"}, strings.ToLower(state)) {
						continue
					}
					if dns, _ := m["private_dns"].(bool); dns {
						return Passed("the VPC has a Service Catalog interface endpoint with private DNS")
					}
					withoutDNS = true
				}
				if withoutDNS {
					return Failed("the VPC's Service Catalog endpoint has private DNS off")
				}
				return Failed("the VPC has no interface endpoint for Service Catalog")
			},
			Pass: []Fixture{vpc("endpoint", endpoint("com.amazonaws.us-east-1.s3", "Gateway", false), endpoint("com.amazonaws.us-east-1.servicecatalog", "Interface", true))},
			Fail: []Fixture{vpc("none"), vpc("no private dns", endpoint("com.amazonaws.us-east-1.servicecatalog", "Interface", false)),
				vpc("s3 only", endpoint("com.amazonaws.us-east-1.s3", "Gateway", false))},
		},
	)
}

func numberOr(r *Resource, key string) int {
	n, _ := r.Number(key)
	return int(n)
}
