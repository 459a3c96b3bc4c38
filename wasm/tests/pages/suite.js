// The in-page browser tests: each entry of `tests` runs in the page (or drives workers from
// it) and throws on failure. browser.test.mjs runs them one by one in headless Chromium.
import { Broker, RemoteBroker, initSkiff, startBroker } from "/pkg/skiff.js";
import { core, natsws } from "/tests/.build/clients.js";
import { CLIENTS, assert, dec, enc, equal, exercise, sleep, take, until, within } from "/tests/pages/scenarios.js";

/** Both clients see the server close one connection and reconnect. */
async function reconnects(broker, client, connect) {
  const nc = await connect({ name: "victim", reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  const other = await connect({ name: "other" });
  try {
    const sub = nc.subscribe("after.reconnect");
    await nc.flush();
    const events = [];
    (async () => {
      for await (const s of nc.status()) events.push(s.type);
    })();
    const victim = broker.connections().find((c) => c.name === "victim");
    assert(broker.closeConnection(victim.cid), "closeConnection finds the client");
    await until(() => events.includes("reconnect"), `a reconnect event (saw ${events})`);
    await until(() => broker.connections().some((c) => c.name === "victim" && c.cid !== victim.cid), "the client reconnected with a new cid");
    await until(() => broker.subscriptions().some((s) => s.subject === "after.reconnect" && s.cid !== victim.cid), "its subscription was replayed");
    other.publish("after.reconnect", enc.encode("back"));
    equal(dec.decode((await take(sub, 1))[0].data), "back", "message after reconnect");
  } finally {
    await nc.close();
    await other.close();
  }
}

function withShim(url, body) {
  return async (broker) => {
    const real = globalThis.WebSocket;
    const restore = broker.installWebSocket(url);
    try {
      assert(globalThis.WebSocket !== real, "WebSocket replaced");
      await body(broker);
    } finally {
      restore();
      assert(globalThis.WebSocket === real, "the original WebSocket is back");
    }
  };
}

async function withBroker(options, body) {
  const broker = await startBroker(options);
  try {
    await body(broker);
  } finally {
    await within(broker.shutdown(), 5000, "shutdown");
  }
}

export const tests = {};

for (const name of ["core", "natsws"]) {
  const client = CLIENTS[name];
  tests[`${name} through wsFactory: pub/sub, wildcards, queues, request/reply, headers, 503, flush, drain`] = () =>
    withBroker({ serverName: "page" }, (broker) =>
      exercise(client, (opts) => client.connect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), ...opts })),
    );
  tests[`${name} through the global WebSocket shim: the same, and other URLs reach the real WebSocket`] = () =>
    withBroker({}, withShim("ws://skiff.local", async (broker) => {
      await exercise(client, (opts) => client.connect({ servers: "ws://skiff.local", ...opts }));
      const real = new WebSocket("ws://127.0.0.1:9/");
      assert(!("openSocket" in real) && real.constructor.name === "WebSocket", "other URLs get the real WebSocket");
      real.onerror = () => {};
      real.close();
      await until(() => broker.connections().length === 0, "every shim socket closed at the broker");
    }));
  tests[`${name} reconnects after the broker closes its connection`] = () =>
    withBroker({}, (broker) =>
      reconnects(broker, client, (opts) => client.connect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), ...opts })),
    );
  tests[`${name} sees lame duck mode, then is closed`] = async () => {
    const broker = await startBroker({ lameDuckDuration: 1500, lameDuckGracePeriod: 200 });
    const nc = await client.connect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), reconnect: false });
    const events = [];
    (async () => {
      for await (const s of nc.status()) events.push(s.type);
    })();
    const stopped = new Promise((resolve) => broker.on((e) => e.type === "stopped" && resolve()));
    assert(broker.lameDuck(), "lame duck entered");
    assert(!broker.lameDuck(), "a second lame duck request changes nothing");
    equal(broker.phase(), "lameDuck", "phase");
    await until(() => events.includes("ldm"), `the client saw ldm (saw ${events})`);
    let refused = null;
    try {
      broker.clientPort();
    } catch (e) {
      refused = e;
    }
    assert(refused?.message.includes("not accepting"), `new connections refused: ${refused}`);
    await within(nc.closed(), 5000, "the client's close");
    await within(stopped, 5000, "the broker stopping after lame duck");
    equal(broker.phase(), "stopped", "phase after lame duck");
  };
}

