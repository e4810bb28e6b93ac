package server

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dpsweep/dpsweep/awssim/world"
)

func init() {
	register("iam", "GetAccountSummary", iamGetAccountSummary)
	register("iam", "GenerateCredentialReport", iamGenerateCredentialReport)
	register("iam", "GetCredentialReport", iamGetCredentialReport)
	register("iam", "GetAccountPasswordPolicy", iamGetAccountPasswordPolicy)
	register("iam", "ListUsers", iamListUsers)
	register("iam", "ListAttachedUserPolicies", iamListAttachedUserPolicies)
	register("iam", "ListUserPolicies", iamListUserPolicies)
	register("iam", "GetUserPolicy", iamGetUserPolicy)
	register("iam", "ListAccessKeys", iamListAccessKeys)
	register("iam", "ListMFADevices", iamListMFADevices)
	register("iam", "GetLoginProfile", iamGetLoginProfile)
	register("iam", "GetRole", iamGetRole)
	register("iam", "ListAttachedRolePolicies", iamListAttachedRolePolicies)
}

const iamTime = "2006-01-02T15:04:05Z"

func iamTS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(iamTime)
}

type summaryEntry struct {
	Key   string `xml:"key"`
	Value int    `xml:"value"`
}

type accountSummary struct {
	Entries []summaryEntry `xml:"SummaryMap>entry"`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func iamGetAccountSummary(c *Call) (any, error) {
	iam := c.Account.IAM
	mfa := b2i(iam.Root.MFA)
	for _, u := range iam.Users {
		mfa += b2i(u.MFA)
	}
	return accountSummary{Entries: []summaryEntry{
		{"AccountMFAEnabled", b2i(iam.Root.MFA)},
		{"AccountAccessKeysPresent", b2i(iam.Root.AccessKeys > 0)},
		{"AccountSigningCertificatesPresent", 0},
		{"Users", len(iam.Users)},
		{"UsersQuota", 5000},
		{"MFADevices", mfa},
		{"MFADevicesInUse", mfa},
		{"Roles", len(c.Account.Roles)},
		{"Policies", 0},
		{"Groups", 0},
	}}, nil
}

// reportsGenerated remembers which accounts asked for a credential report.
var reportsGenerated sync.Map // account ID -> time

type generateReportResult struct {
	State       string `xml:"State"`
	Description string `xml:"Description"`
}

func iamGenerateCredentialReport(c *Call) (any, error) {
	if _, loaded := reportsGenerated.LoadOrStore(c.S.reportKey(c.Account.ID), c.S.now()); loaded {
		return generateReportResult{State: "COMPLETE"}, nil
	}
	return generateReportResult{State: "STARTED", Description: "No report exists. Starting a new report generation task"}, nil
}

func (s *Server) reportKey(account string) string { return fmt.Sprintf("%p/%s", s, account) }

type credentialReport struct {
	Content       string `xml:"Content"`
	ReportFormat  string `xml:"ReportFormat"`
	GeneratedTime string `xml:"GeneratedTime"`
}

func iamGetCredentialReport(c *Call) (any, error) {
	v, ok := reportsGenerated.Load(c.S.reportKey(c.Account.ID))
	if !ok {
		return nil, &APIError{Code: "ReportNotPresent", Message: "Credential report does not exist. Use GenerateCredentialReport to generate a credential report.", Status: 410}
	}
	return credentialReport{
		Content:       base64.StdEncoding.EncodeToString([]byte(CredentialReportCSV(c.S.w, c.Account))),
		ReportFormat:  "text/csv",
		GeneratedTime: iamTS(v.(time.Time)),
	}, nil
}

// CredentialReportCSV renders the account's IAM credential report as AWS does.
func CredentialReportCSV(w *world.World, a *world.Account) string {
	na := func(t time.Time, none string) string {
		if t.IsZero() {
			return none
		}
		return t.UTC().Format(time.RFC3339)
	}
	var b strings.Builder
	b.WriteString("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active," +
		"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," +
		"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service," +
		"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n")
	root := a.IAM.Root
	rootKey := "false"
	rootRotated := "N/A"
	if root.AccessKeys > 0 {
		rootKey, rootRotated = "true", na(a.Created, "N/A")
	}
	fmt.Fprintf(&b, "<root_account>,arn:%s:iam::%s:root,%s,not_supported,%s,not_supported,not_supported,%t,%s,%s,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
		w.Partition, a.ID, na(a.Created, "N/A"), na(root.LastUsed, "no_information"), root.MFA, rootKey, rootRotated)
	for _, u := range a.IAM.Users {
		keys := [2]string{"false,N/A,N/A,N/A,N/A", "false,N/A,N/A,N/A,N/A"}
		for i, k := range u.AccessKeys {
			if i > 1 {
				break
			}
			keys[i] = fmt.Sprintf("%t,%s,N/A,N/A,N/A", k.Active, na(k.LastRotated, "N/A"))
		}
		pwUsed, pwChanged := "N/A", "N/A"
		if u.ConsolePassword {
			pwUsed, pwChanged = na(u.PasswordLastUsed, "no_information"), na(u.Created, "N/A")
		}
		fmt.Fprintf(&b, "%s,arn:%s:iam::%s:user/%s,%s,%t,%s,%s,N/A,%t,%s,%s,false,N/A,false,N/A\n",
			u.Name, w.Partition, a.ID, u.Name, na(u.Created, "N/A"), u.ConsolePassword, pwUsed, pwChanged, u.MFA, keys[0], keys[1])
	}
	return b.String()
}

type passwordPolicyResult struct {
	Policy struct {
		MinimumPasswordLength      int  `xml:"MinimumPasswordLength"`
		RequireSymbols             bool `xml:"RequireSymbols"`
		RequireNumbers             bool `xml:"RequireNumbers"`
		RequireUppercaseCharacters bool `xml:"RequireUppercaseCharacters"`
		RequireLowercaseCharacters bool `xml:"RequireLowercaseCharacters"`
		AllowUsersToChangePassword bool `xml:"AllowUsersToChangePassword"`
		ExpirePasswords            bool `xml:"ExpirePasswords"`
		MaxPasswordAge             int  `xml:"MaxPasswordAge,omitempty"`
		PasswordReusePrevention    int  `xml:"PasswordReusePrevention,omitempty"`
	} `xml:"PasswordPolicy"`
}

func iamGetAccountPasswordPolicy(c *Call) (any, error) {
	pp := c.Account.IAM.PasswordPolicy
	if pp == nil {
		return nil, &APIError{Code: "NoSuchEntity", Message: "The Password Policy with domain name " + c.Account.ID + " cannot be found.", Status: 404}
	}
	var out passwordPolicyResult
	p := &out.Policy
	p.MinimumPasswordLength, p.RequireSymbols, p.RequireNumbers = pp.MinimumLength, pp.RequireSymbols, pp.RequireNumbers
	p.RequireUppercaseCharacters, p.RequireLowercaseCharacters, p.AllowUsersToChangePassword = pp.RequireUppercase, pp.RequireLowercase, true
	p.ExpirePasswords, p.MaxPasswordAge, p.PasswordReusePrevention = pp.MaxAgeDays > 0, pp.MaxAgeDays, pp.ReusePrevention
	return out, nil
}

// iamPage pages a list with Marker and MaxItems (at most 1000, 100 by default).
func iamPage[T any](c *Call, items []T) ([]T, bool, string, error) {
	max := 100
	if v := c.Form.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, false, "", errInvalid(c, "MaxItems must be between 1 and 1000")
		}
		max = n
	}
	page, next, err := pageOf(c, items, c.Form.Get("Marker"), max)
	return page, next != "", next, err
}

