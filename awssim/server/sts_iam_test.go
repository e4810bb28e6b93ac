package server

import (
	"context"
	"errors"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestSTS(t *testing.T) {
	t.Parallel()
	_, url := sim(t, testWorld(t), Options{})
	c := sts.NewFromConfig(cfg(url, mgmt, "us-east-1"))
	id, err := c.GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != mgmt || aws.ToString(id.Arn) != "arn:aws:iam::"+mgmt+":root" {
		t.Fatalf("GetCallerIdentity = %s %s", aws.ToString(id.Account), aws.ToString(id.Arn))
	}
	roleARN := "arn:aws:iam::" + member + ":role/dpsweep-readonly"
	tests := map[string]struct {
		role, ext string
		wantCode  string
	}{
		"assume with the right external ID": {role: roleARN, ext: "ext-123"},
		"wrong external ID":                 {role: roleARN, ext: "nope", wantCode: "AccessDenied"},
		"role missing in the account":       {role: "arn:aws:iam::" + member + ":role/missing", wantCode: "AccessDenied"},
		"account outside the organization":  {role: "arn:aws:iam::999999999999:role/dpsweep-readonly", wantCode: "AccessDenied"},
		"malformed role ARN":                {role: "role/x", wantCode: "ValidationError"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(tc.role), RoleSessionName: aws.String("test"), ExternalId: aws.String(tc.ext)})
			if got := apiCode(err); got != tc.wantCode {
				t.Fatalf("AssumeRole error code = %q (%v), want %q", got, err, tc.wantCode)
			}
		})
	}
}

// TestAssumedRoleSeesOnlyItsAccount: credentials from AssumeRole act in the
// member account, through the SDK's own stscreds provider.
func TestAssumedRoleSeesOnlyItsAccount(t *testing.T) {
	t.Parallel()
	_, url := sim(t, testWorld(t), Options{})
	base := cfg(url, mgmt, "us-east-1")
	assumed := base.Copy()
	assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), "arn:aws:iam::"+member+":role/dpsweep-readonly",
		func(o *stscreds.AssumeRoleOptions) { o.ExternalID = aws.String("ext-123") }))
	id, err := sts.NewFromConfig(assumed).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != member || !strings.Contains(aws.ToString(id.Arn), ":assumed-role/dpsweep-readonly/") {
		t.Fatalf("identity = %s %s", aws.ToString(id.Account), aws.ToString(id.Arn))
	}
	users, err := iam.NewFromConfig(assumed).ListUsers(ctx(t), &iam.ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(users.Users) != 3 {
		t.Fatalf("member account has 3 users, ListUsers saw %d", len(users.Users))
	}
	mine, err := iam.NewFromConfig(base).ListUsers(ctx(t), &iam.ListUsersInput{})
	if err != nil || len(mine.Users) != 0 {
		t.Fatalf("management account's own users = %v, %v; want none", mine, err)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	now := t0
	clock := func() time.Time { return now }
	_, url := sim(t, testWorld(t), Options{Now: clock})
	base := cfg(url, mgmt, "us-east-1")
	out, err := sts.NewFromConfig(base).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + optin + ":role/dpsweep-readonly"), RoleSessionName: aws.String("s"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	session := base.Copy()
	session.Credentials = aws.CredentialsProviderFunc(func(ctx2 context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}, nil
	})
	if _, err := sts.NewFromConfig(session).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	now = now.Add(16 * time.Minute)
	if _, err := sts.NewFromConfig(session).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{}); apiCode(err) != "ExpiredToken" {
		t.Fatalf("expired session: %v; want ExpiredToken", err)
	}
}

func TestSignatureIsVerified(t *testing.T) {
	t.Parallel()
	_, url := sim(t, testWorld(t), Options{})
	bad := cfg(url, mgmt, "us-east-1")
	ak, _ := RootCredentials(mgmt)
	bad.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: ak, SecretAccessKey: "wrong"}, nil
	})
	if _, err := sts.NewFromConfig(bad).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{}); apiCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v; want SignatureDoesNotMatch", err)
	}
	unknown := cfg(url, "999999999999", "us-east-1")
	if _, err := sts.NewFromConfig(unknown).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Fatalf("unknown key: %v; want InvalidClientTokenId", err)
	}
}

