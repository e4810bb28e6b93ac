package server

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func init() {
	register("sts", "GetCallerIdentity", stsGetCallerIdentity)
	register("sts", "AssumeRole", stsAssumeRole)
}

type callerIdentity struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

func stsGetCallerIdentity(c *Call) (any, error) {
	return callerIdentity{Arn: c.P.ARN, UserID: c.P.UserID, Account: c.P.AccountID}, nil
}

var roleARNRe = regexp.MustCompile(`^arn:[a-z-]+:iam::([0-9]{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$`)

type assumeRoleResult struct {
	Credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	} `xml:"Credentials"`
	AssumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	} `xml:"AssumedRoleUser"`
}

// stsAssumeRole: the caller must be trusted by the role (the management
// account unless the role lists others), and the ExternalId must match.
func stsAssumeRole(c *Call) (any, error) {
	m := roleARNRe.FindStringSubmatch(c.Form.Get("RoleArn"))
	if m == nil {
		return nil, errInvalid(c, "1 validation error detected: Value at 'roleArn' failed to satisfy constraint")
	}
	session := c.Form.Get("RoleSessionName")
	if session == "" || len(session) > 64 {
		return nil, errInvalid(c, "RoleSessionName must be 2 to 64 characters")
	}
	denied := &APIError{Code: "AccessDenied", Status: 403,
		Message: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.P.ARN, c.Form.Get("RoleArn"))}
	acct, ok := c.S.w.Account(m[1])
	if !ok || acct.Status != "ACTIVE" {
		return nil, denied
	}
	role, ok := acct.Role(m[2])
	if !ok {
		return nil, denied
	}
	trusted := role.TrustedAccounts
	if len(trusted) == 0 {
		trusted = []string{c.S.w.ManagementAccount}
	}
	if !contains(trusted, c.P.AccountID) {
		return nil, denied
	}
	if role.ExternalID != "" && c.Form.Get("ExternalId") != role.ExternalID {
		return nil, denied
	}
	d := time.Hour
	if v := c.Form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 43200 {
			return nil, errInvalid(c, "DurationSeconds must be between 900 and 43200")
		}
		d = time.Duration(n) * time.Second
	}
	if max := c.S.opts.MaxSessionDuration; max > 0 && d > max {
		d = max
	}
	p := c.S.newSession(acct.ID, role.Name, session, d)
	var out assumeRoleResult
	out.Credentials.AccessKeyID = p.AccessKey
	out.Credentials.SecretAccessKey = p.Secret
	out.Credentials.SessionToken = p.Token
	out.Credentials.Expiration = p.Expires.UTC().Format(time.RFC3339)
	out.AssumedRoleUser.Arn = p.ARN
	out.AssumedRoleUser.AssumedRoleID = p.UserID
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
