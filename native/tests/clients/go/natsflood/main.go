// Command natsflood runs nats.go's own benchmark pattern against a server: one publisher
// sends MSGS messages of SIZE bytes as fast as it can, SUBS subscribers (one connection each)
// must each receive every one.
//
// Usage: natsflood URL MSGS SIZE SUBS [TIMEOUT]
//
// Prints "OK msgs=<delivered> secs=<elapsed>" and exits 0 when every subscriber got every
// message; otherwise prints "FAIL ..." with each subscriber's count and the errors the client
// saw (a slow-consumer close shows here), and exits 1.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail("bad number %q", s)
	}
	return n
}

func main() {
	if len(os.Args) < 5 {
		fail("usage: natsflood URL MSGS SIZE SUBS [TIMEOUT]")
	}
	url, msgs, size, subs := os.Args[1], atoi(os.Args[2]), atoi(os.Args[3]), atoi(os.Args[4])
	timeout := 120 * time.Second
	if len(os.Args) > 5 {
		d, err := time.ParseDuration(os.Args[5])
		if err != nil {
			fail("bad timeout %q", os.Args[5])
		}
		timeout = d
	}
	subject := "natsflood"

	var errMu sync.Mutex
	var errs []string
	note := func(format string, args ...interface{}) {
		errMu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		errMu.Unlock()
	}
	counts := make([]int64, subs)
	done := make(chan int, subs)
	var conns []*nats.Conn
	for i := 0; i < subs; i++ {
		i := i
		nc, err := nats.Connect(url, nats.NoReconnect(),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				note("sub %d: %v", i, err)
			}),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					note("sub %d disconnected: %v", i, err)
				}
			}))
		if err != nil {
			fail("connect: %v", err)
		}
		conns = append(conns, nc)
		sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
			if len(m.Data) != size {
				note("sub %d: payload of %d bytes", i, len(m.Data))
			}
			if atomic.AddInt64(&counts[i], 1) == int64(msgs) {
				done <- i
			}
		})
		if err != nil {
			fail("subscribe: %v", err)
		}
		// As `nats bench`: the client itself never drops, so any loss is the server's.
		sub.SetPendingLimits(-1, -1)
		if err := nc.Flush(); err != nil {
			fail("flush: %v", err)
		}
	}

	pub, err := nats.Connect(url, nats.NoReconnect())
	if err != nil {
		fail("connect: %v", err)
	}
	payload := make([]byte, size)
	start := time.Now()
	for n := 0; n < msgs; n++ {
		if err := pub.Publish(subject, payload); err != nil {
			fail("publish: %v", err)
		}
	}
	if err := pub.FlushTimeout(timeout); err != nil {
		note("publisher flush: %v", err)
	}

	deadline := time.After(timeout)
	for finished := 0; finished < subs; {
		select {
		case <-done:
			finished++
		case <-deadline:
			finished = subs
		case <-time.After(100 * time.Millisecond):
			for _, nc := range conns {
				if nc.IsClosed() {
					finished = subs
				}
			}
		}
	}
	elapsed := time.Since(start)
	ok := true
	for i := range counts {
		if atomic.LoadInt64(&counts[i]) != int64(msgs) {
			ok = false
		}
	}
	for _, nc := range conns {
		nc.Close()
	}
	pub.Close()
	if !ok {
		got := make([]int64, subs)
		for i := range counts {
			got[i] = atomic.LoadInt64(&counts[i])
		}
		errMu.Lock()
		defer errMu.Unlock()
		fail("received %v of %d each after %.2fs; errors: %v", got, msgs, elapsed.Seconds(), errs)
	}
	fmt.Printf("OK msgs=%d secs=%.3f\n", msgs*subs, elapsed.Seconds())
}
