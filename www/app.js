// The playground: a Skiff broker in this tab (or, on shared.html, in a SharedWorker that every
// tab of the page shares), unmodified @nats-io/nats-core clients connecting to it by URL
// through the global WebSocket shim, and the broker's own introspection on screen.
import { RemoteBroker, installWebSocket, startBroker } from "skiff-wasm";
import { headers as natsHeaders, wsconnect } from "@nats-io/nats-core";
import { runBenchmark } from "./bench.js";
import { drawChart } from "./chart.js";

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();
const dec = new TextDecoder();
const URL_ = "ws://skiff.local";
const shared = document.documentElement.dataset.shared === "true";
/** This tab's tag (shared mode: clients of different tabs tell themselves apart). */
const tab = shared ? Math.random().toString(36).slice(2, 6) : "";
const named = (name) => (shared ? `${name}@${tab}` : name);
/** While the benchmark runs, the page's own traffic pauses. */
let benchmarking = false;

const OPTIONS = { serverName: "playground", lameDuckDuration: 4000, lameDuckGracePeriod: 1000 };

/** The broker behind one async shape, whether it lives here or in a SharedWorker. */
async function openBroker() {
  if (!shared) {
    const broker = await startBroker(OPTIONS);
    const call = (method, ...args) => Promise.resolve(broker[method](...args));
    return { local: broker, call, on: (f) => broker.on(f) };
  }
  const worker = new SharedWorker(new URL(`worker.js?options=${encodeURIComponent(JSON.stringify(OPTIONS))}`, import.meta.url), {
    type: "module",
    name: "skiff-playground",
  });
  const remote = new RemoteBroker(worker.port);
  return { remote, call: (method, ...args) => remote.call(method, ...args), on: null };
}

const broker = await openBroker();
// The page's own scoped shim (not the broker's, which a stopped broker removes): after a stop
// the clients' reconnects are refused by the broker as a closed port would be, instead of
// reaching the real WebSocket; the page removes it once its clients are closed.
const uninstallShim = installWebSocket(URL_, (url) => (broker.local ?? broker.remote).openSocket(url));
// For the tests and the curious: the broker (local) or its remote handle (shared).
window.skiff = broker.local ?? broker.remote;
window.skiffCall = broker.call;
$("where").textContent = shared ? "in a SharedWorker shared by this page's tabs" : "in this tab";
$("sharedlink").hidden = shared;
$("server").textContent = `server ${await broker.call("serverId")}`;

// ---- events --------------------------------------------------------------------------
const events = [];
function logEvent(kind, text) {
  const li = document.createElement("li");
  li.className = kind;
  const t = document.createElement("span");
  t.className = "t";
  t.textContent = new Date().toLocaleTimeString([], { hour12: false });
  li.append(t, text);
  $("events").prepend(li);
  while ($("events").children.length > 30) $("events").lastChild.remove();
  events.push({ kind, text });
}
window.skiffEvents = events;

let stoppedEvents = 0;
const names = new Map(); // cid → name, to name closed connections
broker.on?.((event) => {
  if (event.type === "connect") logEvent("connect", `cid ${event.cid} connected (${event.transport})`);
  else if (event.type === "close") logEvent("close", `cid ${event.cid} ${names.get(event.cid) ?? ""} closed: ${event.reason}`);
  else if (event.type === "stopListening") logEvent("life", "the broker stopped accepting connections");
  else if (event.type === "stopped") {
    stoppedEvents++;
    logEvent("life", "the broker stopped");
  }
});

// ---- clients -------------------------------------------------------------------------
const clients = new Map();
async function client(name) {
  const nc = await wsconnect({
    servers: URL_,
    name: named(name),
    reconnectTimeWait: 250,
    maxReconnectAttempts: -1,
    pingInterval: 20000,
  });
  clients.set(name, nc);
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "reconnect") logEvent("connect", `${named(name)} reconnected`);
      else if (s.type === "disconnect") logEvent("close", `${named(name)} disconnected`);
      else if (s.type === "ldm") logEvent("life", `${named(name)} told: lame duck`);
    }
  })().catch(() => {});
  return nc;
}

