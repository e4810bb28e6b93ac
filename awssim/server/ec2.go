package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// EC2, query protocol with camelCase XML and <xxxSet><item> lists. The
// framework adds the <OpResponse xmlns=...><requestId> wrapper.
func init() {
	register("ec2", "DescribeRegions", ec2DescribeRegions)
	register("ec2", "DescribeVpcs", ec2DescribeVpcs)
	register("ec2", "DescribeVpcEndpoints", ec2DescribeVpcEndpoints)
}

// dnsSuffix is the partition's domain.
func dnsSuffix(partition string) string {
	switch partition {
	case "aws-cn":
		return "amazonaws.com.cn"
	case "aws-iso":
		return "c2s.ic.gov"
	case "aws-iso-b":
		return "sc2s.sgov.gov"
	}
	return "amazonaws.com"
}

// ec2Filter is one Filter.N.Name with its Filter.N.Value.M values.
type ec2Filter struct {
	Name   string
	Values []string
}

// ec2Filters reads Filter.N.Name / Filter.N.Value.M and rejects names not in known.
func (c *Call) ec2Filters(known ...string) ([]ec2Filter, error) {
	var out []ec2Filter
	for i := 1; ; i++ {
		name, ok := c.Form[fmt.Sprintf("Filter.%d.Name", i)]
		if !ok || len(name) == 0 {
			return out, nil
		}
		f := ec2Filter{Name: name[0], Values: c.formList(fmt.Sprintf("Filter.%d.Value", i))}
		valid := false
		for _, k := range known {
			valid = valid || k == f.Name
		}
		if !valid {
			return nil, &APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("The filter '%s' is invalid", f.Name), Status: 400}
		}
		out = append(out, f)
	}
}