type iamUser struct {
	Path             string `xml:"Path"`
	UserName         string `xml:"UserName"`
	UserID           string `xml:"UserId"`
	Arn              string `xml:"Arn"`
	CreateDate       string `xml:"CreateDate"`
	PasswordLastUsed string `xml:"PasswordLastUsed,omitempty"`
}

type listUsersResult struct {
	Users       []iamUser `xml:"Users>member"`
	IsTruncated bool      `xml:"IsTruncated"`
	Marker      string    `xml:"Marker,omitempty"`
}

func userID(account, name string) string {
	return "AIDA" + strings.ToUpper(fmt.Sprintf("%x", []byte(account+name)))[:17]
}

func iamListUsers(c *Call) (any, error) {
	page, trunc, marker, err := iamPage(c, c.Account.IAM.Users)
	if err != nil {
		return nil, err
	}
	out := listUsersResult{IsTruncated: trunc, Marker: marker, Users: []iamUser{}}
	for _, u := range page {
		out.Users = append(out.Users, iamUser{Path: "/", UserName: u.Name, UserID: userID(c.Account.ID, u.Name),
			Arn: fmt.Sprintf("arn:%s:iam::%s:user/%s", c.S.w.Partition, c.Account.ID, u.Name), CreateDate: iamTS(u.Created), PasswordLastUsed: iamTS(u.PasswordLastUsed)})
	}
	return out, nil
}

func (c *Call) user() (*world.User, error) {
	name := c.Form.Get("UserName")
	for _, u := range c.Account.IAM.Users {
		if u.Name == name {
			return u, nil
		}
	}
	return nil, &APIError{Code: "NoSuchEntity", Message: "The user with name " + name + " cannot be found.", Status: 404}
}

type attachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedResult struct {
	AttachedPolicies []attachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool             `xml:"IsTruncated"`
	Marker           string           `xml:"Marker,omitempty"`
}

func attached(c *Call, arns []string) (any, error) {
	page, trunc, marker, err := iamPage(c, arns)
	if err != nil {
		return nil, err
	}
	out := listAttachedResult{IsTruncated: trunc, Marker: marker, AttachedPolicies: []attachedPolicy{}}
	for _, a := range page {
		out.AttachedPolicies = append(out.AttachedPolicies, attachedPolicy{PolicyName: a[strings.LastIndexByte(a, '/')+1:], PolicyArn: a})
	}
	return out, nil
}