const [alice, bob, sensor, dashboard, archive1, archive2, monitor, console_, clock] = await Promise.all(
  ["alice", "bob", "sensor", "dashboard", "archive-1", "archive-2", "monitor", "console", "clock"].map(client),
);

// Chat: two panes, one subject (and, shared, every tab's panes).
for (const [who, nc] of [["alice", alice], ["bob", bob]]) {
  const pane = document.querySelector(`.pane[data-who="${who}"]`);
  const log = pane.querySelector(".log");
  nc.subscribe("chat.room", {
    callback: (_err, m) => {
      const { from, text } = m.json();
      const li = document.createElement("li");
      if (from === named(who)) li.className = "mine";
      const b = document.createElement("b");
      b.textContent = from;
      li.append(b, text);
      log.append(li);
      while (log.children.length > 40) log.firstChild.remove();
      log.scrollTop = log.scrollHeight;
    },
  });
  pane.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = pane.querySelector("input");
    const text = input.value.trim();
    if (!text || nc.isClosed()) return;
    nc.publish("chat.room", JSON.stringify({ from: named(who), text }));
    input.value = "";
  });
}

// Sensors: one publisher, a wildcard dashboard, a queue group of two archivers.
const rooms = ["kitchen", "garage", "attic"];
const tiles = new Map();
for (const room of rooms) {
  const tile = document.createElement("div");
  tile.className = "tile";
  tile.innerHTML = `<div class="room"></div><div class="temp">–</div>`;
  tile.querySelector(".room").textContent = room;
  $("tiles").append(tile);
  tiles.set(room, tile.querySelector(".temp"));
}
let tick = 0;
const temps = { kitchen: 21, garage: 14, attic: 24 };
const publishing = setInterval(() => {
  if (sensor.isClosed() || benchmarking) return;
  const room = rooms[tick++ % rooms.length];
  temps[room] += (Math.random() - 0.5) * 0.6;
  sensor.publish(`sensors.${room}.temp`, temps[room].toFixed(1));
  if (tick % 4 === 0) sensor.publish(`sensors.${room}.humidity`, String(40 + Math.round(Math.random() * 20)));
}, 200);
dashboard.subscribe("sensors.*.temp", {
  callback: (_err, m) => {
    const tile = tiles.get(m.subject.split(".")[1]);
    if (tile) tile.textContent = `${dec.decode(m.data)} °C`;
  },
});
const archived = { "archive-1": 0, "archive-2": 0 };
for (const [name, nc] of [["archive-1", archive1], ["archive-2", archive2]]) {
  nc.subscribe("sensors.>", { queue: "archive", callback: () => archived[name]++ });
}

// The clock answers requests on time.now.
clock.subscribe("time.now", {
  callback: (_err, m) => m.respond(new Date().toISOString()),
});

// The monitor sees everything: the last messages.
const last = [];
const watch = () =>
  monitor.subscribe(">", {
    callback: (_err, m) => {
      if ($("hidesensors").checked && m.subject.startsWith("sensors.")) return;
      last.push(m);
      if (last.length > 12) last.shift();
      lastDirty = true;
    },
  });
