package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
)

// The lean open-loop client: gRPC's wire protocol spoken directly over
// HTTP/2 frames, with the request's header block and message encoded once.
// A gRPC-Go client spends about as much CPU per call as the server does,
// and on two shared cores that CPU is taken from the server being
// measured; this client spends a fraction of it, so what it measures is the
// server. Requests are paced by a thread of their own that sleeps with
// nanosleep(2) (the Go runtime's timers wake at millisecond granularity
// when idle, which would send in bursts), and each request's latency runs
// from when it was due to its trailers, so queueing anywhere counts.

// pace calls send(i) for i in [0, n) at start + i*interval from a thread of
// its own that sleeps with nanosleep(2), and sets late[i] to how late send i
// began.
func pace(n int, interval time.Duration, start time.Time, late []time.Duration, send func(i int) error) error {
	paced := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := range n {
			due := start.Add(time.Duration(i) * interval)
			if w := time.Until(due); w > 0 {
				ts := syscall.NsecToTimespec(int64(w))
				for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
				}
			}
			late[i] = time.Since(due)
			if err := send(i); err != nil {
				paced <- err
				return
			}
		}
		paced <- nil
	}()
	return <-paced
}

// h2Conn is one HTTP/2 connection of the lean client.
type h2Conn struct {
	mu     sync.Mutex // guards w, window, next and streams
	nc     net.Conn
	w      *bufio.Writer
	fr     *http2.Framer // writes through w
	window int64         // connection-level send window
	cond   *sync.Cond    // signalled when window grows
	next   uint32        // next stream ID
	// streams maps (stream ID - 1) / 2 to the request's index.
	streams []int32
	err     error // first protocol error, set by the reader
}

// h2OpenLoop sends Redact(text) at rate for d over conns connections and
// reports latency percentiles from when each request was due. Every
// response must carry grpc-status 0 and the first is checked to be a
// redaction of text; anything else is an error.
func h2OpenLoop(addr, text string, rate float64, d time.Duration, conns int) (latencyResult, error) {
	msg, err := proto.Marshal(&redactionv1.RedactRequest{Text: text})
	if err != nil {
		return latencyResult{}, err
	}
	return h2Load(addr, "/dpsweep.redaction.v1.RedactionService/Redact", msg, func(data []byte) error { return checkRedacted(data, text) }, rate, d, conns)
}

// h2HealthOpenLoop is h2OpenLoop for the health check: the same server,
// transport and interceptors around an RPC that does nothing, the floor
// under Redact's latency.
func h2HealthOpenLoop(addr string, rate float64, d time.Duration, conns int) (latencyResult, error) {
	msg, err := proto.Marshal(&healthpb.HealthCheckRequest{})
	if err != nil {
		return latencyResult{}, err
	}
	return h2Load(addr, "/grpc.health.v1.Health/Check", msg, func(data []byte) error {
		var resp healthpb.HealthCheckResponse
		if len(data) < 5 {
			return fmt.Errorf("health response of %d bytes", len(data))
		}
		if err := proto.Unmarshal(data[5:], &resp); err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health: %v", resp.GetStatus())
		}
		return nil
	}, rate, d, conns)
}

// h2Load sends msg to path at rate for d over conns connections; check
// vets the first response on each connection.
func h2Load(addr, path string, msg []byte, check func([]byte) error, rate float64, d time.Duration, conns int) (latencyResult, error) {
	body := make([]byte, 5+len(msg)) // gRPC message: flag, length, bytes
	binary.BigEndian.PutUint32(body[1:5], uint32(len(msg)))
	copy(body[5:], msg)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":authority", addr},
		{":path", path},
		{"content-type", "application/grpc"}, {"te", "trailers"},
	} {
		// Never indexed, so every request's block is the same bytes.
		if err := enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1], Sensitive: true}); err != nil {
			return latencyResult{}, err
		}
	}
	header := hb.Bytes()

	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	late := make([]time.Duration, n)
	done := make([]bool, n)
	var failures sync.Map // failure reasons
	var errs, answered, checked int64
	var statsMu sync.Mutex

	cs := make([]*h2Conn, conns)
	var readers sync.WaitGroup
	for i := range cs {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return latencyResult{}, err
		}
		defer nc.Close()
		c := &h2Conn{nc: nc, w: bufio.NewWriterSize(nc, 16<<10), window: 65535, next: 1, streams: make([]int32, n/conns+2)}
		c.cond = sync.NewCond(&c.mu)
		c.fr = http2.NewFramer(c.w, nil)
		if _, err := c.w.WriteString(http2.ClientPreface); err != nil {
			return latencyResult{}, err
		}
		if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}); err != nil {
			return latencyResult{}, err
		}
		if err := c.fr.WriteWindowUpdate(0, 1<<30); err != nil {
			return latencyResult{}, err
		}
		if err := c.w.Flush(); err != nil {
			return latencyResult{}, err
		}
		cs[i] = c
	}
	// The readers start once start is set, so they read it without a lock.
	start := time.Now()
	answer := func(idx int32, status string, data []byte) {
		now := time.Now()
		statsMu.Lock()
		defer statsMu.Unlock()
		answered++
		if status != "0" {
			errs++
			failures.LoadOrStore("grpc-status "+status, true)
			return
		}
		if data != nil {
			checked++
			if err := check(data); err != nil {
				errs++
				failures.LoadOrStore(err.Error(), true)
			}
		}
		lat[idx] = now.Sub(start.Add(time.Duration(idx) * interval))
		done[idx] = true
	}
	for _, c := range cs {
		readers.Go(func() { c.read(answer) })
	}
	if err := pace(n, interval, start, late, func(i int) error { return cs[i%conns].send(int32(i), header, body) }); err != nil {
		return latencyResult{}, err
	}
	// Wait for the answers (5 s at most after the last was sent).
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		statsMu.Lock()
		a := answered
		statsMu.Unlock()
		if a == int64(n) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	for _, c := range cs {
		_ = c.nc.Close()
	}
	readers.Wait()
	statsMu.Lock()
	defer statsMu.Unlock()
	var ok []time.Duration
	for i, l := range lat {
		if done[i] {
			ok = append(ok, l)
		}
	}
	missing := int64(n) - answered
	var reasons []string
	failures.Range(func(k, _ any) bool { reasons = append(reasons, fmt.Sprint(k)); return true })
	for _, c := range cs {
		if c.err != nil && !errors.Is(c.err, net.ErrClosed) {
			reasons = append(reasons, "connection: "+c.err.Error())
		}
	}
	if len(ok) == 0 || checked == 0 {
		return latencyResult{}, fmt.Errorf("%d successful answers, %d checked; %s", len(ok), checked, strings.Join(reasons, "; "))
	}
	for _, r := range reasons {
		fmt.Fprintln(os.Stderr, "lean client:", r)
	}
	return summarize(rate, n, elapsed, ok, late, errs+missing), nil
}

