// Skiff in the browser: a NATS broker in this page, Worker or SharedWorker.
//
// This module only moves bytes and events. The broker (protocol, routing, limits, timers,
// lifecycle) is the Rust core in skiff_wasm_bg.wasm; here live the pieces that are natural in
// JavaScript: a W3C WebSocket-compatible socket over a MessagePort, `wsFactory` for the NATS
// JS clients, a scoped replacement of `globalThis.WebSocket`, and the plumbing that hands
// ports to a broker living in another realm (a Worker or a SharedWorker).
//
// The port protocol (see the Rust crate's documentation): ArrayBuffers of NATS protocol
// bytes both ways; `{ skiff: "ack", bytes }` and `{ skiff: "close" }` from the client;
// `{ skiff: "close", code, reason }` from the broker.

import init, { Broker as WasmBroker } from "./skiff_wasm.js";

let loading;
let loaded = false;

/** Loads the wasm module once (optionally from `source`: a URL, bytes or a WebAssembly.Module). */
export function initSkiff(source) {
  loading ??= init(source === undefined ? undefined : { module_or_path: source }).then(
    (exports) => {
      loaded = true;
      return exports;
    },
    (error) => {
      // A failed load (a wrong URL, a network error) may be retried.
      loading = undefined;
      throw new Error(`skiff-wasm could not load its .wasm: ${error?.message ?? error}`, { cause: error });
    },
  );
  return loading;
}

