package server

import (
	"encoding/json"
	"net/http"
	"sort"
)

// admin serves the simulator's own unsigned endpoints on the same port:
//
//	GET  /_sim/faults          the current faults (JSON)
//	PUT  /_sim/faults          replace them
//	GET  /_sim/faults/injected calls answered with an injected fault, by kind
//	GET  /_sim/counters        calls per service, operation, account and region
//	POST /_sim/counters/reset  zero the counters
//	GET  /_sim/credentials?account=ID   that account's root credentials
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(s.Faults())
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodPut:
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, `{"error":"faults: `+err.Error()+`"}`, http.StatusBadRequest)
			return
		}
		s.SetFaults(f)
		_ = json.NewEncoder(w).Encode(f)
	case r.URL.Path == "/_sim/faults/injected" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(s.Injected())
	case r.URL.Path == "/_sim/counters" && r.Method == http.MethodGet:
		type row struct {
			Service, Operation, Account, Region string
			Calls                               int64
		}
		var rows []row
		for k, v := range s.Counts() {
			rows = append(rows, row{k.Service, k.Operation, k.Account, k.Region, v})
		}
		sort.Slice(rows, func(i, j int) bool {
			a, b := rows[i], rows[j]
			if a.Service != b.Service {
				return a.Service < b.Service
			}
			if a.Operation != b.Operation {
				return a.Operation < b.Operation
			}
			if a.Account != b.Account {
				return a.Account < b.Account
			}
			return a.Region < b.Region
		})
		_ = json.NewEncoder(w).Encode(rows)
	case r.URL.Path == "/_sim/counters/reset" && r.Method == http.MethodPost: // and the injected faults
		s.ResetCounts()
		_, _ = w.Write([]byte("{}\n"))
	case r.URL.Path == "/_sim/credentials" && r.Method == http.MethodGet:
		id := r.URL.Query().Get("account")
		if id == "" {
			id = s.w.ManagementAccount
		}
		if !s.w.InOrg(id) {
			http.Error(w, `{"error":"unknown account"}`, http.StatusNotFound)
			return
		}
		ak, sk := RootCredentials(id)
		_ = json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": ak, "SecretAccessKey": sk, "Account": id})
	default:
		http.Error(w, `{"error":"unknown simulator endpoint"}`, http.StatusNotFound)
	}
}
