// The wasm broker in Node, reachable over TCP, for the conformance suite (tests/src/target/
// wasm.rs): every TCP socket becomes one MessagePort connection of the broker, with
// acknowledgements sent when a write has reached the socket (so pending bytes count as they
// do natively). Usage: node node-server.mjs '<broker options JSON>'. Prints
// "listening <port>" once ready, and exits when stdin closes.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { Broker, initSkiff } from "../pkg/skiff.js";

await initSkiff(readFileSync(new URL("../pkg/skiff_wasm_bg.wasm", import.meta.url)));
const broker = new Broker(JSON.parse(process.argv[2] ?? "{}"));

const server = createServer({ noDelay: true }, (socket) => {
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
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
