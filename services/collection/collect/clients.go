package collect

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/macie2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sar "github.com/aws/aws-sdk-go-v2/service/serverlessapplicationrepository"
	"github.com/aws/aws-sdk-go-v2/service/servicecatalog"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"golang.org/x/time/rate"
)

// Clients builds service clients for one target and region. With FIPS on,
// endpoints are resolved with the SDK's own rules for FIPS endpoints; a
// service and region without one fails with errFIPSUnavailable, which the
// collector reports as ENDPOINT_UNAVAILABLE. With an endpoint override
// (the simulator) requests go there either way.
type Clients struct {
	cfg      aws.Config
	fips     bool
	custom   *url.URL
	sessions *Sessions
	target   Target
}

var errFIPSUnavailable = fmt.Errorf("no FIPS endpoint")

// fipsRegions are the regions with FIPS 140 endpoints: the SDKs build a
// FIPS hostname for any region without checking, but AWS offers them only
// in the US East and West, Canada and GovCloud (US) regions.
var fipsRegions = map[string]bool{"us-east-1": true, "us-east-2": true, "us-west-1": true, "us-west-2": true,
	"ca-central-1": true, "ca-west-1": true, "us-gov-east-1": true, "us-gov-west-1": true}

// fipsEndpoint resolves a FIPS endpoint with the service's default rules
// (params with the override cleared) and points it at the override if any.
func fipsEndpoint[P any](ctx context.Context, region string, p P, resolve func(context.Context, P) (smithyendpoints.Endpoint, error), custom *url.URL) (smithyendpoints.Endpoint, error) {
	if !fipsRegions[region] {
		return smithyendpoints.Endpoint{}, fmt.Errorf("%w in %s", errFIPSUnavailable, region)
	}
	e, err := resolve(ctx, p)
	if err != nil {
		return e, fmt.Errorf("%w: %v", errFIPSUnavailable, err)
	}
	if custom != nil {
		path := e.URI.Path
		e.URI = *custom
		e.URI.Path = strings.TrimRight(custom.Path, "/") + path
	}
	return e, nil
}

type (
	iamFIPS  struct{ custom *url.URL }
	stsFIPS  struct{ custom *url.URL }
	ec2FIPS  struct{ custom *url.URL }
	s3FIPS   struct{ custom *url.URL }
	ddbFIPS  struct{ custom *url.URL }
	ctFIPS   struct{ custom *url.URL }
	orgFIPS  struct{ custom *url.URL }
	scFIPS   struct{ custom *url.URL }
	kmsFIPS  struct{ custom *url.URL }
	macFIPS  struct{ custom *url.URL }
	sarFIPS  struct{ custom *url.URL }
	acctFIPS struct{ custom *url.URL }
)

func (r iamFIPS) ResolveEndpoint(ctx context.Context, p iam.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, iam.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r stsFIPS) ResolveEndpoint(ctx context.Context, p sts.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, sts.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r ec2FIPS) ResolveEndpoint(ctx context.Context, p ec2.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, ec2.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r s3FIPS) ResolveEndpoint(ctx context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, s3.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r ddbFIPS) ResolveEndpoint(ctx context.Context, p dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r ctFIPS) ResolveEndpoint(ctx context.Context, p cloudtrail.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, cloudtrail.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r orgFIPS) ResolveEndpoint(ctx context.Context, p organizations.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, organizations.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r scFIPS) ResolveEndpoint(ctx context.Context, p servicecatalog.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, servicecatalog.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r kmsFIPS) ResolveEndpoint(ctx context.Context, p kms.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, kms.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r macFIPS) ResolveEndpoint(ctx context.Context, p macie2.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, macie2.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r sarFIPS) ResolveEndpoint(ctx context.Context, p sar.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, sar.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}
func (r acctFIPS) ResolveEndpoint(ctx context.Context, p account.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = nil
	return fipsEndpoint(ctx, aws.ToString(p.Region), p, account.NewDefaultEndpointResolverV2().ResolveEndpoint, r.custom)
}

const fipsOn = aws.FIPSEndpointStateEnabled

// IAM is global: its client signs for us-east-1 in the aws partition.
func (c *Clients) IAM() *iam.Client {
	return iam.NewFromConfig(c.cfg, func(o *iam.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, iamFIPS{c.custom}
		}
	})
}

func (c *Clients) STS() *sts.Client {
	return sts.NewFromConfig(c.cfg, func(o *sts.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, stsFIPS{c.custom}
		}
	})
}

func (c *Clients) EC2() *ec2.Client {
	return ec2.NewFromConfig(c.cfg, func(o *ec2.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, ec2FIPS{c.custom}
		}
	})
}

// S3 in a region (bucket operations must go to the bucket's region).
func (c *Clients) S3(region string) *s3.Client {
	return s3.NewFromConfig(c.cfg, func(o *s3.Options) {
		if region != "" {
			o.Region = region
		}
		o.UsePathStyle = c.custom != nil
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, s3FIPS{c.custom}
		}
	})
}

func (c *Clients) DynamoDB() *dynamodb.Client {
	return dynamodb.NewFromConfig(c.cfg, func(o *dynamodb.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, ddbFIPS{c.custom}
		}
	})
}

func (c *Clients) CloudTrail() *cloudtrail.Client {
	return cloudtrail.NewFromConfig(c.cfg, func(o *cloudtrail.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, ctFIPS{c.custom}
		}
	})
}

func (c *Clients) Organizations() *organizations.Client {
	return organizations.NewFromConfig(c.cfg, func(o *organizations.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, orgFIPS{c.custom}
		}
	})
}

func (c *Clients) ServiceCatalog() *servicecatalog.Client {
	return servicecatalog.NewFromConfig(c.cfg, func(o *servicecatalog.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, scFIPS{c.custom}
		}
	})
}

func (c *Clients) KMS() *kms.Client {
	return kms.NewFromConfig(c.cfg, func(o *kms.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, kmsFIPS{c.custom}
		}
	})
}

// Macie2 in a region.
func (c *Clients) Macie2(region string) *macie2.Client {
	return macie2.NewFromConfig(c.cfg, func(o *macie2.Options) {
		if region != "" {
			o.Region = region
		}
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, macFIPS{c.custom}
		}
	})
}

func (c *Clients) SAR() *sar.Client {
	return sar.NewFromConfig(c.cfg, func(o *sar.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, sarFIPS{c.custom}
		}
	})
}

func (c *Clients) Account() *account.Client {
	return account.NewFromConfig(c.cfg, func(o *account.Options) {
		if c.fips {
			o.EndpointOptions.UseFIPSEndpoint, o.EndpointResolverV2 = fipsOn, acctFIPS{c.custom}
		}
	})
}

// EventsLimiter paces LookupEvents for this account in region.
func (c *Clients) EventsLimiter(region string) *rate.Limiter {
	return c.sessions.eventsLimiter(c.target.Account, region)
}
