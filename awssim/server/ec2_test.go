package server

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// ec2World: the member has three VPCs in eu-west-1 with endpoints; the
// opt-in account has enabled ap-east-1, the member has not.
func ec2World(t testing.TB) *world.World {
	t.Helper()
	w := &world.World{
		OrganizationID: "o-abcdefghij", ManagementAccount: mgmt, RootID: "r-ab12",
		Regions: []world.RegionInfo{{Name: "us-east-1"}, {Name: "eu-west-1"}, {Name: "ap-east-1", OptIn: true}, {Name: "me-south-1", OptIn: true}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0},
			{ID: member, Name: "prod", Email: "aws-prod@example.com", Created: t0,
				Regional: map[string]*world.Regional{"eu-west-1": {VPCs: []*world.VPC{
					{ID: "vpc-0default0000000", Default: true},
					{ID: "vpc-0app000000000001", CIDR: "10.1.0.0/16", Endpoints: []*world.Endpoint{
						{ID: "vpce-0sc00000000000001", Service: "servicecatalog", PrivateDNS: true},
						{ID: "vpce-0s300000000000001", Service: "s3", Type: "Gateway"},
						{ID: "vpce-0kms0000000000001", Service: "kms"},
					}},
					{ID: "vpc-0data00000000001", CIDR: "10.2.0.0/16", Endpoints: []*world.Endpoint{
						{ID: "vpce-0sc00000000000002", Service: "servicecatalog"},
					}},
				}}}},
			{ID: optin, Name: "asia", Email: "aws-asia@example.com", EnabledOptInRegions: []string{"ap-east-1"}, Created: t0,
				Regional: map[string]*world.Regional{"ap-east-1": {VPCs: []*world.VPC{{ID: "vpc-0asia0000000001", CIDR: "10.9.0.0/16"}}}}},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEC2DescribeRegions(t *testing.T) {
	t.Parallel()
	_, url := sim(t, ec2World(t), Options{})
	regions := func(account, region string, all bool) map[string]string {
		t.Helper()
		out, err := ec2.NewFromConfig(cfg(url, account, region)).DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{AllRegions: aws.Bool(all)})
		if err != nil {
			t.Fatalf("DescribeRegions(%s, %s, all=%v): %v", account, region, all, err)
		}
		m := map[string]string{}
		for _, r := range out.Regions {
			m[aws.ToString(r.RegionName)] = aws.ToString(r.OptInStatus)
			if want := "ec2." + aws.ToString(r.RegionName) + ".amazonaws.com"; aws.ToString(r.Endpoint) != want {
				t.Errorf("endpoint = %s, want %s", aws.ToString(r.Endpoint), want)
			}
		}
		return m
	}
	got := regions(member, "us-east-1", true)
	want := map[string]string{"us-east-1": "opt-in-not-required", "eu-west-1": "opt-in-not-required", "ap-east-1": "not-opted-in", "me-south-1": "not-opted-in"}
	if !mapsEqual(got, want) {
		t.Fatalf("member, all regions = %v, want %v", got, want)
	}
	got = regions(member, "eu-west-1", false)
	if want := map[string]string{"us-east-1": "opt-in-not-required", "eu-west-1": "opt-in-not-required"}; !mapsEqual(got, want) {
		t.Fatalf("member, enabled regions = %v, want %v", got, want)
	}
	// From inside the enabled opt-in region.
	got = regions(optin, "ap-east-1", true)
	if got["ap-east-1"] != "opted-in" || got["me-south-1"] != "not-opted-in" || len(got) != 4 {
		t.Fatalf("opt-in account, all regions = %v", got)
	}
	got = regions(optin, "ap-east-1", false)
	if len(got) != 3 || got["ap-east-1"] != "opted-in" {
		t.Fatalf("opt-in account, enabled regions = %v", got)
	}
	// Named regions and filters.
	c := ec2.NewFromConfig(cfg(url, member, "us-east-1"))
	out, err := c.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{RegionNames: []string{"eu-west-1"}})
	if err != nil || len(out.Regions) != 1 || aws.ToString(out.Regions[0].RegionName) != "eu-west-1" {
		t.Fatalf("DescribeRegions(eu-west-1) = %v, %v", out, err)
	}
	out, err = c.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true), Filters: []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"not-opted-in"}}}})
	if err != nil || len(out.Regions) != 2 {
		t.Fatalf("DescribeRegions(opt-in-status=not-opted-in) = %v, %v", out, err)
	}
	if _, err := c.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{RegionNames: []string{"xx-nowhere-1"}}); apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("unknown region: %v", err)
	}
	// A disabled opt-in region refuses EC2 calls.
	if _, err := ec2.NewFromConfig(cfg(url, member, "ap-east-1")).DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{}); apiCode(err) != "OptInRequired" {
		t.Fatalf("DescribeRegions in a disabled region: %v", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestEC2DescribeVpcs(t *testing.T) {
	t.Parallel()
	_, url := sim(t, ec2World(t), Options{Faults: Faults{PageSize: 1}})
	c := ec2.NewFromConfig(cfg(url, member, "eu-west-1"))
	var vpcs []ec2types.Vpc
	pages := 0
	p := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		vpcs = append(vpcs, out.Vpcs...)
	}
	if pages != 3 || len(vpcs) != 3 {
		t.Fatalf("pages = %d, VPCs = %d; want 3 and 3", pages, len(vpcs))
	}
	d, app := vpcs[0], vpcs[1]
	if aws.ToString(d.VpcId) != "vpc-0default0000000" || !aws.ToBool(d.IsDefault) || aws.ToString(d.CidrBlock) != "172.31.0.0/16" {
		t.Fatalf("default VPC = %+v", d)
	}
	if aws.ToString(app.VpcId) != "vpc-0app000000000001" || aws.ToBool(app.IsDefault) || aws.ToString(app.CidrBlock) != "10.1.0.0/16" ||
		app.State != ec2types.VpcStateAvailable || aws.ToString(app.OwnerId) != member {
		t.Fatalf("app VPC = %+v", app)
	}
	if len(app.CidrBlockAssociationSet) != 1 || aws.ToString(app.CidrBlockAssociationSet[0].CidrBlock) != "10.1.0.0/16" {
		t.Fatalf("CIDR associations = %+v", app.CidrBlockAssociationSet)
	}
	// By ID; a missing ID is an error.
	out, err := c.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0data00000000001"}})
	if err != nil || len(out.Vpcs) != 1 || aws.ToString(out.Vpcs[0].CidrBlock) != "10.2.0.0/16" {
		t.Fatalf("DescribeVpcs(vpc-0data...) = %v, %v", out, err)
	}
	if _, err := c.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0missing"}}); apiCode(err) != "InvalidVpcID.NotFound" {
		t.Fatalf("missing VPC: %v", err)
	}
	out, err = c.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(out.Vpcs) != 1 || !aws.ToBool(out.Vpcs[0].IsDefault) {
		t.Fatalf("DescribeVpcs(is-default=true) = %v, %v", out, err)
	}
	// Regional: nothing in us-east-1; the opt-in account sees its own.
	if out, err := ec2.NewFromConfig(cfg(url, member, "us-east-1")).DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); err != nil || len(out.Vpcs) != 0 {
		t.Fatalf("us-east-1 VPCs = %v, %v", out, err)
	}
	if out, err := ec2.NewFromConfig(cfg(url, optin, "ap-east-1")).DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); err != nil || len(out.Vpcs) != 1 {
		t.Fatalf("ap-east-1 VPCs = %v, %v", out, err)
	}
	if _, err := ec2.NewFromConfig(cfg(url, member, "ap-east-1")).DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); apiCode(err) != "OptInRequired" {
		t.Fatalf("DescribeVpcs in a disabled region: %v", err)
	}
	if _, err := c.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{MaxResults: aws.Int32(2)}); apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("MaxResults below 5: %v", err)
	}
}

