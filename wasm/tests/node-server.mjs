// The wasm broker in Node, reachable over TCP, for the conformance suite (tests/src/target/
// wasm.rs): every TCP socket becomes one MessagePort connection of a broker, with
// acknowledgements sent when a write has reached the socket (so pending bytes count as they
// do natively). One process serves many brokers, driven by lines on stdin:
//   start <broker options JSON>  → "listening <port>" (or "error <message>")
//   stop <port>                  → the broker shuts down and its listener closes
// The process exits when stdin closes.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { Broker, initSkiff } from "../pkg/skiff.js";

await initSkiff(readFileSync(new URL("../pkg/skiff_wasm_bg.wasm", import.meta.url)));

/** Brokers by the port they listen on. */
const brokers = new Map();

/** Bridges one TCP socket to a new connection of `broker`. */
function bridge(broker, socket) {
  socket.setNoDelay(true);
  const { port1, port2 } = new MessageChannel();
  try {
    broker.attach(port1, { acks: true });
  } catch {
    socket.destroy();
    return;
  }
  let open = true;
  port2.onmessage = ({ data }) => {
    if (data instanceof ArrayBuffer) {
      const bytes = data.byteLength;
      socket.write(new Uint8Array(data), () => open && port2.postMessage({ skiff: "ack", bytes }));
    } else if (data?.skiff === "close") {
      open = false;
      port2.close();
      socket.end();
    }
  };
  socket.on("data", (chunk) => {
    const copy = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength);
    if (open) port2.postMessage(copy, [copy]);
  });
  const gone = () => {
    if (!open) return;
    open = false;
    port2.postMessage({ skiff: "close" });
    port2.close();
  };
  socket.on("end", gone);
  socket.on("error", gone);
  socket.on("close", gone);
}

function start(optionsJson) {
  let broker;
  try {
    broker = new Broker(JSON.parse(optionsJson));
  } catch (error) {
    process.stdout.write(`error ${String(error.message).replace(/\n/g, " ")}\n`);
    return;
  }
  const server = createServer((socket) => bridge(broker, socket));
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    brokers.set(port, { broker, server });
    process.stdout.write(`listening ${port}\n`);
  });
}

async function stop(port) {
  const entry = brokers.get(port);
  if (!entry) return;
  brokers.delete(port);
  entry.server.close();
  await entry.broker.shutdown();
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const space = line.indexOf(" ");
  const [command, rest] = space < 0 ? [line, ""] : [line.slice(0, space), line.slice(space + 1)];
  if (command === "start") start(rest);
  else if (command === "stop") stop(Number(rest));
});
lines.on("close", () => process.exit(0));
