// The page's broker joins a real nats-server hub as a leaf node over Chromium's own
// WebSocket (the hub's websocket listener, /leafnode), and an in-page @nats-io/nats-core
// client talks to the hub's clients through it. leaf.test.mjs drives these functions.
import { initSkiff, startBroker } from "/pkg/skiff.js";
import { core } from "/tests/.build/clients.js";

const dec = (b) => new TextDecoder().decode(b);
let broker = null;
let nc = null;
const inbox = [];
let wake = () => {};

window.leaf = {
  /** Starts the broker as a leaf of `hubWs` and connects a page client to it. */
  async start(hubWs) {
    await initSkiff();
    broker = await startBroker({ leafRemotes: [{ url: hubWs }], leafReconnect: 200 });
    nc = await core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), reconnect: false });
    const sub = nc.subscribe("page.in.>");
    (async () => {
      for await (const m of sub) {
        inbox.push(`${m.subject}:${dec(m.data)}`);
        wake();
      }
    })();
    nc.subscribe("page.svc", { callback: (_err, m) => m.respond(new TextEncoder().encode("page answers")) });
    await nc.flush();
    return broker.connections().length;
  },

  /** What the page client received on page.in.>, waiting up to `ms` for at least one. */
  async received(ms) {
    if (inbox.length === 0) await Promise.race([new Promise((r) => (wake = r)), new Promise((r) => setTimeout(r, ms))]);
    return inbox.splice(0);
  },

  /** Publishes from the page client. */
  async publish(subject, text) {
    nc.publish(subject, new TextEncoder().encode(text));
    await nc.flush();
  },

  /** A request from the page to a service behind the hub. */
  async request(subject) {
    const m = await nc.request(subject, new Uint8Array(), { timeout: 1000 });
    return dec(m.data);
  },

  async stop() {
    await nc?.close();
    await broker?.shutdown();
  },
};
window.leafReady = true;