tests["shutdown called twice (and again later) resolves once the broker stopped and closes every client"] = async () => {
  const broker = await startBroker();
  const real = globalThis.WebSocket;
  broker.installWebSocket("ws://skiff.local");
  const clients = await Promise.all([
    core.wsconnect({ servers: "ws://skiff.local", reconnect: false }),
    core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), reconnect: false }),
    natsws.connect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), reconnect: false }),
  ]);
  const raw = broker.clientPort();
  let rawClose = null;
  raw.onmessage = (e) => {
    if (e.data?.skiff === "close") rawClose = e.data;
  };
  let stoppedEvents = 0;
  broker.on((e) => e.type === "stopped" && stoppedEvents++);
  equal(broker.stats().connections, 4, "connections before shutdown");
  const [first, second] = [broker.shutdown(), broker.shutdown()];
  await within(Promise.all([first, second]), 5000, "both shutdown promises");
  equal(broker.phase(), "stopped", "phase");
  equal(broker.stats().connections, 0, "no connection left");
  equal(stoppedEvents, 1, "stopped once");
  await within(Promise.all(clients.map((c) => c.closed())), 5000, "every client closed");
  await until(() => rawClose, "the raw port told of the close");
  equal(rawClose, { skiff: "close", code: 1001, reason: "Server Shutdown" }, "close notice");
  await within(broker.shutdown(), 1000, "a shutdown after the stop");
  assert(globalThis.WebSocket === real, "shutdown restored the original WebSocket");
};

tests["a client in a dedicated Worker reaches the page's broker over a MessagePort"] = () =>
  withBroker({}, async (broker) => {
    const nc = await core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory() });
    nc.subscribe("page.echo", { callback: (_e, m) => m.respond(enc.encode(`page saw ${dec.decode(m.data)}`)) });
    await nc.flush();
    const { port1, port2 } = new MessageChannel();
    broker.serve(port1);
    const worker = new Worker("/tests/pages/worker-client.js", { type: "module" });
    const result = new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
    });
    worker.postMessage({ link: port2 }, [port2]);
    const answer = await within(result, 10000, "the worker's answer");
    equal(answer, { reply: "page saw hello from the worker", worker: "worker says hi" }, "worker exchange");
    worker.terminate();
    await nc.close();
  });

tests["a broker in a dedicated Worker serves the page's clients and answers calls"] = async () => {
  const options = encodeURIComponent(JSON.stringify({ serverName: "in-a-worker" }));
  const worker = new Worker(`/pkg/worker.js?options=${options}`, { type: "module" });
  // Sent at once, before the worker's broker is ready: early messages are kept.
  const remote = new RemoteBroker(worker);
  try {
    const connect = (name) => core.wsconnect({ servers: "ws://skiff.local", wsFactory: remote.wsFactory(), name });
    const [a, b] = await within(Promise.all([connect("a"), connect("b")]), 10000, "connecting to the worker");
    equal(a.info.server_name, "in-a-worker", "INFO from the worker's broker");
    a.subscribe("svc", { callback: (_e, m) => m.respond(enc.encode("from a")) });
    await a.flush();
    equal(dec.decode((await b.request("svc", enc.encode("?"), { timeout: 3000 })).data), "from a", "request through the worker");
    equal((await remote.call("connections")).map((c) => c.name).sort(), ["a", "b"], "remote introspection");
    let bad = null;
    await remote.call("nonsense").catch((e) => (bad = e));
    assert(/unknown broker method "nonsense"/.test(bad?.message), `unknown remote method: ${bad}`);
    await within(Promise.all([remote.call("shutdown"), remote.call("shutdown")]), 5000, "remote shutdown twice");
    equal(await remote.call("phase"), "stopped", "the worker's broker stopped");
    // A socket to a stopped remote broker fails like a refused WebSocket.
    const socket = remote.openSocket();
    const closed = new Promise((resolve) => (socket.onclose = resolve));
    const event = await within(closed, 3000, "the refused socket's close");
    equal([event.code, event.wasClean], [1006, false], "refused socket");
    await a.close().catch(() => {});
    await b.close().catch(() => {});
  } finally {
    worker.terminate();
  }
};

tests["a slow consumer that stops reading is closed as natively, and the broker stays healthy"] = () =>
  withBroker({ maxPending: 64 * 1024, maxPayload: 8 * 1024 }, async (broker) => {
    // A raw client that acknowledges nothing: its unread bytes count as pending.
    const stuck = broker.clientPort({ acks: true });
    let notice = null;
    stuck.onmessage = (e) => {
      if (e.data?.skiff === "close") notice = e.data;
    };
    stuck.postMessage(enc.encode('CONNECT {"verbose":false}\r\nSUB firehose 1\r\nPING\r\n').buffer);
    const nc = await core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory() });
    const healthy = nc.subscribe("firehose");
    let got = 0;
    (async () => {
      for await (const _m of healthy) got++;
    })();
    await until(() => broker.subscriptions().length === 2, "both subscribed");
    // Bursts below maxPending, each flushed: a reading client acknowledges each burst before
    // the next (as a TCP reader drains its socket); the stuck one only accumulates. (One
    // burst above maxPending would close any subscriber, natively too.)
    const payload = new Uint8Array(1024);
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 20; i++) nc.publish("firehose", payload);
      await nc.flush();
    }
    await until(() => notice, "the stuck client closed");
    equal(notice, { skiff: "close", code: 1008, reason: "Slow Consumer (Pending Bytes)" }, "close notice");
    equal(broker.stats().slowConsumers, 1, "slowConsumers");
    await until(() => got === 200, `the reading client got everything (${got})`);
    await nc.close();
  });

