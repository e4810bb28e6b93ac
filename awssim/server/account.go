package server

import (
	"fmt"
	"slices"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// AWS Account Management, REST-JSON (global).
func init() {
	registerRoute("account", "POST", "/listRegions", "ListRegions", accountListRegions)
	registerRoute("account", "POST", "/getRegionOptStatus", "GetRegionOptStatus", accountGetRegionOptStatus)
}

// targetAccount is the account an Account Management call is about: the
// caller's own, or with AccountId a member account when the caller is the
// organization's management account.
func (c *Call) targetAccount(id string) (*world.Account, error) {
	if id == "" || (id == c.Account.ID && c.Account.ID != c.S.w.ManagementAccount) {
		return c.Account, nil
	}
	if c.Account.ID != c.S.w.ManagementAccount {
		return nil, &APIError{Code: "AccessDeniedException", Message: fmt.Sprintf("User: %s is not authorized to perform: account:%s on resource: account %s", c.P.ARN, c.Operation, id), Status: 403}
	}
	if id == c.S.w.ManagementAccount {
		return nil, &APIError{Code: "ValidationException", Message: "The management account can only be managed using the standalone context from the management account; omit AccountId.", Status: 400}
	}
	a, ok := c.S.w.Account(id)
	if !ok {
		return nil, &APIError{Code: "AccessDeniedException", Message: fmt.Sprintf("Account %s is not a member of the organization.", id), Status: 403}
	}
	return a, nil
}

func (c *Call) regionOptStatus(a *world.Account, region string) string {
	switch {
	case !c.S.w.RegionOptIn(region):
		return "ENABLED_BY_DEFAULT"
	case c.S.w.RegionEnabled(a, region):
		return "ENABLED"
	}
	return "DISABLED"
}

var regionOptStatuses = []string{"ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT"}

func accountListRegions(c *Call) (any, error) {
	var in struct {
		AccountID               string   `json:"AccountId"`
		MaxResults              *int     `json:"MaxResults"`
		NextToken               string   `json:"NextToken"`
		RegionOptStatusContains []string `json:"RegionOptStatusContains"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	a, err := c.targetAccount(in.AccountID)
	if err != nil {
		return nil, err
	}
	max := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, &APIError{Code: "ValidationException", Message: "MaxResults must be between 1 and 50.", Status: 400}
		}
		max = *in.MaxResults
	}
	for _, s := range in.RegionOptStatusContains {
		if !slices.Contains(regionOptStatuses, s) {
			return nil, &APIError{Code: "ValidationException", Message: fmt.Sprintf("Invalid RegionOptStatus: %s", s), Status: 400}
		}
	}
	type region struct{ name, status string }
	var sel []region
	for _, r := range c.S.w.Regions {
		st := c.regionOptStatus(a, r.Name)
		if len(in.RegionOptStatusContains) > 0 && !slices.Contains(in.RegionOptStatusContains, st) {
			continue
		}
		sel = append(sel, region{r.Name, st})
	}
	page, next, err := pageOf(c, sel, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	out := []map[string]string{}
	for _, r := range page {
		out = append(out, map[string]string{"RegionName": r.name, "RegionOptStatus": r.status})
	}
	return map[string]any{"Regions": out, "NextToken": omitEmpty(next)}, nil
}

func accountGetRegionOptStatus(c *Call) (any, error) {
	var in struct {
		AccountID  string `json:"AccountId"`
		RegionName string `json:"RegionName"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	a, err := c.targetAccount(in.AccountID)
	if err != nil {
		return nil, err
	}
	known := false
	for _, r := range c.S.w.Regions {
		known = known || r.Name == in.RegionName
	}
	if !known {
		return nil, &APIError{Code: "ValidationException", Message: fmt.Sprintf("Invalid region name: %q", in.RegionName), Status: 400}
	}
	return map[string]any{"RegionName": in.RegionName, "RegionOptStatus": c.regionOptStatus(a, in.RegionName)}, nil
}
