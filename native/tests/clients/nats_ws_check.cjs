// nats.ws 1.30 and @nats-io/nats-core 3.x from Node against a Skiff WebSocket listener: the
// handshake, INFO's version, pub/sub with a wildcard, request/reply, headers, flush, drain.
// Usage: node --experimental-websocket nats_ws_check.cjs ws://127.0.0.1:PORT NODE_MODULES_DIR
// Prints "OK" and exits 0 on success.
"use strict";
const path = require("path");
const url = process.argv[2];
const modules = process.argv[3];

async function check(name, lib) {
  const { connect, headers } = lib;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const nc = await connect({ servers: url, reconnect: false });
  const version = nc.info.version;
  if (!version.startsWith("2.")) throw new Error(`${name}: server version ${version}`);

  const sub = nc.subscribe("ws.*");
  const got = (async () => {
    for await (const m of sub) return [m.subject, dec.decode(m.data), m.headers?.get("X-Test")];
  })();
  const h = headers();
  h.set("X-Test", "yes");
  nc.publish("ws.hello", enc.encode("hi " + name), { headers: h });
  const [subject, data, header] = await got;
  if (subject !== "ws.hello" || data !== "hi " + name || header !== "yes") {
    throw new Error(`${name}: got ${subject} ${data} ${header}`);
  }

  nc.subscribe("ws.echo", { callback: (_err, m) => m.respond(m.data) });
  await nc.flush();
  const reply = await nc.request("ws.echo", enc.encode("ping"), { timeout: 5000 });
  if (dec.decode(reply.data) !== "ping") throw new Error(`${name}: reply ${dec.decode(reply.data)}`);

  // A payload larger than one outbound frame's worth of a small read.
  const big = new Uint8Array(200 * 1024).fill(120);
  const bigSub = nc.subscribe("ws.big", { max: 1 });
  const bigGot = (async () => { for await (const m of bigSub) return m.data.length; })();
  nc.publish("ws.big", big);
  if ((await bigGot) !== big.length) throw new Error(`${name}: big message truncated`);

  await nc.drain();
}

(async () => {
  await check("nats.ws", require(path.join(modules, "nats.ws")));
  const core = await import(path.join(modules, "@nats-io/nats-core", "lib", "mod.js"));
  await check("nats-core", { connect: core.wsconnect, headers: core.headers });
  console.log("OK");
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
