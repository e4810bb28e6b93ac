package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// sustained starts the redaction server and holds an open-loop Redact load
// at rate for d, minute by minute, printing each minute's latency
// percentiles, errors and the server's resident set size. Any error fails
// the run.
func sustained(server string, rate float64, d time.Duration, conns int) error {
	addr, pid, stop, err := startServer(server)
	if err != nil {
		return err
	}
	defer stop()
	text := oneKiB()
	rss0, err := rssKiB(pid)
	if err != nil {
		return err
	}
	fmt.Printf("Sustained Redact load, 1 KiB texts, %.0f requests/s for %s against %s (pid %d) on 127.0.0.1; RSS at start %.1f MiB\n\n",
		rate, d, addr, pid, float64(rss0)/1024)
	fmt.Println("| minute | requests | achieved rps | p50 | p90 | p99 | max | errors | server RSS at end |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	var total int64
	var peak int64
	for m := 1; d > 0; m++ {
		step := min(d, time.Minute)
		d -= step
		res, err := openLoop(addr, text, rate, step, conns)
		if err != nil {
			return err
		}
		rss, err := rssKiB(pid)
		if err != nil {
			return fmt.Errorf("server gone after minute %d: %w", m, err)
		}
		peak = max(peak, rss)
		total += res.Errors
		fmt.Printf("| %d | %d | %.0f | %s | %s | %s | %s | %d | %.1f MiB |\n", m, res.Requests, res.Achieved, ms(res.P50), ms(res.P90), ms(res.P99),
			ms(res.Max), res.Errors, float64(rss)/1024)
	}
	fmt.Printf("\npeak RSS sampled %.1f MiB; errors %d\n", float64(peak)/1024, total)
	if total > 0 {
		return errors.New("sustained load had errors")
	}
	return nil
}

// rssKiB reads a process's resident set size (Linux /proc).
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}
