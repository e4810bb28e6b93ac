package tests

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/world"
)

// awsCLIv2 is Debian's AWS CLI v2 (package awscli, installed by .ci/run). A
// different aws, often CLI v1, may come first on PATH, so the path is fixed.
const awsCLIv2 = "/usr/bin/aws"

// TestAWSCLIAgainstSimulator runs the AWS CLI v2, unmodified, against the
// simulator for a representative subset of services and checks its answers
// against the simulated world.
func TestAWSCLIAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI; skipped with -short")
	}
	out, err := exec.Command(awsCLIv2, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "aws-cli/2.") {
		t.Skipf("AWS CLI v2 not found at %s (install Debian's awscli package; .ci/run does): %v %s", awsCLIv2, err, out)
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = 4, 11
	sim, err := awssim.Start(ctx, awssim.Config{Gen: o})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ak, sk := sim.Credentials()
	env := append(os.Environ(), "AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_ACCESS_KEY_ID="+ak, "AWS_SECRET_ACCESS_KEY="+sk, "AWS_SESSION_TOKEN=", "AWS_PAGER=", "AWS_DEFAULT_REGION=us-east-1")
	aws := func(t *testing.T, extraEnv []string, args ...string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(ctx, awsCLIv2, append([]string{"--endpoint-url", sim.URL, "--output", "json"}, args...)...)
		cmd.Env = append(append([]string{}, env...), extraEnv...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("aws %s: not JSON: %v\n%s", strings.Join(args, " "), err, b)
		}
		return v
	}
	w := sim.World
	mgmt, _ := w.Account(w.ManagementAccount)
	member, _ := w.Account(w.Accounts[1].ID)

	t.Run("sts get-caller-identity", func(t *testing.T) {
		if got := aws(t, nil, "sts", "get-caller-identity")["Account"]; got != w.ManagementAccount {
			t.Fatalf("Account = %v, want %s", got, w.ManagementAccount)
		}
	})
	t.Run("organizations list-accounts", func(t *testing.T) {
		accts := aws(t, nil, "organizations", "list-accounts")["Accounts"].([]any)
		if len(accts) != len(w.Accounts) {
			t.Fatalf("%d accounts, want %d", len(accts), len(w.Accounts))
		}
	})
	t.Run("iam list-users", func(t *testing.T) {
		users := aws(t, nil, "iam", "list-users")["Users"].([]any)
		if len(users) != len(mgmt.IAM.Users) {
			t.Fatalf("%d users, want %d", len(users), len(mgmt.IAM.Users))
		}
	})
	t.Run("s3api list-buckets and get-bucket-location", func(t *testing.T) {
		buckets := aws(t, nil, "s3api", "list-buckets")["Buckets"].([]any)
		if len(buckets) != len(mgmt.Buckets) {
			t.Fatalf("%d buckets, want %d", len(buckets), len(mgmt.Buckets))
		}
		b := mgmt.Buckets[0]
		loc := aws(t, nil, "s3api", "get-bucket-location", "--bucket", b.Name)["LocationConstraint"]
		want := any(b.Region)
		if b.Region == "us-east-1" {
			want = nil
		}
		if loc != want {
			t.Fatalf("LocationConstraint = %v, want %v", loc, want)
		}
	})
	t.Run("servicecatalog list-portfolios", func(t *testing.T) {
		for region, reg := range mgmt.Regional {
			if len(reg.Portfolios) == 0 {
				continue
			}
			ps := aws(t, nil, "servicecatalog", "list-portfolios", "--region", region)["PortfolioDetails"].([]any)
			if len(ps) != len(reg.Portfolios) || ps[0].(map[string]any)["DisplayName"] != reg.Portfolios[0].DisplayName {
				t.Fatalf("%s: portfolios %v, want %d starting with %q", region, ps, len(reg.Portfolios), reg.Portfolios[0].DisplayName)
			}
			return
		}
		t.Fatal("the management account has no portfolio in any region")
	})
	t.Run("sts assume-role into a member account", func(t *testing.T) {
		c := aws(t, nil, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+member.ID+":role/"+o.RoleName, "--role-session-name", "cli")["Credentials"].(map[string]any)
		session := []string{"AWS_ACCESS_KEY_ID=" + c["AccessKeyId"].(string), "AWS_SECRET_ACCESS_KEY=" + c["SecretAccessKey"].(string), "AWS_SESSION_TOKEN=" + c["SessionToken"].(string)}
		if got := aws(t, session, "sts", "get-caller-identity")["Account"]; got != member.ID {
			t.Fatalf("assumed identity account = %v, want %s", got, member.ID)
		}
		users := aws(t, session, "iam", "list-users")["Users"].([]any)
		if len(users) != len(member.IAM.Users) {
			t.Fatalf("member sees %d users, want %d", len(users), len(member.IAM.Users))
		}
	})
}