// send writes request idx's HEADERS and DATA frames in one write.
func (c *h2Conn) send(idx int32, header, body []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.window < int64(len(body)) && c.err == nil {
		c.cond.Wait()
	}
	if c.err != nil {
		return c.err
	}
	id := c.next
	c.next += 2
	c.streams[(id-1)/2] = idx
	c.window -= int64(len(body))
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: header, EndHeaders: true}); err != nil {
		return err
	}
	if err := c.fr.WriteData(id, true, body); err != nil {
		return err
	}
	return c.w.Flush()
}

// read handles the connection's frames until it closes, calling answer with
// each stream's request index, grpc-status and response message.
func (c *h2Conn) read(answer func(idx int32, status string, data []byte)) {
	fr := http2.NewFramer(nil, bufio.NewReaderSize(c.nc, 64<<10))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = 1 << 20
	data := map[uint32][]byte{} // stream 1's response message, to check
	var consumed int64
	fail := func(err error) {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
	write := func(f func() error) {
		c.mu.Lock()
		err := f()
		if err == nil {
			err = c.w.Flush()
		}
		c.mu.Unlock()
		if err != nil {
			fail(err)
		}
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			fail(err)
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				write(c.fr.WriteSettingsAck)
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				write(func() error { return c.fr.WritePing(true, f.Data) })
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.mu.Lock()
				c.window += int64(f.Increment)
				c.cond.Broadcast()
				c.mu.Unlock()
			}
		case *http2.DataFrame:
			consumed += int64(len(f.Data()))
			if f.StreamID == 1 {
				data[1] = append(data[1], f.Data()...)
			}
			if consumed > 1<<29 { // give the connection window back
				write(func() error { return c.fr.WriteWindowUpdate(0, uint32(consumed)) })
				consumed = 0
			}
		case *http2.MetaHeadersFrame:
			if !f.StreamEnded() {
				continue // response headers; the status is in the trailers
			}
			c.mu.Lock()
			idx := c.streams[(f.StreamID-1)/2]
			c.mu.Unlock()
			answer(idx, grpcStatus(f), data[f.StreamID])
		case *http2.RSTStreamFrame:
			fail(fmt.Errorf("stream %d reset: %v", f.StreamID, f.ErrCode))
		case *http2.GoAwayFrame:
			fail(fmt.Errorf("server sent GOAWAY: %v", f.ErrCode))
			return
		}
	}
}

// grpcStatus is a trailers frame's grpc-status value.
func grpcStatus(f *http2.MetaHeadersFrame) string {
	for _, hf := range f.RegularFields() {
		if hf.Name == "grpc-status" {
			return hf.Value
		}
	}
	return "missing"
}

// checkRedacted parses a Redact response message (gRPC framing included)
// and checks it is a redaction of text: findings, and no access key left.
func checkRedacted(data []byte, text string) error {
	if len(data) < 5 || int(binary.BigEndian.Uint32(data[1:5])) != len(data)-5 {
		return fmt.Errorf("response message of %d bytes is not one gRPC message", len(data))
	}
	var resp redactionv1.RedactResponse
	if err := proto.Unmarshal(data[5:], &resp); err != nil {
		return err
	}
	if len(resp.GetFindings()) == 0 || bytes.Contains([]byte(resp.GetRedactedText()), []byte("AKIA2OGYBAH6STMMNXNN")) || len(text) == 0 {
		return fmt.Errorf("response is not a redaction: %d findings", len(resp.GetFindings()))
	}
	return nil
}
