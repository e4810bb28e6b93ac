package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// adminCall sends an unsigned request to one of the simulator's own
// endpoints and returns the status and body.
func adminCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// The admin endpoints, over HTTP as scripts and other-language tests use
// them: faults set and read back, calls and injected faults counted and
// reset, root credentials, and clear errors for bad input.
func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	s, url := sim(t, testWorld(t), Options{})

	if code, body := adminCall(t, http.MethodPut, url+"/_sim/faults", `{"throttle_rate": 1}`); code != http.StatusOK || s.Faults().ThrottleRate != 1 {
		t.Fatalf("PUT faults: %d %s; faults now %+v", code, body, s.Faults())
	}
	if code, body := adminCall(t, http.MethodGet, url+"/_sim/faults", ""); code != http.StatusOK || !strings.Contains(body, `"throttle_rate":1`) {
		t.Errorf("GET faults: %d %s", code, body)
	}
	if code, body := adminCall(t, http.MethodPut, url+"/_sim/faults", `{"throttle_rate": "often"}`); code != http.StatusBadRequest || !strings.Contains(body, "faults:") {
		t.Errorf("PUT bad faults: %d %s; want 400 naming the faults", code, body)
	}
	if s.Faults().ThrottleRate != 1 {
		t.Errorf("a refused PUT changed the faults: %+v", s.Faults())
	}

	// Two throttled calls: counted as calls and as injected faults.
	for range 2 {
		if _, err := iam.NewFromConfig(cfg(url, member, "us-east-1")).ListUsers(ctx(t), &iam.ListUsersInput{}); apiCode(err) != "Throttling" {
			t.Fatalf("ListUsers under 100%% throttling: %v", err)
		}
	}
	code, body := adminCall(t, http.MethodGet, url+"/_sim/faults/injected", "")
	var inj InjectedFaults
	if code != http.StatusOK || json.Unmarshal([]byte(body), &inj) != nil || inj.Throttled < 2 || inj.ServerErrors != 0 || inj.Denied != 0 {
		t.Errorf("GET injected: %d %s", code, body)
	}
	code, body = adminCall(t, http.MethodGet, url+"/_sim/counters", "")
	var rows []struct {
		Service, Operation, Account string
		Calls                       int64
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &rows) != nil {
		t.Fatalf("GET counters: %d %s", code, body)
	}
	var listUsers int64
	for _, r := range rows {
		if r.Service == "iam" && r.Operation == "ListUsers" && r.Account == member {
			listUsers += r.Calls
		}
	}
	if listUsers != inj.Throttled {
		t.Errorf("counters: %d ListUsers calls, %d throttled; want every call counted", listUsers, inj.Throttled)
	}
	if code, _ := adminCall(t, http.MethodPost, url+"/_sim/counters/reset", ""); code != http.StatusOK || len(s.Counts()) != 0 || s.Injected() != (InjectedFaults{}) {
		t.Errorf("reset: %d; counts %v, injected %+v", code, s.Counts(), s.Injected())
	}

	code, body = adminCall(t, http.MethodGet, url+"/_sim/credentials?account="+member, "")
	ak, sk := RootCredentials(member)
	if code != http.StatusOK || !strings.Contains(body, ak) || !strings.Contains(body, sk) {
		t.Errorf("credentials: %d %s", code, body)
	}
	if code, body := adminCall(t, http.MethodGet, url+"/_sim/credentials?account=999999999999", ""); code != http.StatusNotFound || !strings.Contains(body, "unknown account") {
		t.Errorf("credentials of an account outside the organization: %d %s", code, body)
	}
	if code, body := adminCall(t, http.MethodGet, url+"/_sim/nothing", ""); code != http.StatusNotFound || !strings.Contains(body, "unknown simulator endpoint") {
		t.Errorf("unknown endpoint: %d %s", code, body)
	}
}