tests["a fast producer is paused for a slow reader, which gets every message, while a stuck one is closed"] = () =>
  withBroker({ maxPending: 64 * 1024, maxPayload: 8 * 1024 }, async (broker) => {
    const N = 300;
    /** A raw subscriber that acknowledges each delivery after `delay` ms (never if null). */
    function subscriber(sid, delay) {
      const port = broker.clientPort({ acks: true });
      const state = { text: "", closed: null, port };
      port.onmessage = (e) => {
        if (e.data instanceof ArrayBuffer) {
          state.text += dec.decode(e.data);
          const bytes = e.data.byteLength;
          if (delay !== null) setTimeout(() => port.postMessage({ skiff: "ack", bytes }), delay);
        } else if (e.data?.skiff === "close") {
          state.closed = e.data;
        }
      };
      port.postMessage(enc.encode(`CONNECT {"verbose":false}\r\nSUB fast ${sid}\r\nPING\r\n`).buffer);
      state.count = () => state.text.split("MSG fast ").length - 1;
      return state;
    }
    const slow = subscriber(1, 3);
    const stuck = subscriber(2, null);
    await until(() => broker.subscriptions().length === 2, "both subscribed");
    const publisher = broker.clientPort();
    let pongs = 0;
    publisher.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) pongs += dec.decode(e.data).split("PONG").length - 1;
    };
    publisher.postMessage(enc.encode('CONNECT {"verbose":false}\r\nPING\r\n').buffer);
    await until(() => pongs === 1, "the publisher connected");
    // Every PUB posted at once, each its own port message: 300 KiB, far past maxPending. A
    // host feeding them all would overrun the slow reader too; paused, it holds them.
    const payload = "x".repeat(1024);
    for (let i = 0; i < N; i++) {
      publisher.postMessage(enc.encode(`PUB fast 1024\r\n${payload}\r\n`).buffer);
    }
    publisher.postMessage(enc.encode("PING\r\n").buffer);
    await until(() => stuck.closed, "the stuck subscriber closed", 15000);
    equal(stuck.closed, { skiff: "close", code: 1008, reason: "Slow Consumer (Pending Bytes)" }, "stuck close notice");
    await until(() => pongs === 2, "the publisher's PING after every PUB answered", 15000);
    await until(() => slow.count() === N, `the slow reader got every message (${slow.count()})`, 15000);
    equal(slow.closed, null, "the slow reader stays connected");
    equal(broker.stats().slowConsumers, 1, "one slow consumer");
    equal(broker.stats().traffic.inMsgs, N, "every PUB reached the broker");
    publisher.postMessage({ skiff: "close" });
    slow.port.postMessage({ skiff: "close" });
  });

tests["bad input: malformed options throw errors that name the option"] = async () => {
  await initSkiff();
  const cases = [
    [{ maxPayloadd: 1 }, /unknown broker option "maxPayloadd"/],
    [{ maxPayload: "1MB" }, /option maxPayload must be a whole number/],
    [{ pingInterval: -5 }, /option pingInterval/],
    [{ token: "t", users: [{ user: "u" }] }, /cannot be used together/],
    [{ maxPayload: 10, maxPending: 5 }, /max_payload \(10\) cannot be higher than max_pending \(5\)/],
    ["fast", /must be an object/],
  ];
  for (const [options, pattern] of cases) {
    let error = null;
    try {
      new Broker(options);
    } catch (e) {
      error = e;
    }
    assert(error instanceof Error && pattern.test(error.message), `${JSON.stringify(options)} → ${error}`);
  }
  let rejected = null;
  await startBroker({ users: [] }).catch((e) => (rejected = e));
  assert(rejected instanceof Error && /invalid broker options/.test(rejected.message), `startBroker rejects: ${rejected}`);
};

tests["bad input: a second attach of one port, a non-port, a late attach, bad attach options"] = () =>
  withBroker({}, async (broker) => {
    const { port1 } = new MessageChannel();
    const cid = broker.attach(port1);
    assert(cid > 0, "first attach");
    const error = (f) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return null;
    };
    const again = error(() => broker.attach(port1));
    assert(again instanceof Error && /already attached/.test(again.message), `second attach: ${again}`);
    const notPort = error(() => broker.attach({ postMessage() {} }));
    assert(notPort instanceof TypeError && /expected a MessagePort/.test(notPort.message), `non-port: ${notPort}`);
    const badOption = error(() => broker.attach(new MessageChannel().port1, { ack: true }));
    assert(badOption instanceof Error && /unknown attach option "ack"/.test(badOption.message), `bad option: ${badOption}`);
    equal(broker.stats().connections, 1, "only the good attach counted");
    await broker.shutdown();
    const late = error(() => broker.attach(new MessageChannel().port1));
    assert(late instanceof Error && /not accepting/.test(late.message), `attach after shutdown: ${late}`);
  });

