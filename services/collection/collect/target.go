package collect

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

// Description is who dpsweep is in a target and which regions it has.
type Description struct {
	Account, CallerARN, Partition string
	Regions                       []*collectionv1.Region
}

// Describe assumes the target's role and reads the caller identity and the
// account's regions (account:ListRegions, or ec2:DescribeRegions when that
// is denied).
func Describe(ctx context.Context, s *Sessions, t Target) (*Description, error) {
	c := s.Clients(t, Home, &Stats{})
	id, err := c.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, err
	}
	d := &Description{Account: aws.ToString(id.Account), CallerARN: aws.ToString(id.Arn), Partition: partitionOf(Home)}
	p := account.NewListRegionsPaginator(c.Account(), &account.ListRegionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if isCode(err, "AccessDeniedException", "AccessDenied") {
				return describeEC2(ctx, c, d)
			}
			return nil, err
		}
		for _, r := range page.Regions {
			d.Regions = append(d.Regions, &collectionv1.Region{Name: aws.ToString(r.RegionName), Status: regionStatus(string(r.RegionOptStatus))})
		}
	}
	return d, nil
}

func describeEC2(ctx context.Context, c *Clients, d *Description) (*Description, error) {
	out, err := c.EC2().DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	for _, r := range out.Regions {
		st := collectionv1.RegionStatus_REGION_STATUS_DISABLED
		switch aws.ToString(r.OptInStatus) {
		case "opt-in-not-required":
			st = collectionv1.RegionStatus_REGION_STATUS_ENABLED_BY_DEFAULT
		case "opted-in":
			st = collectionv1.RegionStatus_REGION_STATUS_ENABLED
		}
		d.Regions = append(d.Regions, &collectionv1.Region{Name: aws.ToString(r.RegionName), Status: st})
	}
	return d, nil
}

func regionStatus(s string) collectionv1.RegionStatus {
	switch s {
	case "ENABLED":
		return collectionv1.RegionStatus_REGION_STATUS_ENABLED
	case "ENABLED_BY_DEFAULT":
		return collectionv1.RegionStatus_REGION_STATUS_ENABLED_BY_DEFAULT
	case "ENABLING":
		return collectionv1.RegionStatus_REGION_STATUS_ENABLING
	case "DISABLING":
		return collectionv1.RegionStatus_REGION_STATUS_DISABLING
	}
	return collectionv1.RegionStatus_REGION_STATUS_DISABLED
}

// Enabled reports whether a region status lets dpsweep read the region.
func Enabled(st collectionv1.RegionStatus) bool {
	return st == collectionv1.RegionStatus_REGION_STATUS_ENABLED || st == collectionv1.RegionStatus_REGION_STATUS_ENABLED_BY_DEFAULT
}
