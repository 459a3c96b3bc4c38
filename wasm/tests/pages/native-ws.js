// Browser clients against the native `skiff` daemon's WebSocket listener, through Chromium's
// own WebSocket (no shim, no wsFactory). native-ws.test.mjs drives these functions.
import { CLIENTS, assert, dec, enc, equal, exercise, take, within } from "/tests/pages/scenarios.js";

/** Connects `name`'s client to the daemon's `ws://` URL with the page's real WebSocket. */
function connector(name, url) {
  const client = CLIENTS[name];
  return async (opts) => {
    const nc = await within(client.connect({ servers: url, reconnect: false, ...opts }), 5000, `${name} connect`);
    assert(nc.info.go === "rust", `INFO comes from skiff (go: ${nc.info.go})`);
    return nc;
  };
}

/** A pseudo-random payload (deterministic, so a mismatch is reproducible). */
function payload(size, seed) {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

window.nativeWs = {
  /** Chromium's WebSocket is the built-in one: nothing in the page replaced it. */
  realWebSocket: () => /\[native code\]/.test(Function.prototype.toString.call(globalThis.WebSocket)),

  /** Pub/sub, wildcards, queue groups, request/reply with headers, 503, drain. */
  exercise: (name, url) => exercise(CLIENTS[name], connector(name, url)),

  /** 64 KiB payloads (and a 200 KiB one) published, delivered and echoed back intact. */
  async large(name, url) {
    const connect = connector(name, url);
    const a = await connect({ name: "big-a" });
    const b = await connect({ name: "big-b" });
    try {
      const big = payload(64 * 1024, 7);
      const sub = a.subscribe("big.data", { max: 3 });
      await a.flush();
      for (let i = 0; i < 3; i++) b.publish("big.data", big);
      const got = await within(take(sub, 3), 5000, "three 64 KiB messages");
      for (const m of got) assert(sameBytes(m.data, big), `64 KiB payload intact (${m.data.length} bytes)`);

      a.subscribe("big.echo", { callback: (_e, m) => m.respond(m.data) });
      await a.flush();
      const larger = payload(200 * 1024, 11);
      const reply = await b.request("big.echo", larger, { timeout: 5000 });
      assert(sameBytes(reply.data, larger), `200 KiB request/reply intact (${reply.data.length} bytes)`);
    } finally {
      await a.close();
      await b.close();
    }
  },

  /** Subscribes to `cross.to.page`; `crossFinish` takes what arrives there. */
  async crossStart(name, url) {
    const nc = await connector(name, url)({ name: "page-side" });
    const sub = nc.subscribe("cross.to.page", { max: 2 });
    window.crossState = { nc, received: take(sub, 2) };
    await nc.flush();
  },

  /**
   * Takes the two messages the TCP client sent (a short one and 64 KiB of `seed`), publishes
   * to it, and requests from its responder; returns what happened.
   */
  async crossFinish(size, seed) {
    const { nc, received } = window.crossState;
    try {
      const got = await within(received, 5000, "the TCP client's messages");
      equal(dec.decode(got[0].data), "from tcp", "short message from TCP");
      assert(sameBytes(got[1].data, payload(size, seed)), `${size} bytes from TCP intact`);
      nc.publish("cross.to.tcp", enc.encode("from page"));
      const reply = await nc.request("cross.svc", enc.encode("question"), { timeout: 5000 });
      await nc.drain();
      return dec.decode(reply.data);
    } finally {
      if (!nc.isClosed()) await nc.close();
    }
  },

};
window.nativeWsReady = true;
