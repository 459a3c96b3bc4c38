// Helpers and the client scenario shared by the in-page suite (suite.js, a broker in the page)
// and the native-daemon page (native-ws.js, the real browser WebSocket to `skiff`).
import { core, natsws } from "/tests/.build/clients.js";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function equal(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}: expected ${e}, got ${a}`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition()` is truthy (polling), or fails with `message`. */
export async function until(condition, message, timeout = 5000) {
  const start = performance.now();
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (performance.now() - start > timeout) throw new Error(`timed out waiting: ${message}`);
    await sleep(10);
  }
}

/** Rejects if `promise` does not settle within `ms` (a stuck promise is a failure). */
export function within(promise, ms, what) {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`${what} did not settle within ${ms} ms`);
    }),
  ]);
}

/** Collects `n` messages from a subscription. */
export async function take(sub, n) {
  const out = [];
  for await (const m of sub) {
    out.push(m);
    if (out.length === n) break;
  }
  return out;
}

/** The two clients, behind one shape. */
export const CLIENTS = {
  core: {
    connect: (opts) => core.wsconnect(opts),
    headers: () => core.headers(),
    isNoResponders: (e) => e?.isNoResponders?.() || e?.cause?.name === "NoResponders",
  },
  natsws: {
    connect: (opts) => natsws.connect(opts),
    headers: () => natsws.headers(),
    isNoResponders: (e) => e?.code === "503" || e?.code === natsws.ErrorCode?.NoResponders,
  },
};

/** Pub/sub, wildcards, queue groups, request/reply, headers, no responders, flush, drain. */
export async function exercise(client, connect) {
  const a = await connect({ name: "a" });
  const b = await connect({ name: "b" });
  try {
    // Pub/sub and wildcards.
    const exact = a.subscribe("orders.eu.new", { max: 1 });
    const star = a.subscribe("orders.*.new", { max: 2 });
    const tail = a.subscribe("orders.>", { max: 3 });
    await a.flush();
    b.publish("orders.eu.new", enc.encode("one"));
    b.publish("orders.us.new", enc.encode("two"));
    b.publish("orders.us.paid.late", enc.encode("three"));
    equal((await take(exact, 1)).map((m) => dec.decode(m.data)), ["one"], "exact");
    equal((await take(star, 2)).map((m) => m.subject), ["orders.eu.new", "orders.us.new"], "star");
    equal((await take(tail, 3)).map((m) => m.subject), ["orders.eu.new", "orders.us.new", "orders.us.paid.late"], "tail");

    // Queue groups: every message to exactly one member.
    let q1 = 0;
    let q2 = 0;
    const m1 = a.subscribe("work", { queue: "workers", callback: () => q1++ });
    const m2 = b.subscribe("work", { queue: "workers", callback: () => q2++ });
    await a.flush();
    await b.flush();
    for (let i = 0; i < 100; i++) b.publish("work", enc.encode(String(i)));
    await b.flush();
    await until(() => q1 + q2 === 100, `100 queue deliveries (got ${q1}+${q2})`);
    assert(q1 > 0 && q2 > 0, `both members got work (${q1}, ${q2})`);
    m1.unsubscribe();
    m2.unsubscribe();

    // Request/reply with headers both ways.
    const service = a.subscribe("svc.echo", {
      callback: (_err, m) => {
        const h = client.headers();
        h.set("X-Echo", m.headers?.get("X-Req") ?? "none");
        m.respond(m.data, { headers: h });
      },
    });
    await a.flush();
    const h = client.headers();
    h.set("X-Req", "42");
    const reply = await b.request("svc.echo", enc.encode("ping"), { timeout: 2000, headers: h });
    equal(dec.decode(reply.data), "ping", "reply payload");
    equal(reply.headers?.get("X-Echo"), "42", "reply header");
    service.unsubscribe();

    // No responders: the broker answers 503 at once.
    let noResponders = null;
    try {
      await b.request("nobody.home", enc.encode("?"), { timeout: 2000 });
    } catch (e) {
      noResponders = e;
    }
    assert(client.isNoResponders(noResponders), `no responders error, got ${noResponders}`);

    // Drain: pending messages are delivered, then the connection closes.
    let drained = 0;
    a.subscribe("drain.me", { callback: () => drained++ });
    await a.flush();
    for (let i = 0; i < 50; i++) b.publish("drain.me");
    await b.flush();
    await a.drain();
    equal(drained, 50, "messages delivered before drain completed");
    assert(a.isClosed(), "drained connection is closed");
  } finally {
    await b.close();
    if (!a.isClosed()) await a.close();
  }
}
