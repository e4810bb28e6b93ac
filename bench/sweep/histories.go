package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	wf "github.com/dpsweep/dpsweep/workflows/sweep"
)

// histories are what a sweep left in Temporal: each SweepWorkflow run
// (continue-as-new) and each AccountSweep child, read back event by event.
type histories struct {
	runs            int
	runEvents       []int // per run of SweepWorkflow, oldest first
	maxRunEvents    int
	children        int
	maxChildEvents  int
	activities      int // ActivityTaskScheduled, in the runs and the children
	activityRetries int // attempts beyond the first
	childrenStarted int // StartChildWorkflowExecutionInitiated in the runs
	// lengthMismatch counts workflows whose DescribeWorkflowExecution
	// HistoryLength differs from the events read.
	lengthMismatch int
	// queued is each activity's wait between being scheduled and being
	// picked up by the worker (ScheduleToStart), in the children.
	queued []time.Duration
	// Per child: its whole life, from its start to DescribeAccount's end,
	// from then to its last scan's end, and from then to its own end.
	life, describe, scans, tail []time.Duration
	// In the runs: the first run's start to its first child (discovery),
	// the last child's end to the last run's end (finishing and reports),
	// and each child's start as the parent saw it (initiated to started).
	discover, finish time.Duration
	childStart       []time.Duration
	// busy is the children's lives added up, over the span from the first
	// child's start to the last one's end: the accounts at once on average.
	busy float64
	// spans are the children's (start, end), for the concurrency timeline.
	spans [][2]time.Time
}

type historyCount struct {
	events, activities, retries, children int
	previousRun                           string
	queued                                []time.Duration
	first, last, describeDone, lastDone   time.Time
	// runs only: first child initiated, last child closed, child start latencies
	firstChild, lastChildDone time.Time
	childStart                []time.Duration
}

func countHistory(ctx context.Context, c client.Client, workflowID, runID string) (historyCount, error) {
	var h historyCount
	scheduled := map[int64]time.Time{}
	describe := map[int64]bool{} // scheduled event IDs of DescribeAccount
	initiated := map[int64]time.Time{}
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return h, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		h.events++
		t := e.GetEventTime().AsTime()
		if h.first.IsZero() {
			h.first = t
		}
		h.last = t
		switch e.GetEventType() {
		case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			h.lastDone = t
			if describe[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] {
				h.describeDone = t
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_FAILED, enums.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			h.lastDone = t
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			h.previousRun = e.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			h.activities++
			scheduled[e.GetEventId()] = t
			if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == wf.DescribeAccountActivity {
				describe[e.GetEventId()] = true
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := e.GetActivityTaskStartedEventAttributes()
			if a.GetAttempt() > 1 {
				h.retries += int(a.GetAttempt() - 1)
			} else if t, ok := scheduled[a.GetScheduledEventId()]; ok {
				h.queued = append(h.queued, e.GetEventTime().AsTime().Sub(t))
			}
		case enums.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			h.children++
			initiated[e.GetEventId()] = t
			if h.firstChild.IsZero() {
				h.firstChild = t
			}
		case enums.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
			if i, ok := initiated[e.GetChildWorkflowExecutionStartedEventAttributes().GetInitiatedEventId()]; ok {
				h.childStart = append(h.childStart, t.Sub(i))
			}
		case enums.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, enums.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
			enums.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED, enums.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
			h.lastChildDone = t
		}
	}
	return h, nil
}

// readHistories reads every run of the sweep's workflow (following
// continue-as-new back from the latest run) and every account's child, and
// checks each child's event count against DescribeWorkflowExecution's
// HistoryLength.
func readHistories(ctx context.Context, c client.Client, sweepID string, accounts []string) (*histories, error) {
	out := &histories{}
	wid := wf.SweepWorkflowID(sweepID)
	d, err := c.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		return nil, err
	}
	run := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	var firstChild, lastChildDone, runsStart, runsEnd time.Time
	for run != "" {
		h, err := countHistory(ctx, c, wid, run)
		if err != nil {
			return nil, err
		}
		rd, err := c.DescribeWorkflowExecution(ctx, wid, run)
		if err != nil {
			return nil, err
		}
		if rd.GetWorkflowExecutionInfo().GetHistoryLength() != int64(h.events) {
			out.lengthMismatch++
		}
		out.runs++
		out.runEvents = append([]int{h.events}, out.runEvents...)
		out.maxRunEvents = max(out.maxRunEvents, h.events)
		out.activities += h.activities
		out.activityRetries += h.retries
		out.childrenStarted += h.children
		out.childStart = append(out.childStart, h.childStart...)
		if runsEnd.IsZero() {
			runsEnd, lastChildDone = h.last, h.lastChildDone // the latest run comes first
		}
		runsStart, firstChild = h.first, h.firstChild
		run = h.previousRun
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, acct := range accounts {
		g.Go(func() error {
			cid := wf.AccountSweepWorkflowID(sweepID, acct)
			h, err := countHistory(gctx, c, cid, "")
			if err != nil {
				return err
			}
			dd, err := c.DescribeWorkflowExecution(gctx, cid, "")
			if err != nil {
				return err
			}
			n := dd.GetWorkflowExecutionInfo().GetHistoryLength()
			mu.Lock()
			defer mu.Unlock()
			out.children++
			out.maxChildEvents = max(out.maxChildEvents, h.events)
			if int64(h.events) != n {
				out.lengthMismatch++
			}
			out.activities += h.activities
			out.activityRetries += h.retries
			out.queued = append(out.queued, h.queued...)
			out.life = append(out.life, h.last.Sub(h.first))
			out.spans = append(out.spans, [2]time.Time{h.first, h.last})
			if !h.describeDone.IsZero() && !h.lastDone.IsZero() {
				out.describe = append(out.describe, h.describeDone.Sub(h.first))
				out.scans = append(out.scans, h.lastDone.Sub(h.describeDone))
				out.tail = append(out.tail, h.last.Sub(h.lastDone))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out.discover, out.finish = firstChild.Sub(runsStart), runsEnd.Sub(lastChildDone)
	var sum time.Duration
	for _, l := range out.life {
		sum += l
	}
	if span := lastChildDone.Sub(firstChild); span > 0 {
		out.busy = sum.Seconds() / span.Seconds()
	}
	return out, nil
}

// concurrency is the average number of children running in each step-long
// interval from the first child's start.
func (h *histories) concurrency(step time.Duration) []float64 {
	if len(h.spans) == 0 {
		return nil
	}
	t0, t1 := h.spans[0][0], h.spans[0][1]
	for _, s := range h.spans {
		t0, t1 = minTime(t0, s[0]), maxTime(t1, s[1])
	}
	out := make([]float64, int(t1.Sub(t0)/step)+1)
	for _, s := range h.spans {
		for i := range out {
			a, b := t0.Add(time.Duration(i)*step), t0.Add(time.Duration(i+1)*step)
			if o := minTime(b, s[1]).Sub(maxTime(a, s[0])); o > 0 {
				out[i] += o.Seconds() / step.Seconds()
			}
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
