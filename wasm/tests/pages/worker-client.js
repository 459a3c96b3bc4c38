// A NATS client in a dedicated Worker: it reaches the page's broker through the MessagePort
// the page sends (served by `broker.serve(port)`), asks the page a question and answers one.
import { RemoteBroker } from "/pkg/skiff.js";
import { core } from "/tests/.build/clients.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

self.onmessage = async ({ data }) => {
  try {
    const broker = new RemoteBroker(data.link);
    const nc = await core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), name: "worker" });
    const reply = await nc.request("page.echo", enc.encode("hello from the worker"), { timeout: 3000 });
    await nc.close();
    // The global shim works in a worker too.
    broker.installWebSocket("ws://skiff.local");
    const viaShim = await core.wsconnect({ servers: "ws://skiff.local" });
    viaShim.subscribe("worker.hi", { callback: (_e, m) => m.respond(enc.encode("worker says hi")) });
    await viaShim.flush();
    const asked = await viaShim.request("worker.hi", enc.encode("?"), { timeout: 3000 });
    await viaShim.close();
    self.postMessage({ reply: dec.decode(reply.data), worker: dec.decode(asked.data) });
  } catch (error) {
    self.postMessage({ error: String(error?.stack ?? error) });
  }
};
