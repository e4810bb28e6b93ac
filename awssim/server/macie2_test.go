package server

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/macie2"
	macietypes "github.com/aws/aws-sdk-go-v2/service/macie2/types"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// macieWorld: Macie is on for the member in eu-west-1 only, and on for the
// opt-in account in its opt-in region.
func macieWorld(t testing.TB) *world.World {
	t.Helper()
	w := &world.World{
		OrganizationID: "o-abcdefghij", ManagementAccount: mgmt, RootID: "r-ab12",
		Regions: []world.RegionInfo{{Name: "us-east-1"}, {Name: "eu-west-1"}, {Name: "ap-east-1", OptIn: true}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0},
			{ID: member, Name: "prod", Email: "aws-prod@example.com", Created: t0,
				Regional: map[string]*world.Regional{"eu-west-1": {Macie: true}}},
			{ID: optin, Name: "asia", Email: "aws-asia@example.com", EnabledOptInRegions: []string{"ap-east-1"}, Created: t0,
				Regional: map[string]*world.Regional{"ap-east-1": {Macie: true}}},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestMacie(t *testing.T) {
	t.Parallel()
	_, url := sim(t, macieWorld(t), Options{})
	s, err := macie2.NewFromConfig(cfg(url, member, "eu-west-1")).GetMacieSession(ctx(t), &macie2.GetMacieSessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != macietypes.MacieStatusEnabled || !aws.ToTime(s.CreatedAt).Equal(t0) || !aws.ToTime(s.UpdatedAt).Equal(t0) ||
		s.FindingPublishingFrequency != macietypes.FindingPublishingFrequencyFifteenMinutes ||
		aws.ToString(s.ServiceRole) != "arn:aws:iam::222222222222:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie" {
		t.Fatalf("session = %+v", s)
	}
	if _, err := macie2.NewFromConfig(cfg(url, optin, "ap-east-1")).GetMacieSession(ctx(t), &macie2.GetMacieSessionInput{}); err != nil {
		t.Fatalf("enabled opt-in region: %v", err)
	}
	// Off: AccessDeniedException, as AWS answers.
	_, err = macie2.NewFromConfig(cfg(url, member, "us-east-1")).GetMacieSession(ctx(t), &macie2.GetMacieSessionInput{})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "Macie is not enabled") {
		t.Fatalf("Macie off: %v", err)
	}
	if _, err := macie2.NewFromConfig(cfg(url, member, "ap-east-1")).GetMacieSession(ctx(t), &macie2.GetMacieSessionInput{}); apiCode(err) != "OptInRequired" {
		t.Fatalf("disabled region: %v", err)
	}
}