tests["bad input: a closed port is noticed and its connection closed"] = () =>
  // A MessagePort tells nobody that its other end closed (where the browser fires the newer
  // `close` event the host listens for it): a dead port is found as natively a dead TCP peer
  // is, by unanswered PINGs, so nothing waits forever on it.
  withBroker({ pingInterval: 100, maxPingsOut: 2 }, async (broker) => {
    const reasons = [];
    broker.on((e) => e.type === "close" && reasons.push(e.reason));
    const { port1, port2 } = new MessageChannel();
    broker.attach(port1);
    port2.close();
    const closedEarly = new MessageChannel();
    closedEarly.port2.close();
    broker.attach(closedEarly.port1);
    equal(broker.stats().connections, 2, "both attached");
    await until(() => broker.stats().connections === 0, "the connections of closed ports are gone", 3000);
    assert(reasons.length === 2 && reasons.every((r) => r === "Stale Connection" || r === "Client Closed"), `close reasons: ${reasons}`);
    // A client that closes its port the documented way is gone at once.
    const polite = broker.clientPort();
    polite.postMessage({ skiff: "close" });
    await until(() => broker.stats().connections === 0, "a client's close message is honoured", 1000);
  });

tests["bad input: garbage gets the nats-server -ERR, a non-protocol message closes the connection"] = () =>
  withBroker({}, async (broker) => {
    const port = broker.clientPort();
    const seen = [];
    port.onmessage = (e) => seen.push(e.data instanceof ArrayBuffer ? dec.decode(e.data) : e.data);
    port.postMessage(enc.encode("HELLO WORLD\r\n").buffer);
    await until(() => seen.some((m) => m?.skiff === "close"), "the close after garbage");
    assert(seen[0].startsWith("INFO {"), "INFO first");
    equal(seen.slice(1), ["-ERR 'Unknown Protocol Operation'\r\n", { skiff: "close", code: 1002, reason: "Protocol Violation" }], "after garbage");

    const other = broker.clientPort();
    const notices = [];
    other.onmessage = (e) => e.data?.skiff && notices.push(e.data);
    other.postMessage("PING\r\n");
    await until(() => notices.length, "the close after a string message");
    equal(notices, [{ skiff: "close", code: 1002, reason: "Protocol Violation" }], "string message");

    // The shim turns garbage from a WebSocket user into the same -ERR and a close event.
    const socket = broker.openSocket("ws://skiff.local");
    socket.binaryType = "arraybuffer";
    const texts = [];
    const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
    socket.onmessage = (e) => {
      texts.push(dec.decode(e.data));
      if (texts.length === 1) socket.send(enc.encode("garbage\r\n"));
    };
    const event = await within(closed, 3000, "the socket close");
    equal(texts[1], "-ERR 'Unknown Protocol Operation'\r\n", "-ERR through the shim");
    equal([event.code, event.wasClean, event.reason], [1002, true, "Protocol Violation"], "close event");
    equal(socket.readyState, WebSocket.CLOSED, "readyState");
    equal(broker.stats().connections, 0, "every connection closed");
  });

tests["the WebSocket shim behaves like a WebSocket: states, INFO first, bufferedAmount, events"] = () =>
  withBroker({}, async (broker) => {
    const socket = broker.openSocket("ws://skiff.local/");
    equal([socket.readyState, socket.bufferedAmount, socket.binaryType], [0, 0, "blob"], "initial state");
    let sendEarly = null;
    try {
      socket.send(new ArrayBuffer(1));
    } catch (e) {
      sendEarly = e;
    }
    assert(sendEarly?.name === "InvalidStateError", "send while connecting throws InvalidStateError");
    socket.binaryType = "arraybuffer";
    const order = [];
    socket.onopen = () => order.push("onopen");
    socket.addEventListener("open", () => order.push("open listener"));
    const first = new Promise((resolve) => socket.addEventListener("message", resolve, { once: true }));
    const event = await within(first, 3000, "the first message");
    assert(event.data instanceof ArrayBuffer, "ArrayBuffer data");
    assert(dec.decode(event.data).startsWith("INFO {"), "INFO first");
    equal(order, ["onopen", "open listener"], "open before the first message");
    equal(socket.readyState, 1, "OPEN");
    socket.send(enc.encode("PING\r\n"));
    const pong = await within(new Promise((resolve) => (socket.onmessage = (e) => resolve(dec.decode(e.data)))), 3000, "PONG");
    equal(pong, "PONG\r\n", "PONG");
    const closed = new Promise((resolve) => (socket.onclose = resolve));
    socket.close(1000, "bye");
    equal(socket.readyState, 2, "CLOSING");
    const close = await within(closed, 3000, "close event");
    equal([close.code, close.reason, close.wasClean, socket.readyState], [1000, "bye", true, 3], "client close");
    await until(() => broker.stats().connections === 0, "the broker saw the client close");

    // Closed while connecting: error, then close 1006, not clean; the broker lets it go.
    const early = broker.openSocket("ws://skiff.local/");
    const events = [];
    early.onerror = () => events.push("error");
    const earlyClose = new Promise((resolve) => (early.onclose = resolve));
    early.close();
    const e = await within(earlyClose, 3000, "close while connecting");
    equal([...events, e.code, e.wasClean], ["error", 1006, false], "close while connecting");
    await until(() => broker.stats().connections === 0, "the early socket's connection is gone");
  });

