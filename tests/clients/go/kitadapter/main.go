// The client conformance kit's adapter for nats.go: connects to the URL given as its only
// argument, follows line commands on stdin and prints events on stdout, as
// tests/clients/README.md describes. Built offline in GOPATH mode against Debian's
// golang-github-nats-io-go-nats-dev.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

var out sync.Mutex

func emit(format string, args ...interface{}) {
	out.Lock()
	defer out.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

func describe(m *nats.Msg) string {
	reply := m.Reply
	if reply == "" {
		reply = "-"
	}
	header := "-"
	if m.Header != nil {
		if v := m.Header.Get("X-Kit"); v != "" {
			header = v
		}
	}
	return fmt.Sprintf("msg %s %s %s %s", m.Subject, reply, header, string(m.Data))
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kitadapter URL")
		os.Exit(2)
	}
	closed := make(chan struct{})
	nc, err := nats.Connect(os.Args[1],
		nats.Name("kit"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		nats.PingInterval(500*time.Millisecond),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, _ error) { emit("disconnected") }),
		nats.ReconnectHandler(func(_ *nats.Conn) { emit("reconnected") }),
		nats.ClosedHandler(func(_ *nats.Conn) { emit("closed"); close(closed) }),
		nats.LameDuckModeHandler(func(_ *nats.Conn) { emit("lame_duck") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { emit("error %v", err) }),
	)
	if err != nil {
		emit("fatal %v", err)
		os.Exit(1)
	}
	emit("connected")
	subs := map[string]*nats.Subscription{}
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		words := strings.SplitN(scanner.Text(), " ", 4)
		verb := words[0]
		arg := func(i int) string {
			if i < len(words) {
				return words[i]
			}
			return ""
		}
		detail := ""
		var err error
		switch verb {
		case "sub":
			var sub *nats.Subscription
			sub, err = nc.Subscribe(arg(1), func(m *nats.Msg) { emit("%s", describe(m)) })
			if err == nil {
				subs[arg(1)] = sub
			}
		case "unsub":
			if sub, ok := subs[arg(1)]; ok {
				err = sub.Unsubscribe()
				delete(subs, arg(1))
			} else {
				err = errors.New("no such subscription")
			}
		case "pub":
			err = nc.Publish(arg(1), []byte(arg(2)))
		case "pubsize":
			n, _ := strconv.Atoi(arg(2))
			err = nc.Publish(arg(1), []byte(strings.Repeat("x", n)))
		case "burst":
			n, _ := strconv.Atoi(arg(2))
			for i := 0; i < n && err == nil; i++ {
				err = nc.Publish(arg(1), []byte(strconv.Itoa(i)))
			}
		case "request":
			ms, _ := strconv.Atoi(arg(3))
			var reply *nats.Msg
			reply, err = nc.Request(arg(1), []byte(arg(2)), time.Duration(ms)*time.Millisecond)
			switch {
			case errors.Is(err, nats.ErrNoResponders):
				err = errors.New("no_responders")
			case errors.Is(err, nats.ErrTimeout):
				err = errors.New("timeout")
			case err == nil:
				detail = string(reply.Data)
			}
		case "flush":
			err = nc.FlushTimeout(5 * time.Second)
		case "drain":
			err = nc.Drain()
			if err == nil {
				select {
				case <-closed:
				case <-time.After(10 * time.Second):
					err = errors.New("not closed 10 s after drain")
				}
			}
		case "close":
			nc.Close()
			emit("ok close")
			return
		default:
			err = fmt.Errorf("unknown command %q", verb)
		}
		switch {
		case err != nil:
			emit("err %s %v", verb, err)
		case detail != "":
			emit("ok %s %s", verb, detail)
		default:
			emit("ok %s", verb)
		}
	}
	nc.Close()
}