let watching = watch();
let lastDirty = false;
function renderLast() {
  if (!lastDirty) return;
  lastDirty = false;
  $("messages").replaceChildren(
    ...last
      .slice()
      .reverse()
      .map((m) => {
        const li = document.createElement("li");
        const subj = span("subj", m.subject);
        li.append(subj);
        if (m.reply) li.append(" ", span("rep", `→ ${m.reply}`));
        if (m.headers) {
          const hs = [];
          for (const k of m.headers.keys()) hs.push(`${k}: ${m.headers.get(k)}`);
          li.append(" ", span("hdr", `[${hs.join("; ")}]`));
        }
        const text = dec.decode(m.data);
        li.append(" ", /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text) ? `‹${m.data.length} bytes›` : text.slice(0, 120));
        return li;
      }),
  );
}
function span(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

// Publish by hand.
$("pubform").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const subject = String(form.get("subject")).trim();
  const reply = String(form.get("reply")).trim();
  const opts = {};
  if (reply) opts.reply = reply;
  const lines = String(form.get("headers")).split("\n").map((l) => l.trim()).filter(Boolean);
  try {
    if (lines.length) {
      const h = natsHeaders();
      for (const line of lines) {
        const at = line.indexOf(":");
        if (at <= 0) throw new Error(`a header line needs "Key: value": ${line}`);
        h.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
      }
      opts.headers = h;
    }
    console_.publish(subject, String(form.get("payload")), opts);
    $("pubresult").textContent = `published to ${subject}`;
  } catch (error) {
    $("pubresult").textContent = String(error.message ?? error);
  }
});

// ---- controls ------------------------------------------------------------------------
let victimName = named("sensor");
$("victim").onchange = () => (victimName = names.get(Number($("victim").value)) ?? victimName);
$("drop").onclick = async () => {
  const cid = Number($("victim").value);
  if (!cid) return;
  const name = names.get(cid) ?? `cid ${cid}`;
  if (await broker.call("closeConnection", cid)) logEvent("close", `dropped ${name} (cid ${cid}); watch it reconnect`);
  render();
};
$("lameduck").onclick = async () => {
  if (await broker.call("lameDuck")) logEvent("life", "lame duck: clients are told, then closed over 4 s");
  render();
};
let shutdownCalls = 0;
let shutdownResolved = 0;
$("shutdown").onclick = async () => {
  shutdownCalls++;
  showShutdowns();
  await broker.call("shutdown");
  shutdownResolved++;
  showShutdowns();
  await stopped();
};
function showShutdowns() {
  $("shutdowns").textContent = `shutdown() called ${shutdownCalls}×, resolved ${shutdownResolved}×` +
    (broker.on ? `, broker stopped ${stoppedEvents}×` : "");
}
window.skiffShutdowns = () => ({ calls: shutdownCalls, resolved: shutdownResolved, stopped: stoppedEvents });

let finished = false;
/** The broker stopped: the clients stop reconnecting, the page stops polling. */
async function stopped() {
  if (finished) return;
  finished = true;
  clearInterval(publishing);
  await Promise.all([...clients.values()].map((nc) => nc.close().catch(() => {})));
  uninstallShim();
  // Shut down stays enabled: calling shutdown() again on a stopped broker resolves at once.
  for (const id of ["drop", "lameduck", "runbench", "pub"]) $(id).disabled = true;
  await render();
  clearInterval(rendering);
  showShutdowns();
}

// Benchmark.
$("runbench").onclick = async () => {
  $("runbench").disabled = true;
  $("benchstate").textContent = "running…";
  // Measured alone: the sensor pauses and the monitor on ">" steps out (it would receive
  // every benchmark message too).
  benchmarking = true;
  watching.unsubscribe();
  try {
    const result = await runBenchmark({ wsFactory: (broker.local ?? broker.remote).wsFactory() });
    window.skiffBench = result;
    $("benchtable").tBodies[0].replaceChildren(
      tableRow(["msgs/s, latency", "Skiff", "channel 1/post", "channel batched", "Skiff vs 1/post"], "th"),
      ...result.rows.map((r) => tableRow([r.label, r.skiff, r.single, r.batched, r.ratio])),
    );
    $("benchstate").textContent = `done in ${(result.ms / 1000).toFixed(1)} s`;
  } catch (error) {
    $("benchstate").textContent = `failed: ${error.message ?? error}`;
  } finally {
    benchmarking = false;
    if (!finished) watching = watch();
    $("runbench").disabled = finished;
  }
};