tests["a broker freed from JavaScript closes its connections instead of leaving them dangling"] = async () => {
  await initSkiff();
  // The wasm-bindgen class under the wrapper has free(), as every wasm-bindgen object does.
  const { Broker: WasmBroker } = await import("/pkg/skiff_wasm.js");
  const raw = new WasmBroker({});
  const port = raw.clientPort();
  const seen = [];
  port.onmessage = (e) => seen.push(e.data instanceof ArrayBuffer ? "bytes" : e.data);
  await until(() => seen.length === 1, "INFO");
  raw.free();
  await until(() => seen.length === 2, "the close notice");
  equal(seen[1], { skiff: "close", code: 1006, reason: "the broker was freed" }, "notice");
  port.postMessage(enc.encode("PING\r\n").buffer);
  await sleep(50);
  equal(seen.length, 2, "nothing after the close");
};

tests["introspection: connections, subscriptions and counters"] = () =>
  withBroker({ serverName: "introspect" }, async (broker) => {
    const nc = await core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), name: "inspector" });
    nc.subscribe("a.*", { queue: "q" });
    nc.subscribe("b.>");
    nc.publish("a.x", enc.encode("12345"));
    await nc.flush();
    const [conn] = broker.connections();
    equal([conn.name, conn.transport, conn.subscriptions], ["inspector", "websocket", 2], "connection");
    assert(/^nats/.test(conn.lang) && conn.version !== "", `lang and version from CONNECT: ${conn.lang} ${conn.version}`);
    equal(broker.subscriptions().map((s) => [s.subject, s.queue]).sort(), [["a.*", "q"], ["b.>", null]], "subscriptions");
    const stats = broker.stats();
    equal([stats.connections, stats.totalConnections, stats.subscriptions, stats.traffic.inMsgs, stats.traffic.inBytes], [1, 1, 2, 1, 5], "stats");
    equal(stats.traffic.outMsgs, 1, "delivered to the queue subscriber");
    assert(nc.info.server_name === "introspect", "server name in INFO");
    await nc.close();
  });

tests["token and user authentication as the core supports them"] = async () => {
  await withBroker({ token: "s3cret" }, async (broker) => {
    const connect = (opts) => core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), reconnect: false, ...opts });
    const ok = await connect({ token: "s3cret" });
    await ok.close();
    let refused = null;
    await connect({ token: "wrong" }).catch((e) => (refused = e));
    assert(refused && /Authorization Violation/i.test(String(refused.message) + String(refused.cause?.message)), `bad token refused: ${refused}`);
  });
  await withBroker({ users: [{ user: "ann", password: "pw", permissions: { publish: ["ok.>"] } }] }, async (broker) => {
    const nc = await core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), user: "ann", pass: "pw" });
    const sub = nc.subscribe("ok.go");
    nc.publish("ok.go", enc.encode("y"));
    equal(dec.decode((await take(sub, 1))[0].data), "y", "permitted publish");
    await nc.close();
  });
};

/** The error `f()` throws, or null. */
function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}

/** Every message on `subject`, as they arrive (a callback subscription). */
function collect(nc, subject) {
  const got = [];
  nc.subscribe(subject, { callback: (_e, m) => got.push(m) });
  return got;
}

/** Collects a client's status event types (reconnect, staleConnection, ...). */
function statusTypes(nc) {
  const events = [];
  (async () => {
    for await (const s of nc.status()) events.push(s.type);
  })();
  return events;
}

