package server

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	accounttypes "github.com/aws/aws-sdk-go-v2/service/account/types"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// accountWorld: two opt-in regions; the opt-in account has enabled one.
func accountWorld(t testing.TB) *world.World {
	t.Helper()
	w := &world.World{
		OrganizationID: "o-abcdefghij", ManagementAccount: mgmt, RootID: "r-ab12",
		Regions: []world.RegionInfo{{Name: "us-east-1"}, {Name: "eu-west-1"}, {Name: "ap-east-1", OptIn: true}, {Name: "me-south-1", OptIn: true}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0},
			{ID: member, Name: "prod", Email: "aws-prod@example.com", Created: t0},
			{ID: optin, Name: "asia", Email: "aws-asia@example.com", EnabledOptInRegions: []string{"ap-east-1"}, Created: t0},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestAccountRegions(t *testing.T) {
	t.Parallel()
	_, url := sim(t, accountWorld(t), Options{Faults: Faults{PageSize: 1}})
	list := func(c *account.Client, in *account.ListRegionsInput) (map[string]accounttypes.RegionOptStatus, int) {
		t.Helper()
		got := map[string]accounttypes.RegionOptStatus{}
		pages := 0
		p := account.NewListRegionsPaginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, r := range out.Regions {
				got[aws.ToString(r.RegionName)] = r.RegionOptStatus
			}
		}
		return got, pages
	}
	// The Account service is global: any signing region works, even a disabled one.
	c := account.NewFromConfig(cfg(url, optin, "me-south-1"))
	got, pages := list(c, &account.ListRegionsInput{})
	if pages != 4 || len(got) != 4 || got["us-east-1"] != accounttypes.RegionOptStatusEnabledByDefault ||
		got["ap-east-1"] != accounttypes.RegionOptStatusEnabled || got["me-south-1"] != accounttypes.RegionOptStatusDisabled {
		t.Fatalf("regions = %v in %d pages", got, pages)
	}
	got, _ = list(c, &account.ListRegionsInput{RegionOptStatusContains: []accounttypes.RegionOptStatus{accounttypes.RegionOptStatusEnabled, accounttypes.RegionOptStatusDisabled}})
	if len(got) != 2 || got["ap-east-1"] != accounttypes.RegionOptStatusEnabled || got["me-south-1"] != accounttypes.RegionOptStatusDisabled {
		t.Fatalf("opt-in regions = %v", got)
	}
	st, err := c.GetRegionOptStatus(ctx(t), &account.GetRegionOptStatusInput{RegionName: aws.String("ap-east-1")})
	if err != nil || st.RegionOptStatus != accounttypes.RegionOptStatusEnabled || aws.ToString(st.RegionName) != "ap-east-1" {
		t.Fatalf("GetRegionOptStatus(ap-east-1) = %+v, %v", st, err)
	}
	st, err = account.NewFromConfig(cfg(url, member, "us-east-1")).GetRegionOptStatus(ctx(t), &account.GetRegionOptStatusInput{RegionName: aws.String("ap-east-1")})
	if err != nil || st.RegionOptStatus != accounttypes.RegionOptStatusDisabled {
		t.Fatalf("member GetRegionOptStatus(ap-east-1) = %+v, %v", st, err)
	}
	// The management account may ask about a member.
	m := account.NewFromConfig(cfg(url, mgmt, "us-east-1"))
	st, err = m.GetRegionOptStatus(ctx(t), &account.GetRegionOptStatusInput{AccountId: aws.String(optin), RegionName: aws.String("ap-east-1")})
	if err != nil || st.RegionOptStatus != accounttypes.RegionOptStatusEnabled {
		t.Fatalf("management asking about a member = %+v, %v", st, err)
	}
	got, _ = list(m, &account.ListRegionsInput{AccountId: aws.String(optin)})
	if got["ap-east-1"] != accounttypes.RegionOptStatusEnabled {
		t.Fatalf("management listing a member's regions = %v", got)
	}
	// A member may not.
	if _, err := account.NewFromConfig(cfg(url, member, "us-east-1")).GetRegionOptStatus(ctx(t), &account.GetRegionOptStatusInput{AccountId: aws.String(optin), RegionName: aws.String("ap-east-1")}); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("member asking about another account: %v", err)
	}
	if _, err := c.GetRegionOptStatus(ctx(t), &account.GetRegionOptStatusInput{RegionName: aws.String("xx-nowhere-1")}); apiCode(err) != "ValidationException" {
		t.Fatalf("unknown region: %v", err)
	}
}
