package server

import (
	"math"
	"math/rand/v2"
	"path"
	"time"
)

// Faults are the failures and delays the simulator injects.
type Faults struct {
	// Latency of every call, unless Operations overrides it.
	Latency Latency `json:"latency"`
	// OperationLatency overrides Latency per "service:Operation".
	OperationLatency map[string]Latency `json:"operation_latency,omitempty"`
	// ThrottleRate is the share of calls (0..1) answered with the
	// protocol's throttling error.
	ThrottleRate float64 `json:"throttle_rate,omitempty"`
	// ServerErrorRate is the share of calls answered with a 5xx.
	ServerErrorRate float64 `json:"server_error_rate,omitempty"`
	// Deny lists rules that answer AccessDenied.
	Deny []DenyRule `json:"deny,omitempty"`
	// PageSize, when positive, caps every page so pagination is exercised.
	PageSize int `json:"page_size,omitempty"`
}

// Latency is a log-normal delay given by its median and 99th percentile.
type Latency struct {
	Median time.Duration `json:"median,omitempty"`
	P99    time.Duration `json:"p99,omitempty"`
}

// sample draws a delay.
func (l Latency) sample() time.Duration {
	if l.Median <= 0 {
		return 0
	}
	if l.P99 <= l.Median {
		return l.Median
	}
	sigma := (math.Log(float64(l.P99)) - math.Log(float64(l.Median))) / 2.326
	return time.Duration(math.Exp(math.Log(float64(l.Median)) + sigma*rand.NormFloat64()))
}

// DenyRule answers AccessDenied for matching calls. Empty fields match
// everything; Operation is a glob over "service:Operation" (e.g. "s3:GetBucket*").
type DenyRule struct {
	Account   string `json:"account,omitempty"`
	Operation string `json:"operation,omitempty"`
	Region    string `json:"region,omitempty"`
}

func (d DenyRule) matches(c *Call) bool {
	if d.Account != "" && d.Account != c.P.AccountID {
		return false
	}
	if d.Region != "" && d.Region != c.Region {
		return false
	}
	if d.Operation != "" {
		if ok, _ := path.Match(d.Operation, c.Service+":"+c.Operation); !ok {
			return false
		}
	}
	return true
}

// injectFaults sleeps and may fail the call.
func (s *Server) injectFaults(c *Call) error {
	f := s.faults.Load()
	l := f.Latency
	if ol, ok := f.OperationLatency[c.Service+":"+c.Operation]; ok {
		l = ol
	}
	if d := l.sample(); d > 0 {
		select {
		case <-time.After(d):
		case <-c.R.Context().Done():
			return &APIError{Code: "RequestCanceled", Message: "client went away", Status: 499}
		}
	}
	for _, d := range f.Deny {
		if d.matches(c) {
			s.denied.Add(1)
			return accessDenied(c)
		}
	}
	if f.ThrottleRate > 0 && rand.Float64() < f.ThrottleRate {
		s.throttled.Add(1)
		return throttled(c)
	}
	if f.ServerErrorRate > 0 && rand.Float64() < f.ServerErrorRate {
		s.serverErrors.Add(1)
		code := "InternalFailure"
		if c.proto == protoRESTXML || c.proto == protoEC2 {
			code = "InternalError"
		}
		return &APIError{Code: code, Message: "We encountered an internal error. Please try again.", Status: 500}
	}
	return nil
}

// accessDenied is the protocol's AccessDenied error.
func accessDenied(c *Call) *APIError {
	msg := "User: " + c.P.ARN + " is not authorized to perform: " + c.Service + ":" + c.Operation
	switch c.proto {
	case protoQuery, protoRESTXML:
		return &APIError{Code: "AccessDenied", Message: msg, Status: 403}
	case protoEC2:
		return &APIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation.", Status: 403}
	case protoRESTJSON:
		return &APIError{Code: "AccessDeniedException", Message: msg, Status: 403}
	}
	return &APIError{Code: "AccessDeniedException", Message: msg, Status: 400}
}

// throttled is the protocol's throttling error.
func throttled(c *Call) *APIError {
	switch {
	case c.proto == protoQuery:
		return &APIError{Code: "Throttling", Message: "Rate exceeded", Status: 400}
	case c.proto == protoEC2:
		return &APIError{Code: "RequestLimitExceeded", Message: "Request limit exceeded.", Status: 503}
	case c.proto == protoRESTXML:
		return &APIError{Code: "SlowDown", Message: "Please reduce your request rate.", Status: 503}
	case c.Service == "organizations":
		return &APIError{Code: "TooManyRequestsException", Message: "AWS Organizations can't complete your request because another request is already in progress.", Status: 400}
	case c.proto == protoRESTJSON:
		return &APIError{Code: "TooManyRequestsException", Message: "Rate exceeded", Status: 429}
	}
	return &APIError{Code: "ThrottlingException", Message: "Rate exceeded", Status: 400}
}
