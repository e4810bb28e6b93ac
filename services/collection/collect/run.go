package collect

import (
	"context"
	"fmt"
	"sync"
	"time"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

// Request is one inventory to read.
type Request struct {
	Target Target
	// Region to read for SCOPE_REGIONAL; global services use Home.
	Region string
	Scope  Scope
	// Collectors to run by name; every collector of the scope when empty.
	Collectors []string
	// LookupWindow for CloudTrail LookupEvents; DefaultLookupWindow when zero.
	LookupWindow time.Duration
	// Parallel collectors at once; 4 when zero.
	Parallel int
	// OmitAccountTags leaves each account's tags out of
	// organizations.accounts (one ListTagsForResource call per account).
	OmitAccountTags bool
}

// Home is the region global services are read through.
const Home = "us-east-1"

// Select resolves the collectors a request names, checking names and scope.
func Select(scope Scope, names []string) ([]*Collector, error) {
	var out []*Collector
	if len(names) == 0 {
		for _, c := range Collectors() {
			if c.Scope == scope && !c.OnRequest {
				out = append(out, c)
			}
		}
		return out, nil
	}
	byName := map[string]*Collector{}
	for _, c := range registry {
		byName[c.Name] = c
	}
	for _, n := range names {
		c, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("unknown collector %q; ListCollectors lists them", n)
		}
		if c.Scope != scope {
			return nil, fmt.Errorf("collector %q reads scope %s, not %s", n, c.Scope, scope)
		}
		out = append(out, c)
	}
	return out, nil
}

// Run reads an inventory into sink and returns the call counts. Collector
// failures are reported to the sink; Run fails only when ctx ends or the
// sink refuses a resource (the client went away).
func Run(ctx context.Context, s *Sessions, req Request, sink Sink) (*Stats, error) {
	cols, err := Select(req.Scope, req.Collectors)
	if err != nil {
		return nil, err
	}
	region := req.Region
	if req.Scope == collectionv1.Scope_SCOPE_GLOBAL || region == "" {
		region = Home
	}
	stats := &Stats{}
	clients := s.Clients(req.Target, region, stats)
	// Get into the account once: a role that cannot be assumed is one
	// error for the whole inventory, not one per collector.
	if _, err := clients.cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return stats, ctx.Err()
		}
		var types []string
		for _, c := range cols {
			types = append(types, c.Types...)
		}
		_, code := Classify(err)
		sink.Error(&collectionv1.CollectionError{Collector: "sts.assume_role", Action: "sts:AssumeRole",
			Reason: collectionv1.ErrorReason_ERROR_REASON_ASSUME_ROLE_FAILED, ErrorCode: code,
			Message: "could not assume role " + req.Target.RoleName + " in account " + req.Target.Account + ": " + code, ResourceTypes: types, Region: req.Region})
		return stats, nil
	}
	shared := &sync.Map{}
	if req.LookupWindow > 0 {
		shared.Store("cloudtrail.window", req.LookupWindow)
	}
	if req.OmitAccountTags {
		shared.Store("organizations.omit_tags", true)
	}
	par := req.Parallel
	if par <= 0 {
		par = 4
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for _, c := range cols {
		e := &Env{Account: req.Target.Account, Region: region, Partition: partitionOf(region), Clients: clients, Sink: sink, collector: c, shared: shared}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.Run(ctx, e); err != nil {
				once.Do(func() { firstErr = err; cancel(err) })
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	return stats, firstErr
}