// ---- rendering -----------------------------------------------------------------------
function tableRow(cells, tag = "td") {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement(tag);
    if (cell instanceof Node) td.append(cell);
    else td.textContent = String(cell);
    tr.append(td);
  }
  return tr;
}

/** A subject with its wildcard tokens marked. */
function subjectCell(subject) {
  const frag = document.createDocumentFragment();
  subject.split(".").forEach((token, i) => {
    if (i) frag.append(".");
    if (token === "*" || token === ">") frag.append(span("wild", token));
    else frag.append(token);
  });
  return frag;
}

const fmt = new Intl.NumberFormat("en");
const history = []; // { in, out } per second
let previous = null;

async function render() {
  const [phase, stats, conns, subs] = await Promise.all(
    ["phase", "stats", "connections", "subscriptions"].map((m) => broker.call(m)),
  );
  $("phase").textContent = phase;
  $("phase").dataset.phase = phase;
  const now = performance.now();
  if (previous) {
    const dt = (now - previous.at) / 1000;
    if (dt >= 0.9) {
      history.push({
        in: (stats.traffic.inMsgs - previous.inMsgs) / dt,
        out: (stats.traffic.outMsgs - previous.outMsgs) / dt,
      });
      if (history.length > 60) history.shift();
      previous = { at: now, inMsgs: stats.traffic.inMsgs, outMsgs: stats.traffic.outMsgs };
    }
  } else {
    previous = { at: now, inMsgs: stats.traffic.inMsgs, outMsgs: stats.traffic.outMsgs };
  }
  drawChart($("chart"), history);
  const rate = history.at(-1);
  const counters = [
    ["in msgs/s", rate ? fmt.format(Math.round(rate.in)) : "–"],
    ["out msgs/s", rate ? fmt.format(Math.round(rate.out)) : "–"],
    ["connections", `${stats.connections} (${stats.totalConnections} total)`],
    ["subscriptions", stats.subscriptions],
    ["messages in / out", `${fmt.format(stats.traffic.inMsgs)} / ${fmt.format(stats.traffic.outMsgs)}`],
    ["bytes in / out", `${fmt.format(stats.traffic.inBytes)} / ${fmt.format(stats.traffic.outBytes)}`],
    ["slow consumers", stats.slowConsumers],
  ];
  $("stats").replaceChildren(
    ...counters.map(([k, v]) => {
      const div = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = String(v);
      div.append(dt, dd);
      return div;
    }),
  );
  for (const c of conns) names.set(c.cid, c.name);
  $("nconns").textContent = conns.length;
  $("conns").replaceChildren(
    ...conns.map((c) =>
      tableRow([c.cid, c.name ?? "", c.subscriptions, fmt.format(c.traffic.inMsgs), fmt.format(c.traffic.outMsgs), c.pendingBytes]),
    ),
  );
  $("nsubs").textContent = subs.length;
  $("subs").replaceChildren(
    ...subs.map((s) =>
      tableRow([s.cid, subjectCell(s.subject), s.queue ? span("queue", s.queue) : "", fmt.format(s.delivered)]),
    ),
  );
  // The drop list: every open connection; the choice (the sensor at first) is kept by name,
  // so a dropped client is selected again once it has reconnected.
  const select = $("victim");
  select.replaceChildren(
    ...conns.map((c) => {
      const o = document.createElement("option");
      o.value = String(c.cid);
      o.textContent = `${c.name ?? "?"} (cid ${c.cid})`;
      o.selected = c.name === victimName;
      return o;
    }),
  );
  $("archive").textContent = `archive-1 got ${archived["archive-1"]}, archive-2 got ${archived["archive-2"]}`;
  renderLast();
  if (phase === "stopped" && !finished) stopped();
}

await render();
const rendering = setInterval(() => render().catch(() => {}), 1000);
addEventListener("resize", () => drawChart($("chart"), history));
window.skiffPageReady = true;
