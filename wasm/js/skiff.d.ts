// Types of skiff-wasm's JavaScript API (js/skiff.js).

/** Broker options; durations in milliseconds. Every mistake throws an Error naming the option. */
export interface BrokerOptions {
  serverName?: string;
  serverId?: string;
  host?: string;
  port?: number;
  headers?: boolean;
  maxPayload?: number;
  maxControlLine?: number;
  maxPending?: number;
  maxConnections?: number;
  maxSubscriptions?: number;
  pingInterval?: number;
  maxPingsOut?: number;
  noShortFirstPing?: boolean;
  authTimeout?: number;
  lameDuckDuration?: number;
  lameDuckGracePeriod?: number;
  token?: string;
  users?: Array<{
    user: string;
    password?: string;
    permissions?: {
      publish?: string | string[] | { allow?: string | string[]; deny?: string | string[] };
      subscribe?: string | string[] | { allow?: string | string[]; deny?: string | string[] };
      /** Publish to reply subjects received (default 1 response within 120000 ms). */
      allowResponses?: boolean | { max?: number; expires?: number };
    };
  }>;
  noAuthUser?: string;
  /** Hubs this broker joins as a leaf node, over the page's WebSocket to each hub's
   * websocket listener (`ws://` or `wss://`; `/leafnode` is appended to the path). */
  leafRemotes?: Array<{
    url?: string;
    urls?: string | string[];
    /** Subjects whose hub messages are dropped and whose local interest is not announced. */
    denyImports?: string | string[];
    /** Subjects whose local messages never cross to the hub. */
    denyExports?: string | string[];
    /** The local account the link binds to (one of `accounts`; default the global one). */
    account?: string;
  }>;
  /** Milliseconds between attempts to (re)connect a leaf remote (default 1000). */
  leafReconnect?: number;
  /** Accounts, as nats-server's `accounts {}` block: isolated subject spaces joined only by
   * exports and imports. Users listed here belong to their account; `users` above are in
   * the global account. */
  accounts?: Record<string, {
    users?: BrokerOptions["users"];
    exports?: Array<{
      stream?: string;
      service?: string;
      /** The accounts that may import it (default: any). */
      accounts?: string[];
      responseType?: "singleton" | "stream" | "chunked";
      /** Milliseconds a response may take (default 120000). */
      responseThreshold?: number;
    }>;
    imports?: Array<{
      stream?: { account: string; subject: string };
      service?: { account: string; subject: string };
      /** The subject in this account (a mapping; `*`, `$1` and `{{wildcard(1)}}` work). */
      to?: string;
      /** A stream's prefix in this account. */
      prefix?: string;
    }>;
  }>;
  /** The system account's name (default "$SYS"): its users may ask $SYS.REQ.SERVER.PING. */
  systemAccount?: string;
}

/** How a port is attached. */
export interface AttachOptions {
  /** The client sends `{ skiff: "ack", bytes }` for what it consumed (default false). */
  acks?: boolean;
  /** Reported in introspection (default "port"). */
  transport?: "port" | "websocket";
}

export interface Traffic {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
}

export interface Stats {
  traffic: Traffic;
  connections: number;
  totalConnections: number;
  subscriptions: number;
  slowConsumers: number;
  staleConnections: number;
}

export interface ConnectionInfo {
  cid: number;
  transport: "port" | "websocket" | "tcp";
  name: string;
  lang: string;
  version: string;
  /** Milliseconds since the broker started. */
  start: number;
  lastActivity: number;
  traffic: Traffic;
  subscriptions: number;
  pendingBytes: number;
}

export interface SubscriptionInfo {
  cid: number;
  subject: string;
  queue: string | null;
  sid: string;
  delivered: number;
  max: number | null;
}

export type Phase = "running" | "lameDuck" | "draining" | "stopped";

/** What nats-server would log about a connection; the broker logs nothing itself. */
export interface NoticeEvent {
  type: "notice";
  level: "debug" | "info" | "error";
  /** nats-server's log line without timestamp and level, e.g. `cid:5 - "v3.0.0:nats.js:app" - Client connection created`. */
  text: string;
  /** The connection's cid, or null once it is gone. */
  cid: number | null;
}

export type BrokerEvent =
  | { type: "connect"; cid: number; transport: "port" | "websocket" }
  | { type: "close"; cid: number; reason: string }
  | { type: "stopListening" }
  | { type: "stopped" }
  | NoticeEvent;

/** Which connections a fault targets: `cid` or `name` (neither: every connection). */
export interface FaultTarget {
  cid?: number;
  name?: string;
}

/**
 * A fault to inject, the JSON form of the daemon's `$SKIFF.FAULT.INJECT` (durations in
 * milliseconds; without `for_ms` a lasting fault stays until cleared).
 */
