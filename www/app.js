// The live page: a broker in this tab, a sensor publishing, a dashboard subscribed with a
// wildcard, and the broker's own introspection on screen.
import { startBroker } from "skiff-wasm";
import { wsconnect } from "@nats-io/nats-core";

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();
const dec = new TextDecoder();

const broker = await startBroker({ serverName: "www" });
broker.installWebSocket("ws://skiff.local");
window.skiff = broker;

const sensor = await wsconnect({ servers: "ws://skiff.local", name: "sensor", reconnectTimeWait: 200 });
const dashboard = await wsconnect({ servers: "ws://skiff.local", name: "dashboard" });
const rooms = ["kitchen", "garage", "attic"];
let tick = 0;
const publishing = setInterval(() => {
  const room = rooms[tick++ % rooms.length];
  if (!sensor.isClosed()) sensor.publish(`sensors.${room}.temp`, enc.encode((18 + Math.random() * 6).toFixed(1)));
}, 300);

(async () => {
  for await (const m of dashboard.subscribe("sensors.*.temp")) {
    const li = document.createElement("li");
    li.textContent = `${m.subject} ${dec.decode(m.data)} °C`;
    $("messages").prepend(li);
    while ($("messages").children.length > 8) $("messages").lastChild.remove();
  }
})();

function rows(target, items) {
  target.replaceChildren(
    ...items.map((cells) => {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = String(cell);
        tr.append(td);
      }
      return tr;
    }),
  );
}

function render() {
  $("phase").textContent = broker.phase();
  const s = broker.stats();
  rows($("stats"), [
    ["connections", s.connections],
    ["total connections", s.totalConnections],
    ["subscriptions", s.subscriptions],
    ["messages in / out", `${s.traffic.inMsgs} / ${s.traffic.outMsgs}`],
    ["bytes in / out", `${s.traffic.inBytes} / ${s.traffic.outBytes}`],
    ["slow consumers", s.slowConsumers],
  ]);
  rows($("conns"), broker.connections().map((c) => [c.cid, c.name, c.subscriptions, c.traffic.inMsgs, c.traffic.outMsgs]));
  rows($("subs"), broker.subscriptions().map((x) => [x.cid, x.subject, x.queue ?? "", x.delivered]));
}
render();
const rendering = setInterval(render, 500);

$("drop").onclick = () => {
  const conn = broker.connections().find((c) => c.name === "sensor");
  if (conn) broker.closeConnection(conn.cid);
};
$("lameduck").onclick = () => broker.lameDuck();
$("shutdown").onclick = async () => {
  await broker.shutdown();
  clearInterval(publishing);
  render();
  clearInterval(rendering);
};
broker.on((event) => event.type === "stopped" && render());
window.skiffPageReady = true;
