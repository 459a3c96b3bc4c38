// Command natsgocheck exercises nats.go against a Skiff server: pub/sub, wildcards, queue
// groups, request/reply, headers, no responders, flush and drain. Usage: natsgocheck URL.
// Prints "OK" and exits 0 on success.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func check(cond bool, format string, args ...interface{}) {
	if !cond {
		fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
		os.Exit(1)
	}
}

func must(err error) {
	check(err == nil, "%v", err)
}

func main() {
	nc, err := nats.Connect(os.Args[1], nats.NoReconnect())
	must(err)

	star, err := nc.SubscribeSync("a.*.c")
	must(err)
	tail, err := nc.SubscribeSync("a.>")
	must(err)
	must(nc.Publish("a.b.c", []byte("one")))
	must(nc.Publish("a.x", []byte("two")))
	must(nc.Flush())
	m, err := star.NextMsg(5 * time.Second)
	must(err)
	check(m.Subject == "a.b.c" && string(m.Data) == "one", "wildcard got %v", m)
	for _, want := range []string{"one", "two"} {
		m, err = tail.NextMsg(5 * time.Second)
		must(err)
		check(string(m.Data) == want, "tail got %q", m.Data)
	}

	q1, err := nc.QueueSubscribeSync("work", "q")
	must(err)
	q2, err := nc.QueueSubscribeSync("work", "q")
	must(err)
	must(nc.Flush())
	for i := 0; i < 50; i++ {
		must(nc.Publish("work", []byte(fmt.Sprint(i))))
	}
	must(nc.Flush())
	time.Sleep(200 * time.Millisecond)
	n1, _, _ := q1.Pending()
	n2, _, _ := q2.Pending()
	check(n1+n2 == 50, "queue group delivered %d", n1+n2)
	// Drain waits for sync subscriptions to be consumed: drop these unread ones first.
	must(q1.Unsubscribe())
	must(q2.Unsubscribe())

	_, err = nc.Subscribe("echo", func(m *nats.Msg) { m.Respond(m.Data) })
	must(err)
	reply, err := nc.Request("echo", []byte("ping"), 5*time.Second)
	must(err)
	check(string(reply.Data) == "ping", "reply %q", reply.Data)

	_, err = nc.Request("nobody", []byte("x"), 5*time.Second)
	check(errors.Is(err, nats.ErrNoResponders), "expected no responders, got %v", err)

	hsub, err := nc.SubscribeSync("h")
	must(err)
	msg := nats.NewMsg("h")
	msg.Header.Set("Trace-Id", "abc")
	msg.Data = []byte("body")
	must(nc.PublishMsg(msg))
	m, err = hsub.NextMsg(5 * time.Second)
	must(err)
	check(m.Header.Get("Trace-Id") == "abc" && string(m.Data) == "body", "headers got %v", m)

	must(nc.Drain())
	deadline := time.Now().Add(5 * time.Second)
	for !nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	check(nc.IsClosed(), "drain did not close")
	fmt.Println("OK")
}
