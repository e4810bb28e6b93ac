package sweep

import "testing"

func TestWorkflowIDs(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		got, want string
	}{
		"sweep":      {got: SweepWorkflowID("2026-11-24-a"), want: "sweep/2026-11-24-a"},
		"account":    {got: AccountSweepWorkflowID("2026-11-24-a", "111122223333"), want: "sweep/2026-11-24-a/account/111122223333"},
		"scheduled":  {got: SweepIDFromWorkflowID("sweep/nightly-2026-11-24T03:00:00Z"), want: "nightly-2026-11-24T03-00-00Z"},
		"round trip": {got: SweepIDFromWorkflowID(SweepWorkflowID("s1")), want: "s1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
