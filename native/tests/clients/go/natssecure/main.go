// Command natssecure connects nats.go with a client's credentials and checks a round trip:
// natssecure URL [-user U -pass P] [-token T] [-nkey SEEDFILE] [-ca FILE]
// [-cert FILE -key FILE] [-creds FILE] [-account NAME]. With -account,
// $SYS.REQ.USER.INFO must name that account. Prints "OK" and exits 0.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	ca := flag.String("ca", "", "CA certificate")
	cert := flag.String("cert", "", "client certificate")
	key := flag.String("key", "", "client key")
	creds := flag.String("creds", "", "creds file")
	account := flag.String("account", "", "expected account")
	user := flag.String("user", "", "user name")
	pass := flag.String("pass", "", "password")
	token := flag.String("token", "", "token")
	nkeySeed := flag.String("nkey", "", "nkey seed file")
	flag.CommandLine.Parse(os.Args[2:])

	opts := []nats.Option{nats.NoReconnect(), nats.Timeout(5 * time.Second)}
	if *ca != "" {
		opts = append(opts, nats.RootCAs(*ca))
	}
	if *cert != "" {
		opts = append(opts, nats.ClientCert(*cert, *key))
	}
	if *creds != "" {
		opts = append(opts, nats.UserCredentials(*creds))
	}
	if *user != "" {
		opts = append(opts, nats.UserInfo(*user, *pass))
	}
	if *token != "" {
		opts = append(opts, nats.Token(*token))
	}
	if *nkeySeed != "" {
		opt, err := nats.NkeyOptionFromSeed(*nkeySeed)
		if err != nil {
			fail("nkey seed: %v", err)
		}
		opts = append(opts, opt)
	}
	nc, err := nats.Connect(os.Args[1], opts...)
	if err != nil {
		fail("connect: %v", err)
	}
	sub, err := nc.SubscribeSync("secure.echo")
	if err != nil {
		fail("subscribe: %v", err)
	}
	if err := nc.Publish("secure.echo", []byte("hi")); err != nil {
		fail("publish: %v", err)
	}
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil || string(m.Data) != "hi" {
		fail("round trip: %v %v", m, err)
	}
	if *account != "" {
		reply, err := nc.Request("$SYS.REQ.USER.INFO", nil, 5*time.Second)
		if err != nil {
			fail("user info: %v", err)
		}
		var info struct {
			Data struct {
				Account string `json:"account"`
			} `json:"data"`
		}
		if err := json.Unmarshal(reply.Data, &info); err != nil || info.Data.Account != *account {
			fail("user info: %s (%v)", reply.Data, err)
		}
	}
	nc.Close()
	fmt.Println("OK")
}