/** Starts a broker in this realm once the wasm module is loaded. */
export async function startBroker(options) {
  await initSkiff();
  return new Broker(options);
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** What both a local and a remote broker offer on top of `clientPort`. */
class PortSource {
  /** A W3C WebSocket-compatible socket connected to this broker. */
  openSocket(url = "ws://skiff.local") {
    return new SkiffWebSocket(url, () => this.clientPort({ acks: true, transport: "websocket" }));
  }

  /** A `wsFactory` for `wsconnect({ servers, wsFactory })` (@nats-io/nats-core 3.x) and
   * `connect({ servers, wsFactory })` (nats.ws 1.x). */
  wsFactory() {
    return async (url) => ({ socket: this.openSocket(url), encrypted: false });
  }

  /**
   * Replaces `globalThis.WebSocket` so that sockets to `urls` (a URL, an array of URLs, or a
   * predicate) connect to this broker; every other URL gets the real WebSocket. Returns a
   * function that restores the original; a local broker's shutdown restores it too.
   */
  installWebSocket(urls = "ws://skiff.local") {
    const uninstall = installWebSocket(urls, (url) => this.openSocket(url));
    this.#uninstalls.push(uninstall);
    return uninstall;
  }

  /** Restores every `globalThis.WebSocket` this broker replaced. */
  uninstallWebSockets() {
    for (const uninstall of this.#uninstalls.splice(0)) uninstall();
  }

  #uninstalls = [];
}

/** Brokers that have not stopped: a running broker lives until it is shut down, like a
 * server, even when the page keeps no reference to it (its clients hold only ports). */
const running = new Set();

/** A broker in this realm. */
export class Broker extends PortSource {
  #inner;
  #listeners = new Set();

  /** Starts a broker (`initSkiff()` must have resolved; `startBroker` does both). */
  constructor(options) {
    super();
    if (!loaded) {
      throw new Error("skiff-wasm is not loaded yet: await initSkiff() first, or use startBroker()");
    }
    this.#inner = new WasmBroker(options);
    running.add(this);
    this.#inner.setListener((event) => {
      if (event.type === "stopped") {
        this.uninstallWebSockets();
        running.delete(this);
      }
      for (const { type, listener } of this.#listeners) {
        if (type !== undefined && type !== event.type) continue;
        try {
          listener(event);
        } catch (error) {
          reportError(error);
        }
      }
    });
  }

  /** Attaches `port` as one client connection; returns its cid. */
  attach(port, options) {
    return this.#inner.attach(port, options);
  }

  /** A fresh MessagePort connected to the broker (protocol bytes as ArrayBuffers). */
  clientPort(options) {
    return this.#inner.clientPort(options);
  }

  /** Broker-wide counters. */
  stats() {
    return this.#inner.stats();
  }

  /** Open connections. */
  connections() {
    return this.#inner.connections();
  }

  /** Subscriptions, with their connection's cid. */
  subscriptions() {
    return this.#inner.subscriptions();
  }

  /** "running", "lameDuck", "draining" or "stopped". */
  phase() {
    return this.#inner.phase();
  }

  /** The server id sent in INFO. */
  serverId() {
    return this.#inner.serverId();
  }

  /** Closes one connection from the server side; false if there is none. */
  closeConnection(cid) {
    return this.#inner.closeConnection(cid);
  }

  /** Enters lame duck mode; false if already requested. */
  lameDuck() {
    return this.#inner.lameDuck();
  }

  /** Shuts down once; every call returns a promise resolved when the broker has stopped. */
  shutdown() {
    return this.#inner.shutdown();
  }

  /**
   * Injects a fault (the core's fault injection, the same set as the native daemon): the JSON
   * form of `$SKIFF.FAULT.INJECT`, as an object or a JSON string, e.g.
   * `{ fault: "drop", subject: "orders.new", count: 3 }`. Returns the fault's id; throws an
   * Error saying what is wrong with a bad fault.
   */
  inject(fault) {
    return this.#inner.inject(fault);
  }

  /** Ends the active fault `id`; throws if no such fault is active. */
  clear(id) {
    return this.#inner.clear(id);
  }

  /** The active faults: `{ id, fault, since_ms, until_ms, remaining, held }`. */
  faults() {
    return this.#inner.faults();
  }

  /**
   * `on(listener)`: calls `listener` with every event, `{ type: "connect" | "close" |
   * "stopListening" | "stopped" | "notice", ... }`; `on(type, listener)`: only events of that
   * type (`on("notice", ({ level, text, cid }) => ...)` gets what nats-server would log).
   * Returns a function that removes the listener. The broker logs nothing itself.
   */
  on(type, listener) {
    const entry = typeof type === "function" ? { listener: type } : { type, listener };
    if (typeof entry.listener !== "function") throw new TypeError("on: expected a listener function");
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /**
   * Serves clients and calls arriving on `endpoint` (a MessagePort, a Worker, a worker's
   * global scope, or a SharedWorker's connect port): `{ skiff: "connect", port, options }`
   * attaches `port`; `{ skiff: "call", id, method, args }` answers with `{ skiff: "result",
   * id, value | error }`. Returns a function that stops serving.
   */
  serve(endpoint) {
    const onMessage = (event) => {
      const message = event.data;
      if (!message || typeof message !== "object") return;
      if (message.skiff === "connect") {
        try {
          this.attach(message.port, message.options);
        } catch (error) {
          refuse(message.port, error);
        }
      } else if (message.skiff === "call") {
        answer(endpoint, message, () => {
          if (!REMOTE_METHODS.has(message.method)) {
            throw new Error(`unknown broker method ${JSON.stringify(message.method)}`);
          }
          return this[message.method](...(message.args ?? []));
        });
      }
    };
    endpoint.addEventListener("message", onMessage);
    endpoint.start?.();
    return () => endpoint.removeEventListener("message", onMessage);
  }
}

const REMOTE_METHODS = new Set([
  "stats",
  "connections",
  "subscriptions",
  "phase",
  "serverId",
  "closeConnection",
  "lameDuck",
  "shutdown",
  "inject",
  "clear",
  "faults",
]);

function refuse(port, error) {
  if (port && typeof port.postMessage === "function") {
    port.postMessage({ skiff: "close", code: 1011, reason: String(error?.message ?? error) });
    port.close();
  }
}

async function answer(endpoint, message, call) {
  try {
    const value = await call();
    endpoint.postMessage({ skiff: "result", id: message.id, value });
  } catch (error) {
    endpoint.postMessage({ skiff: "result", id: message.id, error: String(error?.message ?? error) });
  }
}

/**
 * A broker in another realm, reached through `endpoint` (a Worker, a MessagePort such as a
 * SharedWorker's `port`, or a worker's global scope) where `broker.serve(...)` listens.
 */
export class RemoteBroker extends PortSource {
  #endpoint;
  #calls = new Map();
  #nextId = 1;

  constructor(endpoint) {
    super();
    this.#endpoint = endpoint;
    endpoint.addEventListener("message", (event) => {
      const message = event.data;
      if (message?.skiff !== "result") return;
      const call = this.#calls.get(message.id);
      if (!call) return;
      this.#calls.delete(message.id);
      if ("error" in message) call.reject(new Error(message.error));
      else call.resolve(message.value);
    });
    endpoint.start?.();
  }

  /** A fresh MessagePort connected to the remote broker. */
  clientPort(options) {
    const { port1, port2 } = new MessageChannel();
    this.#endpoint.postMessage({ skiff: "connect", port: port1, options }, [port1]);
    return port2;
  }

  /** Calls a broker method remotely (stats, connections, subscriptions, phase, serverId,
   * closeConnection, lameDuck, shutdown, inject, clear, faults); resolves with its result. */
  call(method, ...args) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#endpoint.postMessage({ skiff: "call", id, method, args });
    });
  }
}

/** Sockets open in this realm: a page that goes away closes them, as a browser closes its
 * WebSockets on unload (a broker in a SharedWorker then sees its clients leave at once). */
const openSockets = new Set();
/** Between `pagehide` and `pageshow`: sockets opened then (a client reconnecting as its socket
 * is closed on the way out) fail at once instead of leaving a connection nobody will close. */
let leaving = false;
if (typeof globalThis.addEventListener === "function" && "onpagehide" in globalThis) {
  globalThis.addEventListener("pagehide", () => {
    leaving = true;
    for (const socket of openSockets) socket.close();
  });
  globalThis.addEventListener("pageshow", () => (leaving = false));
}

/** A W3C WebSocket-compatible socket whose other end is a Skiff broker port. */
export class SkiffWebSocket extends EventTarget {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSING = CLOSING;
  static CLOSED = CLOSED;
  CONNECTING = CONNECTING;
  OPEN = OPEN;
  CLOSING = CLOSING;
  CLOSED = CLOSED;