tests["faults: a nats-core client reconnects and resubscribes after inject close"] = () =>
  withBroker({}, withShim("ws://skiff.local", async (broker) => {
    const nc = await core.wsconnect({ servers: "ws://skiff.local", name: "victim", reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    const other = await core.wsconnect({ servers: "ws://skiff.local", name: "other" });
    try {
      const sub = nc.subscribe("after.fault");
      await nc.flush();
      const events = statusTypes(nc);
      const victim = broker.connections().find((c) => c.name === "victim");
      const closes = [];
      broker.on("close", (e) => closes.push(e));
      const id = broker.inject({ fault: "close", name: "victim", err: "Stale Connection" });
      assert(Number.isInteger(id) && id >= 0, `inject returns the fault id (${id})`);
      equal(broker.faults(), [], "a close is done at once: nothing stays active");
      equal(closes.map((e) => [e.cid, e.reason]), [[victim.cid, "Fault Injected"]], "the victim was closed by the fault");
      await until(() => events.includes("reconnect"), `a reconnect event (saw ${events})`);
      await until(() => broker.connections().some((c) => c.name === "victim" && c.cid !== victim.cid), "the client reconnected with a new cid");
      await until(() => broker.subscriptions().some((s) => s.subject === "after.fault" && s.cid !== victim.cid), "its subscription was replayed");
      other.publish("after.fault", enc.encode("back"));
      equal(dec.decode((await take(sub, 1))[0].data), "back", "message after the reconnect");
      assert(broker.connections().some((c) => c.name === "other" && c.cid !== victim.cid), "the other client was left alone");
    } finally {
      await nc.close();
      await other.close();
    }
  }));

tests["faults: ignore_pings makes a nats-core client's stale detection fire"] = () =>
  withBroker({}, async (broker) => {
    const nc = await core.wsconnect({
      servers: "ws://skiff.local",
      wsFactory: broker.wsFactory(),
      name: "sleepy",
      pingInterval: 100,
      maxPingOut: 2,
      reconnectTimeWait: 50,
      maxReconnectAttempts: -1,
    });
    try {
      const events = statusTypes(nc);
      const got = collect(nc, "still.there");
      await nc.flush();
      // By cid: the connection the client makes after its stale detection is answered.
      const { cid } = broker.connections().find((c) => c.name === "sleepy");
      const id = broker.inject({ fault: "ignore_pings", cid });
      const [active] = broker.faults();
      equal([active.id, active.until_ms, active.remaining], [id, null, null], "listed until cleared");
      assert(/IgnorePings/.test(active.fault), `described: ${active.fault}`);
      await until(() => events.includes("staleConnection"), `the client's stale detection fired (saw ${events})`, 5000);
      await until(() => events.includes("reconnect"), `the client reconnected on a new connection (saw ${events})`, 5000);
      assert(broker.connections().some((c) => c.name === "sleepy" && c.cid !== cid), "a new connection");
      broker.clear(id);
      equal(broker.faults(), [], "cleared");
      await nc.flush();
      nc.publish("still.there", enc.encode("pong again"));
      await until(() => got.length === 1, "a message after the reconnect");
      equal(dec.decode(got[0].data), "pong again", "works after the reconnect");
    } finally {
      await nc.close();
    }
  });

tests["faults: split_writes into 1-byte pieces still delivers intact messages"] = () =>
  withBroker({}, async (broker) => {
    const connect = (name) => core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), name });
    const reader = await connect("reader");
    const writer = await connect("writer");
    try {
      const got = collect(reader, "split.>");
      await reader.flush();
      const before = broker.connections().find((c) => c.name === "reader").traffic.outMsgs;
      const id = broker.inject({ fault: "split_writes", name: "reader", chunk: 1 });
      equal(broker.faults().map((f) => f.id), [id], "listed");
      const payloads = ["a", "hello, world", "x".repeat(300), ""];
      const h = core.headers();
      h.set("X-Split", "yes");
      for (const [i, p] of payloads.entries()) writer.publish(`split.${i}`, enc.encode(p), i === 1 ? { headers: h } : {});
      await writer.flush();
      await until(() => got.length === payloads.length, `every split message (${got.length})`, 10000);
      equal(got.map((m) => [m.subject, dec.decode(m.data)]), payloads.map((p, i) => [`split.${i}`, p]), "intact messages in order");
      equal(got[1].headers?.get("X-Split"), "yes", "headers intact");
      const after = broker.connections().find((c) => c.name === "reader").traffic.outMsgs;
      equal(after - before, payloads.length, "counted as whole messages");
      broker.clear(id);
      writer.publish("split.after", enc.encode("whole"));
      await until(() => got.length === payloads.length + 1, "the message after clear");
      equal(dec.decode(got.at(-1).data), "whole", "after clear");

      // On the wire: a raw port sees one-byte posts that add up to the exact MSG.
      const raw = broker.clientPort();
      const posts = [];
      raw.onmessage = (e) => e.data instanceof ArrayBuffer && posts.push(new Uint8Array(e.data));
      raw.postMessage(enc.encode('CONNECT {"verbose":false,"name":"raw"}\r\nSUB raw.x 7\r\nPING\r\n').buffer);
      await until(() => posts.length && dec.decode(posts.at(-1)).endsWith("PONG\r\n"), "the raw client subscribed");
      const cut = broker.inject({ fault: "split_writes", name: "raw", chunk: 1 });
      posts.length = 0;
      writer.publish("raw.x", enc.encode("hello"));
      const expected = "MSG raw.x 7 5\r\nhello\r\n";
      await until(() => posts.length === expected.length, `one post per byte (${posts.length})`);
      assert(posts.every((p) => p.length === 1), "every post is one byte");
      equal(posts.map((p) => dec.decode(p)).join(""), expected, "the bytes add up to the MSG");
      broker.clear(cut);
      raw.postMessage({ skiff: "close" });
    } finally {
      await reader.close();
      await writer.close();
    }
  });

tests["faults: drop the next N messages on a subject"] = () =>
  withBroker({}, async (broker) => {
    const nc = await core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory() });
    try {
      const sub = nc.subscribe("orders.*");
      await nc.flush();
      const id = broker.inject({ fault: "drop", subject: "orders.new", count: 2 });
      equal(broker.faults().map((f) => [f.id, f.remaining]), [[id, 2]], "listed with its count");
      nc.publish("orders.new", enc.encode("0"));
      nc.publish("orders.paid", enc.encode("other subject"));
      await nc.flush();
      equal(broker.faults().map((f) => f.remaining), [1], "one drop left");
      for (const n of ["1", "2", "3"]) nc.publish("orders.new", enc.encode(n));
      await nc.flush();
      const got = await take(sub, 3);
      equal(got.map((m) => `${m.subject}:${dec.decode(m.data)}`), ["orders.paid:other subject", "orders.new:2", "orders.new:3"], "the first two on orders.new were dropped");
      equal(broker.faults(), [], "the fault ended after its last drop");
    } finally {
      await nc.close();
    }
  });

