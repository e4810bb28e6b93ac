package collect

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func init() {
	register(&Collector{
		Name: "dynamodb.tables", Service: "dynamodb", Scope: regional, Types: []string{"AWS::DynamoDB::Table"},
		Actions: []string{"dynamodb:ListTables", "dynamodb:DescribeTable"}, Description: "DynamoDB tables and their encryption at rest",
		Run: collectTables,
	})
	register(&Collector{
		Name: "kms.keys", Service: "kms", Scope: regional, Types: []string{"AWS::KMS::Key"},
		Actions:     []string{"kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus"},
		Description: "KMS keys: who manages them and, for customer managed symmetric keys, rotation",
		Run:         collectKeys,
	})
	register(&Collector{
		Name: "ec2.vpcs", Service: "ec2", Scope: regional, Types: []string{"AWS::EC2::VPC"},
		Actions:     []string{"ec2:DescribeVpcs", "ec2:DescribeVpcEndpoints"},
		Description: "VPCs with their endpoints (one list call each, endpoints grouped by VPC)",
		Run:         collectVPCs,
	})
}

func collectTables(ctx context.Context, e *Env) error {
	c := e.Clients.DynamoDB()
	p := dynamodb.NewListTablesPaginator(c, &dynamodb.ListTablesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "dynamodb:ListTables", "", err)
		}
		for _, name := range page.TableNames {
			arn := e.arn("dynamodb", e.Region, "table/"+name)
			d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				if ferr := e.fail(ctx, "dynamodb:DescribeTable", arn, err); ferr != nil {
					return ferr
				}
				continue
			}
			attrs := map[string]any{"name": name, "sse_type": "DEFAULT", "kms_key_arn": ""}
			if s := d.Table.SSEDescription; s != nil && s.Status == "ENABLED" {
				attrs["sse_type"], attrs["kms_key_arn"] = string(s.SSEType), aws.ToString(s.KMSMasterKeyArn)
			}
			if err := e.emit("AWS::DynamoDB::Table", aws.ToString(d.Table.TableArn), e.Region, name, attrs, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectKeys(ctx context.Context, e *Env) error {
	c := e.Clients.KMS()
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "kms:ListKeys", "", err)
		}
		for _, k := range page.Keys {
			arn := aws.ToString(k.KeyArn)
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if err != nil {
				if ferr := e.fail(ctx, "kms:DescribeKey", arn, err); ferr != nil {
					return ferr
				}
				continue
			}
			m := d.KeyMetadata
			attrs := map[string]any{"key_id": aws.ToString(k.KeyId), "manager": string(m.KeyManager), "state": string(m.KeyState),
				"spec": string(m.KeySpec), "usage": string(m.KeyUsage)}
			if m.KeyManager == kmstypes.KeyManagerTypeCustomer && m.KeySpec == kmstypes.KeySpecSymmetricDefault && m.KeyState == kmstypes.KeyStateEnabled {
				r, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
				if err != nil {
					if ferr := e.fail(ctx, "kms:GetKeyRotationStatus", arn, err); ferr != nil {
						return ferr
					}
				} else {
					attrs["rotation_enabled"] = r.KeyRotationEnabled
				}
			}
			if err := e.emit("AWS::KMS::Key", arn, e.Region, aws.ToString(k.KeyId), attrs, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectVPCs(ctx context.Context, e *Env) error {
	c := e.Clients.EC2()
	endpoints := map[string][]any{}
	ep := ec2.NewDescribeVpcEndpointsPaginator(c, &ec2.DescribeVpcEndpointsInput{})
	for ep.HasMorePages() {
		page, err := ep.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "ec2:DescribeVpcEndpoints", "", err)
		}
		for _, v := range page.VpcEndpoints {
			endpoints[aws.ToString(v.VpcId)] = append(endpoints[aws.ToString(v.VpcId)], map[string]any{
				"id": aws.ToString(v.VpcEndpointId), "service_name": aws.ToString(v.ServiceName), "type": string(v.VpcEndpointType),
				"private_dns": aws.ToBool(v.PrivateDnsEnabled), "state": string(v.State)})
		}
	}
	vp := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			return e.fail(ctx, "ec2:DescribeVpcs", "", err)
		}
		for _, v := range page.Vpcs {
			id := aws.ToString(v.VpcId)
			eps := endpoints[id]
			if eps == nil {
				eps = []any{}
			}
			if err := e.emit("AWS::EC2::VPC", e.arn("ec2", e.Region, "vpc/"+id), e.Region, id, map[string]any{
				"vpc_id": id, "cidr": aws.ToString(v.CidrBlock), "default": aws.ToBool(v.IsDefault), "endpoints": eps,
			}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

var _ = ec2types.VpcEndpointTypeInterface
