package server

import (
	"fmt"
	"strings"

	"github.com/dpsweep/dpsweep/awssim/world"
)

func init() {
	register("organizations", "DescribeOrganization", orgDescribeOrganization)
	register("organizations", "ListAccounts", orgListAccounts)
	register("organizations", "ListRoots", orgListRoots)
	register("organizations", "ListOrganizationalUnitsForParent", orgListOUsForParent)
	register("organizations", "ListAccountsForParent", orgListAccountsForParent)
	register("organizations", "ListParents", orgListParents)
	register("organizations", "ListTagsForResource", orgListTagsForResource)
}

// Organizations answers only the management account.
func (c *Call) orgManagement() error {
	if c.P.AccountID != c.S.w.ManagementAccount {
		return &APIError{Code: "AWSOrganizationsNotInUseException", Message: "Your account is not a member of an organization.", Status: 400}
	}
	return nil
}

func (s *Server) orgARN(kind, id string) string {
	if kind == "account" {
		return fmt.Sprintf("arn:%s:organizations::%s:account/%s/%s", s.w.Partition, s.w.ManagementAccount, s.w.OrganizationID, id)
	}
	return fmt.Sprintf("arn:%s:organizations::%s:%s/%s/%s", s.w.Partition, s.w.ManagementAccount, kind, s.w.OrganizationID, id)
}

func orgDescribeOrganization(c *Call) (any, error) {
	if err := c.orgManagement(); err != nil {
		return nil, err
	}
	w := c.S.w
	m, _ := w.Account(w.ManagementAccount)
	return map[string]any{"Organization": map[string]any{
		"Id": w.OrganizationID, "Arn": fmt.Sprintf("arn:%s:organizations::%s:organization/%s", w.Partition, w.ManagementAccount, w.OrganizationID),
		"FeatureSet": "ALL", "MasterAccountId": w.ManagementAccount, "MasterAccountArn": c.S.orgARN("account", w.ManagementAccount),
		"MasterAccountEmail":   m.Email,
		"AvailablePolicyTypes": []map[string]string{{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}},
	}}, nil
}

type orgPageInput struct {
	NextToken  string `json:"NextToken"`
	MaxResults int    `json:"MaxResults"`
	ParentID   string `json:"ParentId"`
	ChildID    string `json:"ChildId"`
	ResourceID string `json:"ResourceId"`
}

func (c *Call) orgInput() (orgPageInput, error) {
	var in orgPageInput
	if err := c.decode(&in); err != nil {
		return in, err
	}
	if in.MaxResults < 0 || in.MaxResults > 20 {
		return in, &APIError{Code: "InvalidInputException", Message: "MaxResults must be between 1 and 20", Status: 400}
	}
	if in.MaxResults == 0 {
		in.MaxResults = 20
	}
	return in, nil
}

func (s *Server) orgAccount(a *world.Account) map[string]any {
	return map[string]any{
		"Id": a.ID, "Arn": s.orgARN("account", a.ID), "Email": a.Email, "Name": a.Name,
		"Status": a.Status, "State": a.Status, "JoinedMethod": "CREATED", "JoinedTimestamp": epoch(a.Created),
	}
}

func orgListAccounts(c *Call) (any, error) {
	if err := c.orgManagement(); err != nil {
		return nil, err
	}
	in, err := c.orgInput()
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(c, c.S.w.Accounts, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range page {
		out = append(out, c.S.orgAccount(a))
	}
	return map[string]any{"Accounts": out, "NextToken": omitEmpty(next)}, nil
}

func orgListRoots(c *Call) (any, error) {
	if err := c.orgManagement(); err != nil {
		return nil, err
	}
	w := c.S.w
	return map[string]any{"Roots": []map[string]any{{"Id": w.RootID, "Arn": c.S.orgARN("root", w.RootID), "Name": "Root",
		"PolicyTypes": []map[string]string{{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}}}}}, nil
}

func (c *Call) knownParent(id string) error {
	if id == c.S.w.RootID {
		return nil
	}
	for _, ou := range c.S.w.OUs {
		if ou.ID == id {
			return nil
		}
	}
	return &APIError{Code: "ParentNotFoundException", Message: "We can't find a root or OU with the ParentId that you specified.", Status: 400}
}

func orgListOUsForParent(c *Call) (any, error) {
	if err := c.orgManagement(); err != nil {
		return nil, err
	}
	in, err := c.orgInput()
	if err != nil {
		return nil, err
	}
	if err := c.knownParent(in.ParentID); err != nil {
		return nil, err
	}
	var children []*world.OU
	for _, ou := range c.S.w.OUs {
		if ou.Parent == in.ParentID {
			children = append(children, ou)
		}
	}
	page, next, err := pageOf(c, children, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, ou := range page {
		out = append(out, map[string]any{"Id": ou.ID, "Arn": c.S.orgARN("ou", ou.ID), "Name": ou.Name})
	}
	return map[string]any{"OrganizationalUnits": out, "NextToken": omitEmpty(next)}, nil
}

func orgListAccountsForParent(c *Call) (any, error) {
	if err := c.orgManagement(); err != nil {
		return nil, err
	}
	in, err := c.orgInput()
	if err != nil {
		return nil, err
	}
	if err := c.knownParent(in.ParentID); err != nil {
		return nil, err
	}
	var children []*world.Account
	for _, a := range c.S.w.Accounts {
		if a.Parent == in.ParentID {
			children = append(children, a)
		}
	}
	page, next, err := pageOf(c, children, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range page {
		out = append(out, c.S.orgAccount(a))
	}
	return map[string]any{"Accounts": out, "NextToken": omitEmpty(next)}, nil
}

func orgListParents(c *Call) (any, error) {
	if err := c.orgManagement(); err != nil {
		return nil, err
	}
	in, err := c.orgInput()
	if err != nil {
		return nil, err
	}
	parent := ""
	if a, ok := c.S.w.Account(in.ChildID); ok {
		parent = a.Parent
	}
	for _, ou := range c.S.w.OUs {
		if ou.ID == in.ChildID {
			parent = ou.Parent
		}
	}
	if parent == "" {
		return nil, &APIError{Code: "ChildNotFoundException", Message: "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.", Status: 400}
	}
	typ := "ORGANIZATIONAL_UNIT"
	if strings.HasPrefix(parent, "r-") {
		typ = "ROOT"
	}
	return map[string]any{"Parents": []map[string]string{{"Id": parent, "Type": typ}}}, nil
}

func orgListTagsForResource(c *Call) (any, error) {
	if err := c.orgManagement(); err != nil {
		return nil, err
	}
	in, err := c.orgInput()
	if err != nil {
		return nil, err
	}
	a, ok := c.S.w.Account(in.ResourceID)
	if !ok {
		return nil, &APIError{Code: "TargetNotFoundException", Message: "We can't find a root, OU, account, or policy with the TargetId that you specified.", Status: 400}
	}
	tags := []map[string]string{}
	for _, k := range sortedKeys(a.Tags) {
		tags = append(tags, map[string]string{"Key": k, "Value": a.Tags[k]})
	}
	return map[string]any{"Tags": tags}, nil
}
