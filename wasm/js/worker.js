// A broker in a Worker or SharedWorker. Start it with
//   new SharedWorker(new URL("skiff-wasm/worker.js", import.meta.url), { type: "module" })
// (or `new Worker(...)`), optionally with `?options=<JSON broker options>` on the URL, and
// reach it from any page or worker with `new RemoteBroker(worker.port)` (SharedWorker) or
// `new RemoteBroker(worker)` (Worker).
import { startBroker } from "./skiff.js";

const params = new URL(self.location.href).searchParams;
const starting = Promise.resolve()
  .then(() => (params.has("options") ? JSON.parse(params.get("options")) : undefined))
  .then(startBroker);

/** Serves `endpoint` once the broker runs; if it could not start, refuses every client. */
function serve(endpoint, replay = []) {
  starting.then(
    (broker) => {
      broker.serve(endpoint);
      for (const data of replay) endpoint.dispatchEvent(new MessageEvent("message", { data }));
    },
    (error) => {
      const refuse = (data) => {
        if (data?.skiff === "connect") {
          data.port.postMessage({ skiff: "close", code: 1011, reason: `the broker did not start: ${error.message}` });
          data.port.close();
        } else if (data?.skiff === "call") {
          endpoint.postMessage({ skiff: "result", id: data.id, error: `the broker did not start: ${error.message}` });
        }
      };
      replay.forEach(refuse);
      endpoint.addEventListener("message", (event) => refuse(event.data));
      endpoint.start?.();
    },
  );
}

if (typeof SharedWorkerGlobalScope !== "undefined" && self instanceof SharedWorkerGlobalScope) {
  // A port keeps its messages until it is started, which `serve` does once ready.
  self.addEventListener("connect", (event) => serve(event.ports[0]));
} else {
  // The worker's own scope delivers messages at once: keep the early ones for the broker.
  const early = [];
  const hold = (event) => early.push(event.data);
  self.addEventListener("message", hold);
  starting.finally(() => self.removeEventListener("message", hold));
  serve(self, early);
}