  url;
  protocol = "";
  extensions = "";
  binaryType = "blob";
  bufferedAmount = 0;
  readyState = CONNECTING;
  onopen = null;
  onmessage = null;
  onerror = null;
  onclose = null;
  #port;

  /** Opens a socket to `url` over the port `openPort()` returns (it may throw: the socket
   * then fails as a refused WebSocket does, with `error` and `close` 1006). */
  constructor(url, openPort) {
    super();
    this.url = String(url);
    try {
      if (leaving) throw new Error("the page is being left");
      this.#port = openPort();
    } catch (error) {
      queueMicrotask(() => this.#closed(1006, String(error?.message ?? error), false));
      return;
    }
    this.#port.onmessage = (event) => this.#receive(event.data);
    openSockets.add(this);
  }

  /** Sends bytes (ArrayBuffer, a typed array or DataView, or a string as UTF-8). */
  send(data) {
    if (this.readyState === CONNECTING) {
      throw new DOMException("Still in CONNECTING state.", "InvalidStateError");
    }
    if (this.readyState !== OPEN) return;
    const bytes = copyBytes(data);
    this.#port.postMessage(bytes, [bytes]);
  }

  /** Closes the socket; the broker sees the client close. */
  close(code, reason = "") {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
      throw new DOMException(`The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`, "InvalidAccessError");
    }
    if (this.readyState === CLOSING || this.readyState === CLOSED) return;
    // Closing before the broker's first bytes fails the connection, as a WebSocket does.
    const connecting = this.readyState === CONNECTING;
    this.readyState = CLOSING;
    this.#port?.postMessage({ skiff: "close" });
    this.#port?.close();
    queueMicrotask(() => (connecting ? this.#closed(1006, "", false) : this.#closed(code ?? 1005, reason, true)));
  }

  #receive(data) {
    if (data instanceof ArrayBuffer) {
      if (this.readyState === CONNECTING) {
        this.readyState = OPEN;
        this.#fire(new Event("open"));
      }
      if (this.readyState !== OPEN) return;
      const payload = this.binaryType === "arraybuffer" ? data : new Blob([data]);
      const length = data.byteLength;
      this.#fire(new MessageEvent("message", { data: payload, origin: originOf(this.url) }));
      this.#port.postMessage({ skiff: "ack", bytes: length });
    } else if (data?.skiff === "close") {
      const wasOpen = this.readyState !== CONNECTING;
      this.#port.close();
      this.#closed(wasOpen ? data.code : 1006, data.reason ?? "", wasOpen);
    }
  }

  #closed(code, reason, wasClean) {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    openSockets.delete(this);
    if (!wasClean) this.#fire(new Event("error"));
    this.#fire(closeEvent(code, reason, wasClean));
  }

  #fire(event) {
    const handler = this[`on${event.type}`];
    if (typeof handler === "function") {
      try {
        handler.call(this, event);
      } catch (error) {
        reportError(error);
      }
    }
    this.dispatchEvent(event);
  }
}

function copyBytes(data) {
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (ArrayBuffer.isView(data)) {
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  }
  if (typeof data === "string") return new TextEncoder().encode(data).buffer;
  throw new TypeError("SkiffWebSocket.send: expected an ArrayBuffer, a typed array or a string");
}

function closeEvent(code, reason, wasClean) {
  if (typeof CloseEvent === "function") return new CloseEvent("close", { code, reason, wasClean });
  const event = new Event("close");
  Object.defineProperties(event, {
    code: { value: code },
    reason: { value: reason },
    wasClean: { value: wasClean },
  });
  return event;
}

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}

function reportError(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else setTimeout(() => { throw error; });
}

/** Whether socket `url` is one of `patterns` (same origin; same path when a pattern has one). */
function urlMatcher(patterns) {
  if (typeof patterns === "function") return patterns;
  const list = [].concat(patterns).map((p) => new URL(p));
  return (url) => {
    let target;
    try {
      target = new URL(url);
    } catch {
      return false;
    }
    return list.some(
      (p) => p.origin === target.origin && (p.pathname === "/" || p.pathname === target.pathname),
    );
  };
}

/**
 * Replaces `globalThis.WebSocket` with a constructor that gives `open(url)` for matching URLs
 * and the real WebSocket for every other URL. Returns the function that restores it.
 */
export function installWebSocket(urls, open) {
  const matches = urlMatcher(urls);
  const Real = globalThis.WebSocket;
  let active = true;
  function WebSocket(url, protocols) {
    if (active && matches(String(url))) return open(String(url));
    if (!Real) throw new Error(`no WebSocket implementation for ${url}`);
    return new Real(url, protocols);
  }
  Object.assign(WebSocket, { CONNECTING, OPEN, CLOSING, CLOSED });
  if (Real) WebSocket.prototype = Real.prototype;
  globalThis.WebSocket = WebSocket;
  return () => {
    active = false;
    if (globalThis.WebSocket === WebSocket) globalThis.WebSocket = Real;
  };
}
