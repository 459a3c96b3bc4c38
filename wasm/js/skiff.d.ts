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
    };
  }>;
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

export type BrokerEvent =
  | { type: "connect"; cid: number; transport: "port" | "websocket" }
  | { type: "close"; cid: number; reason: string }
  | { type: "stopListening" }
  | { type: "stopped" };

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
  on(listener: (event: BrokerEvent) => void): () => void;
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