func iamListAttachedUserPolicies(c *Call) (any, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	return attached(c, u.AttachedPolicies)
}

type listUserPoliciesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
	Marker      string   `xml:"Marker,omitempty"`
}

func iamListUserPolicies(c *Call) (any, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(u.InlinePolicies))
	for i, p := range u.InlinePolicies {
		names[i] = p.Name
	}
	page, trunc, marker, err := iamPage(c, names)
	if err != nil {
		return nil, err
	}
	return listUserPoliciesResult{PolicyNames: append([]string{}, page...), IsTruncated: trunc, Marker: marker}, nil
}

type getUserPolicyResult struct {
	UserName       string `xml:"UserName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func iamGetUserPolicy(c *Call) (any, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	name := c.Form.Get("PolicyName")
	for _, p := range u.InlinePolicies {
		if p.Name == name {
			// IAM returns policy documents URL-encoded.
			return getUserPolicyResult{UserName: u.Name, PolicyName: p.Name, PolicyDocument: url.QueryEscape(p.Document)}, nil
		}
	}
	return nil, &APIError{Code: "NoSuchEntity", Message: "The user policy with name " + name + " cannot be found.", Status: 404}
}

type accessKeyMeta struct {
	UserName    string `xml:"UserName"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

type listAccessKeysResult struct {
	AccessKeyMetadata []accessKeyMeta `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool            `xml:"IsTruncated"`
	Marker            string          `xml:"Marker,omitempty"`
}

func iamListAccessKeys(c *Call) (any, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	page, trunc, marker, err := iamPage(c, u.AccessKeys)
	if err != nil {
		return nil, err
	}
	out := listAccessKeysResult{IsTruncated: trunc, Marker: marker, AccessKeyMetadata: []accessKeyMeta{}}
	for _, k := range page {
		st := "Inactive"
		if k.Active {
			st = "Active"
		}
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, accessKeyMeta{UserName: u.Name, AccessKeyID: k.ID, Status: st, CreateDate: iamTS(k.LastRotated)})
	}
	return out, nil
}

type mfaDevice struct {
	UserName     string `xml:"UserName"`
	SerialNumber string `xml:"SerialNumber"`
	EnableDate   string `xml:"EnableDate"`
}

type listMFAResult struct {
	MFADevices  []mfaDevice `xml:"MFADevices>member"`
	IsTruncated bool        `xml:"IsTruncated"`
}

func iamListMFADevices(c *Call) (any, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	out := listMFAResult{MFADevices: []mfaDevice{}}
	if u.MFA {
		out.MFADevices = append(out.MFADevices, mfaDevice{UserName: u.Name, SerialNumber: fmt.Sprintf("arn:%s:iam::%s:mfa/%s", c.S.w.Partition, c.Account.ID, u.Name), EnableDate: iamTS(u.Created)})
	}
	return out, nil
}

type loginProfileResult struct {
	LoginProfile struct {
		UserName              string `xml:"UserName"`
		CreateDate            string `xml:"CreateDate"`
		PasswordResetRequired bool   `xml:"PasswordResetRequired"`
	} `xml:"LoginProfile"`
}

func iamGetLoginProfile(c *Call) (any, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	if !u.ConsolePassword {
		return nil, &APIError{Code: "NoSuchEntity", Message: "Login Profile for User " + u.Name + " cannot be found.", Status: 404}
	}
	var out loginProfileResult
	out.LoginProfile.UserName, out.LoginProfile.CreateDate = u.Name, iamTS(u.Created)
	return out, nil
}

type getRoleResult struct {
	Role struct {
		Path                     string `xml:"Path"`
		RoleName                 string `xml:"RoleName"`
		RoleID                   string `xml:"RoleId"`
		Arn                      string `xml:"Arn"`
		CreateDate               string `xml:"CreateDate"`
		AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
	} `xml:"Role"`
}

func (c *Call) role() (*world.Role, error) {
	name := c.Form.Get("RoleName")
	if r, ok := c.Account.Role(name); ok {
		return r, nil
	}
	return nil, &APIError{Code: "NoSuchEntity", Message: "The role with name " + name + " cannot be found.", Status: 404}
}

func iamGetRole(c *Call) (any, error) {
	r, err := c.role()
	if err != nil {
		return nil, err
	}
	var out getRoleResult
	out.Role.Path, out.Role.RoleName, out.Role.RoleID = "/", r.Name, "AROA"+strings.ToUpper(fmt.Sprintf("%x", []byte(c.Account.ID+r.Name)))[:17]
	out.Role.Arn = fmt.Sprintf("arn:%s:iam::%s:role/%s", c.S.w.Partition, c.Account.ID, r.Name)
	out.Role.CreateDate = iamTS(c.Account.Created)
	out.Role.AssumeRolePolicyDocument = url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + c.S.w.ManagementAccount + `:root"},"Action":"sts:AssumeRole"}]}`)
	return out, nil
}

func iamListAttachedRolePolicies(c *Call) (any, error) {
	r, err := c.role()
	if err != nil {
		return nil, err
	}
	return attached(c, r.AttachedPolicies)
}
