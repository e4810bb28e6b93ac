package world

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func genOpts(accounts int) GenOptions {
	o := DefaultGenOptions()
	o.Accounts = accounts
	o.Now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return o
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	a, err := Generate(genOpts(6))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(genOpts(6))
	o := genOpts(6)
	o.Seed = 2
	c, _ := Generate(o)
	ya, _ := a.World.Marshal()
	yb, _ := b.World.Marshal()
	yc, _ := c.World.Marshal()
	if !bytes.Equal(ya, yb) {
		t.Fatal("same seed, different worlds")
	}
	if bytes.Equal(ya, yc) {
		t.Fatal("different seeds, same world")
	}
	if len(a.Expectations()) != len(b.Expectations()) {
		t.Fatal("same seed, different expectations")
	}
}

// TestGeneratedWorldRoundTrips: a generated world written as YAML loads back
// as the same world.
func TestGeneratedWorldRoundTrips(t *testing.T) {
	t.Parallel()
	g, err := Generate(genOpts(5))
	if err != nil {
		t.Fatal(err)
	}
	y, err := g.World.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	w, err := Parse(y)
	if err != nil {
		t.Fatalf("Parse(generated) = %v", err)
	}
	y2, _ := w.Marshal()
	if !bytes.Equal(y, y2) {
		t.Fatal("generated world changed on a YAML round trip")
	}
}

// TestExpectationsCoverTheCatalogue: a 60-account world expects every
// control, both passing and failing, and planted fields name their entities.
func TestExpectationsCoverTheCatalogue(t *testing.T) {
	t.Parallel()
	g, err := Generate(genOpts(60))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]map[string]int{}
	for _, e := range g.Expectations() {
		if status[e.Control] == nil {
			status[e.Control] = map[string]int{}
		}
		status[e.Control][e.Status]++
		if e.Status == "FAIL" && strings.HasPrefix(e.Control, "DPS-FFT") && (e.FieldPath == "" || len(e.Entities) == 0) {
			t.Errorf("free-form FAIL without field or entities: %+v", e)
		}
		if e.Status == "PASS" && e.FieldPath != "" {
			t.Errorf("PASS with a field path: %+v", e)
		}
	}
	for _, c := range Controls {
		if status[c.ID]["PASS"] == 0 || status[c.ID]["FAIL"] == 0 {
			t.Errorf("%s: %d PASS, %d FAIL expected; want both", c.ID, status[c.ID]["PASS"], status[c.ID]["FAIL"])
		}
	}
}

func TestMissingRoleAccountsExpectNothing(t *testing.T) {
	t.Parallel()
	o := genOpts(4)
	o.MissingRole = []int{3}
	g, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	missing := g.World.Accounts[2]
	if _, ok := missing.Role(o.RoleName); ok {
		t.Fatal("account 3 has the scanner role")
	}
	for _, e := range g.Expectations() {
		if e.Account == missing.ID {
			t.Fatalf("expectation for the account without a role: %+v", e)
		}
	}
}

func TestParseErrorsNameTheProblem(t *testing.T) {
	t.Parallel()
	base := "organization_id: o-abcdefghij\nroot_id: r-ab12\nmanagement_account: \"111111111111\"\nregions: [{name: us-east-1}]\n"
	tests := map[string]struct {
		spec, want string
	}{
		"bad account ID":        {base + "accounts: [{id: \"12345\", name: a, email: a@x.io}]\n", "accounts[0].id"},
		"unknown field":         {base + "accounts: [{id: \"111111111111\", name: a, email: a@x.io, colour: red}]\n", "field colour not found"},
		"region not declared":   {base + "accounts: [{id: \"111111111111\", name: a, email: a@x.io, buckets: [{name: b, region: eu-west-1}]}]\n", "accounts[0].buckets[0].region"},
		"management not listed": {base + "accounts: [{id: \"222222222222\", name: a, email: a@x.io}]\n", "management_account"},
		"not YAML":              {"accounts: [", "yaml"},
		"empty":                 {"", "empty world spec"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.spec))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := Parse([]byte(base + "accounts: [{id: \"111111111111\", name: a, email: a@x.io}]\n")); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
}

// BenchmarkGenerate10k generates a 10,000-account organization and fills
// every account: time and memory per world.
func BenchmarkGenerate10k(b *testing.B) {
	for b.Loop() {
		g, err := Generate(genOpts(10000))
		if err != nil {
			b.Fatal(err)
		}
		if n := len(g.Expectations()); n == 0 {
			b.Fatal("no expectations")
		}
	}
}