tests["faults: faults() lists withhold and delay, clear releases held messages, a JSON string works"] = () =>
  withBroker({}, async (broker) => {
    const nc = await core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory() });
    try {
      const got = collect(nc, "events.*");
      await nc.flush();
      const hold = broker.inject('{"fault":"withhold","subject":"events.a"}');
      const delay = broker.inject({ fault: "delay", subject: "events.b", by_ms: 100, for_ms: 60000 });
      assert(delay > hold, "ids increase");
      nc.publish("events.a", enc.encode("held 1"));
      nc.publish("events.a", enc.encode("held 2"));
      await nc.flush();
      const listed = broker.faults();
      equal(listed.map((f) => [f.id, f.held, f.remaining]), [[hold, 2, null], [delay, 0, null]], "listed oldest first");
      assert(listed[1].until_ms - listed[1].since_ms === 60000, `delay lasts for_ms (${JSON.stringify(listed[1])})`);
      const start = performance.now();
      nc.publish("events.b", enc.encode("late"));
      await until(() => got.length === 1, "the delayed message");
      equal(dec.decode(got[0].data), "late", "delayed message arrives");
      assert(performance.now() - start >= 90, `delayed by about by_ms (${performance.now() - start} ms)`);
      broker.clear(hold);
      equal(broker.faults().map((f) => f.id), [delay], "clear removes only that fault");
      await until(() => got.length === 3, "the withheld messages");
      equal(got.slice(1).map((m) => dec.decode(m.data)), ["held 1", "held 2"], "withheld messages released in order");
      broker.clear(delay);
      equal(broker.faults(), [], "nothing left");
    } finally {
      await nc.close();
    }
  });

tests["faults: refuse_connects, close_next_subscriber and async_info with nats-core"] = () =>
  withBroker({}, async (broker) => {
    const connect = (opts) => core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), ...opts });
    // Refused connects, each the way nats-server refuses them, then a connect succeeds.
    broker.inject({ fault: "refuse_connects", count: 1 });
    broker.inject({ fault: "refuse_connects", count: 1, refusal: "max_connections" });
    equal(broker.faults().map((f) => f.remaining), [1, 1], "two refusals pending");
    const failures = [];
    for (let i = 0; i < 2; i++) {
      const e = await connect({ reconnect: false }).then(() => null, (error) => error);
      failures.push(String(e?.message) + String(e?.cause?.message ?? ""));
    }
    assert(failures.some((f) => /maximum connections exceeded/i.test(f)), `max connections refusal: ${failures}`);
    assert(failures.some((f) => /Authorization Violation/i.test(f)), `authorization refusal: ${failures}`);
    equal(broker.faults(), [], "both refusals used up");
    const nc = await connect({ name: "sub", reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    const other = await connect({ name: "pub" });
    try {
      const events = statusTypes(nc);
      // The next subscriber to jobs.> is closed right after its SUB; the resubscription on
      // the new connection is let through.
      broker.inject({ fault: "close_next_subscriber", subject: "jobs.>" });
      const got = collect(nc, "jobs.a");
      await until(() => events.includes("reconnect"), `closed after SUB and reconnected (saw ${events})`);
      equal(broker.faults(), [], "close_next_subscriber fired once");
      await until(() => broker.subscriptions().some((s) => s.subject === "jobs.a"), "resubscribed");
      other.publish("jobs.a", enc.encode("job"));
      await until(() => got.length === 1, "a job after the resubscription");
      // An async INFO announcing lame duck mode.
      broker.inject({ fault: "async_info", name: "sub", ldm: true });
      await until(() => events.includes("ldm"), `the client saw ldm (saw ${events})`);
      equal(broker.phase(), "running", "only the INFO: the broker keeps running");
    } finally {
      await nc.close();
      await other.close();
    }
  });

tests["faults: pause_reading holds a publisher's input until cleared, losing nothing"] = () =>
  withBroker({}, async (broker) => {
    const connect = (name) => core.wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory(), name });
    const publisher = await connect("publisher");
    const reader = await connect("reader");
    try {
      const got = collect(reader, "paused.x");
      await reader.flush();
      const id = broker.inject({ fault: "pause_reading", name: "publisher" });
      for (let i = 0; i < 5; i++) publisher.publish("paused.x", enc.encode(String(i)));
      let flushed = false;
      const flush = publisher.flush().then(() => (flushed = true));
      await sleep(200);
      equal([flushed, got.length, broker.stats().traffic.inMsgs], [false, 0, 0], "nothing read while paused");
      broker.clear(id);
      await within(flush, 3000, "the flush once reading resumes");
      await until(() => got.length === 5, `every message after the pause (${got.length})`);
      equal(got.map((m) => dec.decode(m.data)), ["0", "1", "2", "3", "4"], "in order");
    } finally {
      await publisher.close();
      await reader.close();
    }
  });