export type FaultSpec =
  | ({ fault: "close"; err?: string } & FaultTarget)
  | { fault: "close_next_subscriber"; subject: string; err?: string }
  | ({ fault: "ignore_pings"; for_ms?: number } & FaultTarget)
  | { fault: "withhold"; subject: string; for_ms?: number }
  | { fault: "delay"; subject: string; by_ms: number; for_ms?: number }
  | { fault: "drop"; subject: string; count: number }
  | ({ fault: "split_writes"; chunk: number; delay_ms?: number; for_ms?: number } & FaultTarget)
  | ({ fault: "async_info"; connect_urls?: string[]; ldm?: boolean } & FaultTarget)
  | { fault: "refuse_connects"; count: number; refusal?: "authorization" | "max_connections" }
  | ({ fault: "pause_reading"; for_ms?: number } & FaultTarget);

/** An active fault, as `$SKIFF.FAULT.LIST` shows it (instants: ms of the broker's clock). */
export interface FaultInfo {
  id: number;
  /** A description of the fault. */
  fault: string;
  since_ms: number;
  until_ms: number | null;
  /** What is left of its count (messages to drop, connects to refuse). */
  remaining: number | null;
  /** Messages it holds back now (withhold, delay). */
  held: number;
}

/** Where ports and calls travel: a MessagePort, a Worker, a worker's global scope (`self`) or
 * a SharedWorker's `port` — anything with `postMessage` and `message` events. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  start?(): void;
}

/** What `wsconnect({ servers, wsFactory })` / nats.ws `connect({ servers, wsFactory })` take. */
export type WsFactory = (url: string, options?: unknown) => Promise<{ socket: WebSocket; encrypted: boolean }>;

declare abstract class PortSource {
  abstract clientPort(options?: AttachOptions): MessagePort;
  /** A W3C WebSocket-compatible socket connected to the broker. */
  openSocket(url?: string): SkiffWebSocket;
  wsFactory(): WsFactory;
  /** Routes `new WebSocket(url)` for these URLs to the broker; returns the restore function. */
  installWebSocket(urls?: string | string[] | ((url: string) => boolean)): () => void;
  uninstallWebSockets(): void;
}

/** Loads the wasm module once. */
export function initSkiff(source?: string | URL | BufferSource | WebAssembly.Module | Response): Promise<unknown>;

/** Loads the wasm module and starts a broker in this realm. */
export function startBroker(options?: BrokerOptions): Promise<Broker>;

export class Broker extends PortSource {
  constructor(options?: BrokerOptions);
  attach(port: MessagePort, options?: AttachOptions): number;
  clientPort(options?: AttachOptions): MessagePort;
  stats(): Stats;
  connections(): ConnectionInfo[];
  subscriptions(): SubscriptionInfo[];
  phase(): Phase;
  serverId(): string;
  closeConnection(cid: number): boolean;
  lameDuck(): boolean;
  /** Shuts down once; every call resolves when the broker has stopped. */
  shutdown(): Promise<void>;
  /** Injects a fault (an object or its JSON text); returns its id. Throws on a bad fault. */
  inject(fault: FaultSpec | string): number;
  /** Ends an active fault; throws if it is not active. */
  clear(id: number): void;
  /** The active faults, oldest first. */
  faults(): FaultInfo[];
  on(listener: (event: BrokerEvent) => void): () => void;
  on<T extends BrokerEvent["type"]>(type: T, listener: (event: Extract<BrokerEvent, { type: T }>) => void): () => void;
  serve(endpoint: MessageEndpoint): () => void;
}

export class RemoteBroker extends PortSource {
  constructor(endpoint: MessageEndpoint);
  clientPort(options?: AttachOptions): MessagePort;
  call(method: "stats"): Promise<Stats>;
  call(method: "connections"): Promise<ConnectionInfo[]>;
  call(method: "subscriptions"): Promise<SubscriptionInfo[]>;
  call(method: "phase"): Promise<Phase>;
  call(method: "serverId"): Promise<string>;
  call(method: "closeConnection", cid: number): Promise<boolean>;
  call(method: "lameDuck"): Promise<boolean>;
  call(method: "shutdown"): Promise<void>;
  call(method: "inject", fault: FaultSpec | string): Promise<number>;
  call(method: "clear", id: number): Promise<void>;
  call(method: "faults"): Promise<FaultInfo[]>;
}

export class SkiffWebSocket extends EventTarget {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  constructor(url: string, openPort: () => MessagePort);
  readonly url: string;
  readonly protocol: string;
  readonly extensions: string;
  binaryType: BinaryType;
  readonly bufferedAmount: number;
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  send(data: ArrayBuffer | ArrayBufferView | string): void;
  close(code?: number, reason?: string): void;
}

export function installWebSocket(
  urls: string | string[] | ((url: string) => boolean),
  open: (url: string) => WebSocket | SkiffWebSocket,
): () => void;
