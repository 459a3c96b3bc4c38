// The client conformance kit's adapter for nats.js v3 on Node (@nats-io/transport-node):
// connects to the URL given as its only argument, follows line commands on stdin and prints
// events on stdout, as tests/clients/README.md describes.
import { createInterface } from "node:readline";
import { connect } from "@nats-io/transport-node";
import { errors } from "@nats-io/nats-core";

const emit = (line) => process.stdout.write(line + "\n");

function describe(m) {
  const header = (m.headers && m.headers.get("X-Kit")) || "-";
  return `msg ${m.subject} ${m.reply || "-"} ${header} ${m.string()}`;
}

const url = process.argv[2];
if (!url) {
  process.stderr.write("usage: kit-adapter.mjs URL\n");
  process.exit(2);
}

let nc;
try {
  nc = await connect({
    servers: url,
    name: "kit",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    pingInterval: 500,
    maxPingOut: 2,
  });
} catch (e) {
  emit(`fatal ${e.message}`);
  process.exit(1);
}
emit("connected");

(async () => {
  for await (const s of nc.status()) {
    switch (s.type) {
      case "disconnect": emit("disconnected"); break;
      case "reconnect": emit("reconnected"); break;
      case "ldm": emit("lame_duck"); break;
      case "error": emit(`error ${s.error?.message ?? s.error}`); break;
      case "close": emit("closed"); break;
      default: break;
    }
  }
})();

const subs = new Map();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  const words = line.split(" ");
  const [verb, a1 = "", a2 = ""] = words;
  const a3 = words.slice(3).join(" ");
  let detail = "";
  try {
    switch (verb) {
      case "sub":
        subs.set(a1, nc.subscribe(a1, { callback: (err, m) => { if (!err) emit(describe(m)); } }));
        break;
      case "unsub": {
        const sub = subs.get(a1);
        if (!sub) throw new Error("no such subscription");
        sub.unsubscribe();
        subs.delete(a1);
        break;
      }
      case "pub": nc.publish(a1, a2); break;
      case "pubsize": nc.publish(a1, "x".repeat(Number(a2))); break;
      case "burst":
        for (let i = 0; i < Number(a2); i++) nc.publish(a1, String(i));
        break;
      case "request":
        try {
          const reply = await nc.request(a1, a2, { timeout: Number(a3) });
          detail = reply.string();
        } catch (e) {
          if (e instanceof errors.NoRespondersError || (e instanceof errors.RequestError && e.isNoResponders())) {
            throw new Error("no_responders");
          }
          if (e instanceof errors.TimeoutError) throw new Error("timeout");
          throw e;
        }
        break;
      case "flush": await nc.flush(); break;
      case "drain": await nc.drain(); break;
      case "close":
        await nc.close();
        emit("ok close");
        process.exit(0);
        break;
      default: throw new Error(`unknown command ${JSON.stringify(verb)}`);
    }
  } catch (e) {
    emit(`err ${verb} ${String(e.message || e).replace(/\n/g, " ")}`);
    continue;
  }
  emit(detail ? `ok ${verb} ${detail}` : `ok ${verb}`);
}
await nc.close().catch(() => {});
process.exit(0);