func TestEC2DescribeVpcEndpoints(t *testing.T) {
	t.Parallel()
	_, url := sim(t, ec2World(t), Options{Faults: Faults{PageSize: 2}})
	c := ec2.NewFromConfig(cfg(url, member, "eu-west-1"))
	var eps []ec2types.VpcEndpoint
	pages := 0
	p := ec2.NewDescribeVpcEndpointsPaginator(c, &ec2.DescribeVpcEndpointsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		eps = append(eps, out.VpcEndpoints...)
	}
	if pages != 2 || len(eps) != 4 {
		t.Fatalf("pages = %d, endpoints = %d; want 2 and 4", pages, len(eps))
	}
	sc, s3 := eps[0], eps[1]
	if aws.ToString(sc.VpcEndpointId) != "vpce-0sc00000000000001" || sc.VpcEndpointType != ec2types.VpcEndpointTypeInterface ||
		aws.ToString(sc.ServiceName) != "com.amazonaws.eu-west-1.servicecatalog" || aws.ToString(sc.VpcId) != "vpc-0app000000000001" ||
		!aws.ToBool(sc.PrivateDnsEnabled) || string(sc.State) != "available" {
		t.Fatalf("servicecatalog endpoint = %+v", sc)
	}
	// An interface endpoint has its regional vpce name and, with private
	// DNS, the service's own name; a gateway endpoint has no DNS entries.
	if len(sc.DnsEntries) != 2 || !strings.HasPrefix(aws.ToString(sc.DnsEntries[0].DnsName), "vpce-0sc00000000000001-") ||
		!strings.HasSuffix(aws.ToString(sc.DnsEntries[0].DnsName), ".servicecatalog.eu-west-1.vpce.amazonaws.com") ||
		aws.ToString(sc.DnsEntries[1].DnsName) != "servicecatalog.eu-west-1.amazonaws.com" || aws.ToString(sc.DnsEntries[0].HostedZoneId) == "" ||
		sc.IpAddressType != ec2types.IpAddressTypeIpv4 || sc.DnsOptions == nil || sc.DnsOptions.DnsRecordIpType != ec2types.DnsRecordIpTypeIpv4 {
		t.Fatalf("servicecatalog endpoint DNS = %+v, %s, %+v", sc.DnsEntries, sc.IpAddressType, sc.DnsOptions)
	}
	if s3.VpcEndpointType != ec2types.VpcEndpointTypeGateway || aws.ToString(s3.ServiceName) != "com.amazonaws.eu-west-1.s3" || aws.ToBool(s3.PrivateDnsEnabled) ||
		len(s3.DnsEntries) != 0 {
		t.Fatalf("s3 endpoint = %+v", s3)
	}
	ids := func(in *ec2.DescribeVpcEndpointsInput) []string {
		t.Helper()
		var out []string
		p := ec2.NewDescribeVpcEndpointsPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.VpcEndpoints {
				out = append(out, aws.ToString(e.VpcEndpointId))
			}
		}
		return out
	}
	got := ids(&ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{{Name: aws.String("service-name"), Values: []string{"com.amazonaws.eu-west-1.servicecatalog"}}}})
	if !slices.Equal(got, []string{"vpce-0sc00000000000001", "vpce-0sc00000000000002"}) {
		t.Fatalf("service-name filter = %v", got)
	}
	got = ids(&ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{"vpc-0app000000000001"}},
		{Name: aws.String("service-name"), Values: []string{"com.amazonaws.eu-west-1.servicecatalog", "com.amazonaws.eu-west-1.kms"}},
	}})
	if !slices.Equal(got, []string{"vpce-0sc00000000000001", "vpce-0kms0000000000001"}) {
		t.Fatalf("vpc-id and service-name filters = %v", got)
	}
	if got := ids(&ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{"vpc-0nope"}}}}); len(got) != 0 {
		t.Fatalf("filter on unknown VPC = %v", got)
	}
	if _, err := c.DescribeVpcEndpoints(ctx(t), &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{{Name: aws.String("bogus"), Values: []string{"x"}}}}); apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("unknown filter: %v", err)
	}
	if _, err := c.DescribeVpcEndpoints(ctx(t), &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{"vpce-0missing"}}); apiCode(err) != "InvalidVpcEndpointId.NotFound" {
		t.Fatalf("missing endpoint: %v", err)
	}
}
