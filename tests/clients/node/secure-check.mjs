// nats.js v3 on Node (@nats-io/transport-node) with a client's credentials: a round trip, and
// with --account the account $SYS.REQ.USER.INFO names. Usage: node secure-check.mjs URL
// [--user U --pass P] [--token T] [--nkey SEEDFILE] [--ca FILE] [--cert FILE --key FILE]
// [--creds FILE] [--account NAME]. Prints "OK" and exits 0.
import { readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { credsAuthenticator, nkeyAuthenticator } from "@nats-io/nats-core";

const [url, ...rest] = process.argv.slice(2);
const args = {};
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, "")] = rest[i + 1];

const options = { servers: url, reconnect: false, timeout: 5000 };
if (args.user) Object.assign(options, { user: args.user, pass: args.pass });
if (args.token) options.token = args.token;
if (args.nkey) {
  options.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(args.nkey, "utf8").trim()));
}
if (args.creds) options.authenticator = credsAuthenticator(readFileSync(args.creds));
if (args.ca) {
  options.tls = { caFile: args.ca };
  if (args.cert) Object.assign(options.tls, { certFile: args.cert, keyFile: args.key });
}

try {
  const nc = await connect(options);
  const sub = nc.subscribe("secure.echo", { max: 1 });
  nc.publish("secure.echo", "hi");
  for await (const m of sub) {
    if (m.string() !== "hi") throw new Error(`round trip got ${m.string()}`);
  }
  if (args.account) {
    const reply = await nc.request("$SYS.REQ.USER.INFO", "", { timeout: 5000 });
    const account = reply.json().data.account;
    if (account !== args.account) throw new Error(`user info: ${reply.string()}`);
  }
  await nc.close();
  console.log("OK");
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
}