// matches reports whether every filter accepts the resource; get returns
// the resource's values for a filter name. Filter values may use * and ?.
func ec2Match(filters []ec2Filter, get func(name string) []string) bool {
	for _, f := range filters {
		have := get(f.Name)
		hit := false
		for _, want := range f.Values {
			for _, h := range have {
				if ok, err := path.Match(want, h); (err == nil && ok) || want == h {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// ec2MaxResults reads MaxResults, which EC2 bounds to [lo, 1000].
func (c *Call) ec2MaxResults(lo int) (int, error) {
	v := c.Form.Get("MaxResults")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > 1000 {
		return 0, &APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Value ( %s ) for parameter maxResults is invalid. Expecting a value between %d and 1000.", v, lo), Status: 400}
	}
	return n, nil
}

// ec2Page pages with EC2's NextToken, answering InvalidNextToken for a bad one.
func ec2Page[T any](c *Call, items []T, max int) ([]T, string, error) {
	page, next, err := pageOf(c, items, c.Form.Get("NextToken"), max)
	if err != nil {
		return nil, "", &APIError{Code: "InvalidNextToken", Message: "The token '" + c.Form.Get("NextToken") + "' is invalid.", Status: 400}
	}
	return page, next, nil
}

type ec2Region struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type describeRegionsResult struct {
	XMLName xml.Name    `xml:"DescribeRegionsResponse"`
	Regions []ec2Region `xml:"regionInfo>item"`
}

func ec2DescribeRegions(c *Call) (any, error) {
	w := c.S.w
	all := strings.EqualFold(c.Form.Get("AllRegions"), "true")
	filters, err := c.ec2Filters("region-name", "endpoint", "opt-in-status")
	if err != nil {
		return nil, err
	}
	names := c.formList("RegionName")
	for _, n := range names {
		known := false
		for _, r := range w.Regions {
			known = known || r.Name == n
		}
		if !known {
			return nil, &APIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("Invalid region: %s", n), Status: 400}
		}
	}
	out := describeRegionsResult{Regions: []ec2Region{}}
	for _, r := range w.Regions {
		enabled := w.RegionEnabled(c.Account, r.Name)
		status := "opt-in-not-required"
		if r.OptIn {
			status = "not-opted-in"
			if enabled {
				status = "opted-in"
			}
		}
		if len(names) > 0 {
			found := false
			for _, n := range names {
				found = found || n == r.Name
			}
			if !found {
				continue
			}
		} else if !all && !enabled {
			continue
		}
		reg := ec2Region{RegionName: r.Name, RegionEndpoint: "ec2." + r.Name + "." + dnsSuffix(w.Partition), OptInStatus: status}
		if !ec2Match(filters, func(name string) []string {
			switch name {
			case "region-name":
				return []string{reg.RegionName}
			case "endpoint":
				return []string{reg.RegionEndpoint}
			}
			return []string{reg.OptInStatus}
		}) {
			continue
		}
		out.Regions = append(out.Regions, reg)
	}
	return out, nil
}

type ec2CidrAssociation struct {
	AssociationID  string `xml:"associationId"`
	CidrBlock      string `xml:"cidrBlock"`
	CidrBlockState struct {
		State string `xml:"state"`
	} `xml:"cidrBlockState"`
}

type ec2Vpc struct {
	VpcID           string               `xml:"vpcId"`
	OwnerID         string               `xml:"ownerId"`
	State           string               `xml:"state"`
	CidrBlock       string               `xml:"cidrBlock"`
	CidrAssociation []ec2CidrAssociation `xml:"cidrBlockAssociationSet>item"`
	DhcpOptionsID   string               `xml:"dhcpOptionsId"`
	InstanceTenancy string               `xml:"instanceTenancy"`
	IsDefault       bool                 `xml:"isDefault"`
}

type describeVpcsResult struct {
	XMLName   xml.Name `xml:"DescribeVpcsResponse"`
	Vpcs      []ec2Vpc `xml:"vpcSet>item"`
	NextToken string   `xml:"nextToken,omitempty"`
}

func vpcCIDR(v *world.VPC) string {
	if v.CIDR == "" {
		return "172.31.0.0/16"
	}
	return v.CIDR
}

func ec2DescribeVpcs(c *Call) (any, error) {
	max, err := c.ec2MaxResults(5)
	if err != nil {
		return nil, err
	}
	filters, err := c.ec2Filters("vpc-id", "is-default", "cidr", "cidr-block-association.cidr-block", "owner-id", "state")
	if err != nil {
		return nil, err
	}
	vpcs := c.Account.In(c.Region).VPCs
	ids := c.formList("VpcId")
	for _, id := range ids {
		found := false
		for _, v := range vpcs {
			found = found || v.ID == id
		}
		if !found {
			return nil, &APIError{Code: "InvalidVpcID.NotFound", Message: fmt.Sprintf("The vpc ID '%s' does not exist", id), Status: 400}
		}
	}
	var sel []*world.VPC
	for _, v := range vpcs {
		if len(ids) > 0 && !slices.Contains(ids, v.ID) {
			continue
		}
		if !ec2Match(filters, func(name string) []string {
			switch name {
			case "vpc-id":
				return []string{v.ID}
			case "is-default":
				return []string{strconv.FormatBool(v.Default)}
			case "cidr", "cidr-block-association.cidr-block":
				return []string{vpcCIDR(v)}
			case "owner-id":
				return []string{c.Account.ID}
			}
			return []string{"available"}
		}) {
			continue
		}
		sel = append(sel, v)
	}
	page, next, err := ec2Page(c, sel, max)
	if err != nil {
		return nil, err
	}
	out := describeVpcsResult{Vpcs: []ec2Vpc{}, NextToken: next}
	for _, v := range page {
		vpc := ec2Vpc{VpcID: v.ID, OwnerID: c.Account.ID, State: "available", CidrBlock: vpcCIDR(v),
			DhcpOptionsID: "dopt-" + shortHash(c.Account.ID+c.Region, 8), InstanceTenancy: "default", IsDefault: v.Default}
		a := ec2CidrAssociation{AssociationID: "vpc-cidr-assoc-" + shortHash(v.ID, 17), CidrBlock: vpc.CidrBlock}
		a.CidrBlockState.State = "associated"
		vpc.CidrAssociation = []ec2CidrAssociation{a}
		out.Vpcs = append(out.Vpcs, vpc)
	}
	return out, nil
}

type ec2DNSEntry struct {
	DNSName      string `xml:"dnsName"`
	HostedZoneID string `xml:"hostedZoneId"`
}

type ec2VpcEndpoint struct {
	VpcEndpointID     string        `xml:"vpcEndpointId"`
	VpcEndpointType   string        `xml:"vpcEndpointType"`
	VpcID             string        `xml:"vpcId"`
	ServiceName       string        `xml:"serviceName"`
	State             string        `xml:"state"`
	PolicyDocument    string        `xml:"policyDocument"`
	PrivateDNSEnabled bool          `xml:"privateDnsEnabled"`
	RequesterManaged  bool          `xml:"requesterManaged"`
	DNSEntries        []ec2DNSEntry `xml:"dnsEntrySet>item"`
	DNSRecordIPType   string        `xml:"dnsOptions>dnsRecordIpType,omitempty"`
	IPAddressType     string        `xml:"ipAddressType,omitempty"`
	CreationTimestamp string        `xml:"creationTimestamp"`
	OwnerID           string        `xml:"ownerId"`
}

// ec2EndpointDNS are an interface endpoint's DNS entries: its regional name
// in the region's public vpce zone, and with private DNS the service's own
// name in the private hosted zone AWS manages for the VPC. (Zonal names
// need subnets, which the world does not model.) Gateway endpoints have none.
func (c *Call) ec2EndpointDNS(e *world.Endpoint, service string, private bool) []ec2DNSEntry {
	short := strings.TrimPrefix(service, "com.amazonaws."+c.Region+".") // ecr.api, servicecatalog, ...
	suffix := dnsSuffix(c.S.w.Partition)
	out := []ec2DNSEntry{{
		DNSName:      fmt.Sprintf("%s-%s.%s.%s.vpce.%s", e.ID, shortHash(e.ID, 8), short, c.Region, suffix),
		HostedZoneID: "Z" + strings.ToUpper(shortHash("vpce-zone/"+c.Region, 13)),
	}}
	if private {
		out = append(out, ec2DNSEntry{
			DNSName:      fmt.Sprintf("%s.%s.%s", short, c.Region, suffix),
			HostedZoneID: "Z" + strings.ToUpper(shortHash("private-zone/"+e.ID, 20)),
		})
	}
	return out
}

type describeVpcEndpointsResult struct {
	XMLName   xml.Name         `xml:"DescribeVpcEndpointsResponse"`
	Endpoints []ec2VpcEndpoint `xml:"vpcEndpointSet>item"`
	NextToken string           `xml:"nextToken,omitempty"`
}

const fullAccessPolicy = `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`

func ec2DescribeVpcEndpoints(c *Call) (any, error) {
	max, err := c.ec2MaxResults(1)
	if err != nil {
		return nil, err
	}
	filters, err := c.ec2Filters("vpc-id", "service-name", "vpc-endpoint-id", "vpc-endpoint-type", "vpc-endpoint-state")
	if err != nil {
		return nil, err
	}
	type ep struct {
		vpc *world.VPC
		e   *world.Endpoint
	}
	var all []ep
	for _, v := range c.Account.In(c.Region).VPCs {
		for _, e := range v.Endpoints {
			all = append(all, ep{v, e})
		}
	}
	ids := c.formList("VpcEndpointId")
	for _, id := range ids {
		found := false
		for _, x := range all {
			found = found || x.e.ID == id
		}
		if !found {
			return nil, &APIError{Code: "InvalidVpcEndpointId.NotFound", Message: fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", id), Status: 400}
		}
	}
	typ := func(e *world.Endpoint) string {
		if e.Type == "" {
			return "Interface"
		}
		return e.Type
	}
	service := func(e *world.Endpoint) string {
		if strings.HasPrefix(e.Service, "com.amazonaws.") {
			return e.Service
		}
		return "com.amazonaws." + c.Region + "." + e.Service
	}
	var sel []ep
	for _, x := range all {
		if len(ids) > 0 && !slices.Contains(ids, x.e.ID) {
			continue
		}
		if !ec2Match(filters, func(name string) []string {
			switch name {
			case "vpc-id":
				return []string{x.vpc.ID}
			case "service-name":
				return []string{service(x.e)}
			case "vpc-endpoint-id":
				return []string{x.e.ID}
			case "vpc-endpoint-type":
				return []string{typ(x.e)}
			}
			return []string{"available"}
		}) {
			continue
		}
		sel = append(sel, x)
	}
	page, next, err := ec2Page(c, sel, max)
	if err != nil {
		return nil, err
	}
	out := describeVpcEndpointsResult{Endpoints: []ec2VpcEndpoint{}, NextToken: next}
	for _, x := range page {
		ep := ec2VpcEndpoint{
			VpcEndpointID: x.e.ID, VpcEndpointType: typ(x.e), VpcID: x.vpc.ID, ServiceName: service(x.e),
			State: "available", PolicyDocument: fullAccessPolicy, PrivateDNSEnabled: x.e.PrivateDNS && typ(x.e) == "Interface",
			CreationTimestamp: iso(c.Account.Created), OwnerID: c.Account.ID,
		}
		if ep.VpcEndpointType == "Interface" {
			ep.DNSEntries = c.ec2EndpointDNS(x.e, ep.ServiceName, ep.PrivateDNSEnabled)
			ep.DNSRecordIPType, ep.IPAddressType = "ipv4", "ipv4"
		}
		out.Endpoints = append(out.Endpoints, ep)
	}
	return out, nil
}

// shortHash is a stable lower-case hex string of n characters derived from s,
// for IDs the world does not hold (DHCP options, association IDs, ...).
func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])
	for len(h) < n {
		h += h
	}
	return h[:n]
}

// pseudoUUID is a stable UUID-shaped string derived from s.
func pseudoUUID(s string) string {
	h := shortHash(s, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