tests["faults: a bad fault gets a clear error and changes nothing"] = () =>
  withBroker({}, async (broker) => {
    const cases = [
      [{ fault: "explode" }, Error, /bad fault: unknown fault "explode"/],
      [{ fault: "drop", count: 1 }, Error, /bad fault: "drop" needs a "subject"/],
      [{ fault: "drop", subject: "a", count: 1, colour: "red" }, Error, /bad fault: unknown field `colour`/],
      [{ fault: "close", cid: 1, name: "x" }, Error, /give "cid" or "name", not both/],
      ['{"fault":', Error, /bad fault: EOF/],
      [{ fault: "close", name: "nobody" }, Error, /no open connection matches the target/],
      [{ fault: "drop", subject: "a..b", count: 1 }, Error, /invalid fault: the subject is not a valid subject or pattern/],
      [{ fault: "ignore_pings", for_ms: 0 }, Error, /invalid fault: the duration is zero/],
      [42, TypeError, /inject\(fault\): expected an object or a JSON string, got number/],
      [undefined, TypeError, /expected an object or a JSON string/],
    ];
    for (const [fault, kind, pattern] of cases) {
      const error = thrown(() => broker.inject(fault));
      assert(error instanceof kind && pattern.test(error.message), `${JSON.stringify(fault)} → ${error}`);
    }
    equal(broker.faults(), [], "no bad fault was kept");
    const unknown = thrown(() => broker.clear(999));
    assert(unknown instanceof Error && /no active fault fault#999/.test(unknown.message), `clear(999): ${unknown}`);
    const notId = thrown(() => broker.clear(-1));
    assert(notId instanceof TypeError && /expected a fault id/.test(notId.message), `clear(-1): ${notId}`);
    await broker.shutdown();
    const late = thrown(() => broker.inject({ fault: "drop", subject: "a", count: 1 }));
    assert(late instanceof Error && /shutting down/.test(late.message), `inject after shutdown: ${late}`);
  });

tests["faults: inject, faults and clear through a RemoteBroker to a Worker's broker"] = async () => {
  const worker = new Worker("/pkg/worker.js", { type: "module" });
  const remote = new RemoteBroker(worker);
  try {
    const nc = await within(core.wsconnect({ servers: "ws://skiff.local", wsFactory: remote.wsFactory() }), 10000, "connecting to the worker");
    const sub = nc.subscribe("remote.x");
    await nc.flush();
    const id = await remote.call("inject", { fault: "drop", subject: "remote.x", count: 1 });
    equal((await remote.call("faults")).map((f) => [f.id, f.remaining]), [[id, 1]], "listed remotely");
    nc.publish("remote.x", enc.encode("dropped"));
    nc.publish("remote.x", enc.encode("kept"));
    equal(dec.decode((await take(sub, 1))[0].data), "kept", "dropped in the worker's broker");
    const hold = await remote.call("inject", '{"fault":"withhold","subject":"remote.y"}');
    await remote.call("clear", hold);
    equal(await remote.call("faults"), [], "cleared remotely");
    let bad = null;
    await remote.call("inject", { fault: "nope" }).catch((e) => (bad = e));
    assert(/bad fault: unknown fault "nope"/.test(bad?.message), `a bad fault's error crosses over: ${bad}`);
    await nc.close();
    await remote.call("shutdown");
  } finally {
    worker.terminate();
  }
};

tests["notices: what nats-server would log reaches on(\"notice\"), nothing is logged to the console"] = () =>
  withBroker({}, async (broker) => {
    const notices = [];
    broker.on("notice", (n) => notices.push(n));
    const all = [];
    broker.on((e) => all.push(e.type));
    const logged = [];
    const originals = {};
    for (const level of ["log", "debug", "info", "warn", "error"]) {
      originals[level] = console[level];
      console[level] = (...args) => logged.push([level, ...args]);
    }
    try {
      const port = broker.clientPort();
      const seen = [];
      port.onmessage = (e) => seen.push(e.data);
      port.postMessage(enc.encode("HELLO WORLD\r\n").buffer);
      await until(() => seen.some((m) => m?.skiff === "close"), "the close after garbage");
    } finally {
      Object.assign(console, originals);
    }
    equal(logged, [], "the broker wrote nothing to the console");
    assert(notices.every((n) => n.type === "notice"), "on(\"notice\") gets only notices");
    const created = notices.find((n) => /Client connection created/.test(n.text));
    assert(created && created.level === "debug" && Number.isInteger(created.cid), `created notice: ${JSON.stringify(notices)}`);
    assert(created.text.includes(`cid:${created.cid}`), `nats-server's client label: ${created.text}`);
    const parser = notices.find((n) => n.level === "error");
    assert(parser && /Client parser ERROR/.test(parser.text), `the parser error as nats-server logs it: ${JSON.stringify(notices)}`);
    assert(notices.some((n) => /Client connection closed/.test(n.text)), "the close notice");
    assert(all.includes("notice") && all.includes("connect") && all.includes("close"), `on(listener) gets every event: ${all}`);
  });

window.skiffTests = tests;
window.skiffReady = true;
