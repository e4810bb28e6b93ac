package server

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// DynamoDB, JSON 1.0.
func init() {
	register("dynamodb", "ListTables", ddbListTables)
	register("dynamodb", "DescribeTable", ddbDescribeTable)
}

var tableNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

func (c *Call) tableARN(t *world.Table) string {
	return c.S.w.ARN("dynamodb", c.Region, c.Account.ID, "table/"+t.Name)
}

func ddbListTables(c *Call) (any, error) {
	var in struct {
		ExclusiveStartTableName string `json:"ExclusiveStartTableName"`
		Limit                   *int   `json:"Limit"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, &APIError{Code: "ValidationException", Message: fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100", *in.Limit), Status: 400}
		}
		limit = *in.Limit
	}
	if ps := c.S.Faults().PageSize; ps > 0 && ps < limit {
		limit = ps
	}
	var names []string
	for _, t := range c.Account.In(c.Region).Tables {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	if in.ExclusiveStartTableName != "" {
		i, _ := slices.BinarySearch(names, in.ExclusiveStartTableName)
		if i < len(names) && names[i] == in.ExclusiveStartTableName {
			i++
		}
		names = names[i:]
	}
	out := map[string]any{}
	if len(names) > limit {
		names = names[:limit]
		out["LastEvaluatedTableName"] = names[limit-1]
	}
	if names == nil {
		names = []string{}
	}
	out["TableNames"] = names
	return out, nil
}

func ddbDescribeTable(c *Call) (any, error) {
	var in struct {
		TableName string `json:"TableName"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name := in.TableName
	if strings.HasPrefix(name, "arn:") {
		prefix := c.S.w.ARN("dynamodb", c.Region, c.Account.ID, "table/")
		if !strings.HasPrefix(name, prefix) {
			return nil, &APIError{Code: "ResourceNotFoundException", Message: "Requested resource not found: Table: " + name + " not found", Status: 400}
		}
		name = strings.TrimPrefix(name, prefix)
	}
	if !tableNameRe.MatchString(name) {
		return nil, &APIError{Code: "ValidationException", Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name), Status: 400}
	}
	var t *world.Table
	for _, x := range c.Account.In(c.Region).Tables {
		if x.Name == name {
			t = x
		}
	}
	if t == nil {
		return nil, &APIError{Code: "ResourceNotFoundException", Message: "Requested resource not found: Table: " + name + " not found", Status: 400}
	}
	created := epoch(c.Account.Created)
	desc := map[string]any{
		"TableName": t.Name, "TableArn": c.tableARN(t), "TableId": pseudoUUID(c.tableARN(t)), "TableStatus": "ACTIVE",
		"ItemCount": t.Items, "TableSizeBytes": t.Items * 128, "CreationDateTime": created,
		"AttributeDefinitions":      []map[string]string{{"AttributeName": "id", "AttributeType": "S"}},
		"KeySchema":                 []map[string]string{{"AttributeName": "id", "KeyType": "HASH"}},
		"ProvisionedThroughput":     map[string]any{"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
		"BillingModeSummary":        map[string]any{"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": created},
		"DeletionProtectionEnabled": false,
		// What AWS reports for an on-demand table that was never pre-warmed:
		// the 12,000 read and 4,000 write units every new on-demand table
		// can serve at once.
		"WarmThroughput": map[string]any{"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"},
	}
	switch t.SSE {
	case "KMS", "CMK":
		key := t.KMSKeyARN
		if key == "" {
			// The AWS managed key aws/dynamodb of the account and region.
			key = c.S.w.ARN("kms", c.Region, c.Account.ID, "key/"+pseudoUUID("aws/dynamodb/"+c.Account.ID+"/"+c.Region))
		}
		desc["SSEDescription"] = map[string]any{"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key}
	}
	return map[string]any{"Table": desc}, nil
}
