package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// Serverless Application Repository, REST-JSON with camelCase members.
func init() {
	registerRoute("serverlessrepo", "GET", "/applications", "ListApplications", sarListApplications)
	registerRoute("serverlessrepo", "GET", "/applications/{applicationId}", "GetApplication", sarGetApplication)
	registerRoute("serverlessrepo", "GET", "/applications/{applicationId}/versions", "ListApplicationVersions", sarListApplicationVersions)
	registerRoute("serverlessrepo", "GET", "/applications/{applicationId}/policy", "GetApplicationPolicy", sarGetApplicationPolicy)
}

func (c *Call) appARN(a *world.Application) string {
	return c.S.w.ARN("serverlessrepo", c.Region, c.Account.ID, "applications/"+a.ID)
}

// restPage reads maxItems and nextToken from the query string.
func restPage[T any](c *Call, items []T, maxParam, tokenParam string, max int) ([]T, string, error) {
	q := c.R.URL.Query()
	if v := q.Get(maxParam); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, "", &APIError{Code: "BadRequestException", Message: maxParam + " must be between 1 and 100", Status: 400}
		}
		max = n
	}
	return pageOf(c, items, q.Get(tokenParam), max)
}

func sarListApplications(c *Call) (any, error) {
	apps := c.Account.In(c.Region).Applications
	page, next, err := restPage(c, apps, "maxItems", "nextToken", 100)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range page {
		out = append(out, map[string]any{
			"applicationId": c.appARN(a), "name": a.Name, "author": a.Author, "description": a.Description,
			"labels": nonNil(a.Labels), "homePageUrl": a.HomePageURL, "spdxLicenseId": a.SpdxLicenseID, "creationTime": iso(a.Created),
		})
	}
	return map[string]any{"applications": out, "nextToken": omitEmpty(next)}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// app finds the application of the path's applicationId (an ARN).
func (c *Call) app() (*world.Application, error) {
	id := c.Params["applicationId"]
	for _, a := range c.Account.In(c.Region).Applications {
		if c.appARN(a) == id {
			return a, nil
		}
	}
	if !strings.HasPrefix(id, "arn:") {
		return nil, &APIError{Code: "BadRequestException", Message: "applicationId must be an application ARN", Status: 400}
	}
	return nil, &APIError{Code: "NotFoundException", Message: fmt.Sprintf("Application %s not found.", id), Status: 404}
}

func sarGetApplication(c *Call) (any, error) {
	a, err := c.app()
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"applicationId": c.appARN(a), "name": a.Name, "author": a.Author, "description": a.Description,
		"labels": nonNil(a.Labels), "homePageUrl": a.HomePageURL, "licenseUrl": a.LicenseURL, "readmeUrl": a.ReadmeURL,
		"spdxLicenseId": a.SpdxLicenseID, "creationTime": iso(a.Created), "isVerifiedAuthor": false,
	}
	v := a.Versions
	if ver := c.R.URL.Query().Get("semanticVersion"); ver != "" {
		var sel []*world.Version
		for _, x := range v {
			if x.SemanticVersion == ver {
				sel = append(sel, x)
			}
		}
		if len(sel) == 0 {
			return nil, &APIError{Code: "NotFoundException", Message: "Version " + ver + " not found.", Status: 404}
		}
		v = sel
	}
	if len(v) > 0 {
		latest := v[len(v)-1]
		out["version"] = map[string]any{
			"applicationId": c.appARN(a), "semanticVersion": latest.SemanticVersion, "sourceCodeUrl": latest.SourceCodeURL,
			"templateUrl": latest.TemplateURL, "creationTime": iso(latest.Created),
			"parameterDefinitions": []any{}, "requiredCapabilities": []any{}, "resourcesSupported": true,
		}
	}
	return out, nil
}

func sarListApplicationVersions(c *Call) (any, error) {
	a, err := c.app()
	if err != nil {
		return nil, err
	}
	page, next, err := restPage(c, a.Versions, "maxItems", "nextToken", 100)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, v := range page {
		out = append(out, map[string]any{"applicationId": c.appARN(a), "semanticVersion": v.SemanticVersion, "sourceCodeUrl": v.SourceCodeURL, "creationTime": iso(v.Created)})
	}
	return map[string]any{"versions": out, "nextToken": omitEmpty(next)}, nil
}

func sarGetApplicationPolicy(c *Call) (any, error) {
	a, err := c.app()
	if err != nil {
		return nil, err
	}
	st := []map[string]any{}
	for i, p := range a.Policy {
		id := p.ID
		if id == "" {
			id = fmt.Sprintf("statement-%d", i+1)
		}
		st = append(st, map[string]any{"statementId": id, "actions": p.Actions, "principals": p.Principals, "principalOrgIDs": nonNil(p.PrincipalOrgIDs)})
	}
	return map[string]any{"statements": st}, nil
}
