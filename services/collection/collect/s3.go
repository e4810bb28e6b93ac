package collect

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/macie2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func init() {
	register(&Collector{
		Name: "s3.buckets", Service: "s3", Scope: global, Types: []string{"AWS::S3::Bucket"},
		Actions: []string{"s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetEncryptionConfiguration", "s3:GetBucketPolicy",
			"s3:GetBucketPublicAccessBlock"},
		Description: "S3 buckets: region, default encryption, bucket policy, public access block",
		Run:         collectBuckets,
	})
	register(&Collector{
		Name: "macie2.sessions", Service: "macie2", Scope: global, Types: []string{"AWS::Macie::Session"},
		Actions:     []string{"s3:ListAllMyBuckets", "s3:GetBucketLocation", "macie2:GetMacieSession"},
		Description: "Macie's status in every region that holds S3 buckets",
		Run:         collectMacie,
	})
}

type bucketRef struct{ name, region string }

// useListedRegion trusts the BucketRegion that ListBuckets returns; the
// GetBucketLocation fallback serves responses without it (tests turn this off
// to exercise the fallback).
var useListedRegion = true

// buckets lists the account's buckets with their regions, once per inventory.
// ListBuckets carries each bucket's region; GetBucketLocation is called only
// where it does not.
func buckets(ctx context.Context, e *Env) ([]bucketRef, error) {
	v, _ := e.shared.LoadOrStore("s3.buckets", &onceValue{})
	ov := v.(*onceValue)
	ov.once.Do(func() {
		c := e.Clients.S3("")
		var out []bucketRef
		p := s3.NewListBucketsPaginator(c, &s3.ListBucketsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				ov.err = err
				return
			}
			for _, b := range page.Buckets {
				r := aws.ToString(b.BucketRegion)
				if !useListedRegion {
					r = ""
				}
				if r == "" {
					loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b.Name})
					if err != nil {
						ov.err = err
						return
					}
					r = string(loc.LocationConstraint)
					if r == "" {
						r = "us-east-1"
					}
				}
				out = append(out, bucketRef{aws.ToString(b.Name), r})
			}
		}
		ov.val = out
	})
	if ov.err != nil {
		return nil, ov.err
	}
	return ov.val.([]bucketRef), nil
}

func collectBuckets(ctx context.Context, e *Env) error {
	bs, err := buckets(ctx, e)
	if err != nil {
		return e.fail(ctx, "s3:ListAllMyBuckets", "", err)
	}
	for _, b := range bs {
		arn := "arn:" + e.Partition + ":s3:::" + b.name
		c := e.Clients.S3(b.region)
		attrs := map[string]any{"name": b.name, "region": b.region}
		enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b.name)})
		switch {
		case isCode(err, "ServerSideEncryptionConfigurationNotFoundError"):
			attrs["encryption"] = nil
		case err != nil:
			if ferr := e.fail(ctx, "s3:GetEncryptionConfiguration", arn, err); ferr != nil {
				return ferr
			}
			attrs["encryption_unreadable"] = true
		default:
			if rules := enc.ServerSideEncryptionConfiguration.Rules; len(rules) > 0 && rules[0].ApplyServerSideEncryptionByDefault != nil {
				d := rules[0].ApplyServerSideEncryptionByDefault
				attrs["encryption"] = map[string]any{"algorithm": string(d.SSEAlgorithm), "kms_key_id": aws.ToString(d.KMSMasterKeyID)}
			}
		}
		pol, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b.name)})
		switch {
		case isCode(err, "NoSuchBucketPolicy"):
			attrs["policy"] = ""
		case err != nil:
			if ferr := e.fail(ctx, "s3:GetBucketPolicy", arn, err); ferr != nil {
				return ferr
			}
			attrs["policy_unreadable"] = true
		default:
			attrs["policy"] = aws.ToString(pol.Policy)
		}
		pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b.name)})
		switch {
		case isCode(err, "NoSuchPublicAccessBlockConfiguration"):
			attrs["public_access_block"] = nil
		case err != nil:
			if ferr := e.fail(ctx, "s3:GetBucketPublicAccessBlock", arn, err); ferr != nil {
				return ferr
			}
		default:
			p := pab.PublicAccessBlockConfiguration
			attrs["public_access_block"] = map[string]any{"block_public_acls": aws.ToBool(p.BlockPublicAcls), "ignore_public_acls": aws.ToBool(p.IgnorePublicAcls),
				"block_public_policy": aws.ToBool(p.BlockPublicPolicy), "restrict_public_buckets": aws.ToBool(p.RestrictPublicBuckets)}
		}
		if err := e.emit("AWS::S3::Bucket", arn, b.region, b.name, attrs, nil); err != nil {
			return err
		}
	}
	return nil
}

func collectMacie(ctx context.Context, e *Env) error {
	bs, err := buckets(ctx, e)
	if err != nil {
		return e.fail(ctx, "s3:ListAllMyBuckets", "", err)
	}
	count := map[string]int{}
	for _, b := range bs {
		count[b.region]++
	}
	regions := make([]string, 0, len(count))
	for r := range count {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, r := range regions {
		arn := e.arn("macie2", r, "session")
		status := "ENABLED"
		out, err := e.Clients.Macie2(r).GetMacieSession(ctx, &macie2.GetMacieSessionInput{})
		switch {
		case err == nil:
			status = string(out.Status)
		case isCode(err, "AccessDeniedException") && strings.Contains(err.Error(), "Macie is not enabled"):
			status = "DISABLED"
		default:
			// The region itself may be disabled, or the call denied: report it.
			if ferr := e.fail(ctx, "macie2:GetMacieSession", arn, err); ferr != nil {
				return ferr
			}
			continue
		}
		if err := e.emit("AWS::Macie::Session", arn, r, "macie", map[string]any{"status": status, "bucket_count": count[r]}, nil); err != nil {
			return err
		}
	}
	return nil
}