func TestIAM(t *testing.T) {
	t.Parallel()
	_, url := sim(t, testWorld(t), Options{Faults: Faults{PageSize: 2}})
	c := iam.NewFromConfig(cfg(url, member, "us-east-1"))
	sum, err := c.GetAccountSummary(ctx(t), &iam.GetAccountSummaryInput{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.SummaryMap["AccountMFAEnabled"] != 0 || sum.SummaryMap["AccountAccessKeysPresent"] != 1 || sum.SummaryMap["Users"] != 3 {
		t.Fatalf("summary = %v", sum.SummaryMap)
	}
	// Pages of two: the paginator must follow the marker.
	var names []string
	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range out.Users {
			names = append(names, aws.ToString(u.UserName))
		}
	}
	if strings.Join(names, ",") != "alice,bob,carol" || pages != 2 {
		t.Fatalf("users %v in %d pages", names, pages)
	}
	att, err := c.ListAttachedUserPolicies(ctx(t), &iam.ListAttachedUserPoliciesInput{UserName: aws.String("bob")})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyName) != "AdministratorAccess" {
		t.Fatalf("attached = %v, %v", att, err)
	}
	inl, err := c.GetUserPolicy(ctx(t), &iam.GetUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("all")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := neturl.QueryUnescape(aws.ToString(inl.PolicyDocument)); !strings.Contains(doc, `"Action":"*"`) {
		t.Fatalf("policy document = %q", aws.ToString(inl.PolicyDocument))
	}
	if _, err := c.GetCredentialReport(ctx(t), &iam.GetCredentialReportInput{}); apiCode(err) != "ReportNotPresent" {
		t.Fatalf("report before generation: %v", err)
	}
	gen, err := c.GenerateCredentialReport(ctx(t), &iam.GenerateCredentialReportInput{})
	if err != nil || gen.State != "STARTED" {
		t.Fatalf("generate = %v, %v", gen, err)
	}
	rep, err := c.GetCredentialReport(ctx(t), &iam.GetCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	csv := string(rep.Content)
	if !strings.HasPrefix(csv, "user,arn,") || !strings.Contains(csv, "<root_account>") || !strings.Contains(csv, "\nbob,") {
		t.Fatalf("credential report:\n%s", csv)
	}
	pp, err := c.GetAccountPasswordPolicy(ctx(t), &iam.GetAccountPasswordPolicyInput{})
	if err != nil || aws.ToInt32(pp.PasswordPolicy.MinimumPasswordLength) != 14 {
		t.Fatalf("password policy = %v, %v", pp, err)
	}
	if _, err := iam.NewFromConfig(cfg(url, optin, "us-east-1")).GetAccountPasswordPolicy(ctx(t), &iam.GetAccountPasswordPolicyInput{}); apiCode(err) != "NoSuchEntity" {
		t.Fatalf("missing password policy: %v", err)
	}
	if _, err := c.GetLoginProfile(ctx(t), &iam.GetLoginProfileInput{UserName: aws.String("carol")}); apiCode(err) != "NoSuchEntity" {
		t.Fatalf("carol has no console password: %v", err)
	}
	keys, err := c.ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{UserName: aws.String("bob")})
	if err != nil || len(keys.AccessKeyMetadata) != 1 || aws.ToString(keys.AccessKeyMetadata[0].AccessKeyId) != "AKIABOBKEY0000000001" || keys.AccessKeyMetadata[0].Status != "Active" {
		t.Fatalf("access keys = %v, %v", keys, err)
	}
	mfa, err := c.ListMFADevices(ctx(t), &iam.ListMFADevicesInput{UserName: aws.String("alice")})
	if err != nil || len(mfa.MFADevices) != 1 {
		t.Fatalf("alice's MFA devices = %v, %v", mfa, err)
	}
	if mfa, err := c.ListMFADevices(ctx(t), &iam.ListMFADevicesInput{UserName: aws.String("bob")}); err != nil || len(mfa.MFADevices) != 0 {
		t.Fatalf("bob's MFA devices = %v, %v; want none", mfa, err)
	}
	gr, err := c.GetRole(ctx(t), &iam.GetRoleInput{RoleName: aws.String("dpsweep-readonly")})
	if err != nil || aws.ToString(gr.Role.Arn) != "arn:aws:iam::"+member+":role/dpsweep-readonly" {
		t.Fatalf("GetRole = %v, %v", gr, err)
	}
	if _, err := c.GetRole(ctx(t), &iam.GetRoleInput{RoleName: aws.String("nope")}); apiCode(err) != "NoSuchEntity" {
		t.Fatalf("missing role: %v", err)
	}
	role, err := c.ListAttachedRolePolicies(ctx(t), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("AdminLaunch")})
	if err != nil || len(role.AttachedPolicies) != 1 {
		t.Fatalf("role policies = %v, %v", role, err)
	}
}
