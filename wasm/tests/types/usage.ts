// Compiled (not run) by types.test.mjs: the package's .d.ts describes what a front-end
// developer writes, with the NATS clients' own types.
import { Broker, RemoteBroker, SkiffWebSocket, startBroker, type BrokerEvent, type FaultInfo, type Stats } from "skiff-wasm";
import { wsconnect } from "@nats-io/nats-core";

export async function usage(): Promise<void> {
  const broker: Broker = await startBroker({
    serverName: "t",
    maxPayload: 1024,
    users: [{ user: "a", password: "p", permissions: { publish: ["x.>"], subscribe: { deny: "y" } } }],
  });
  const restore: () => void = broker.installWebSocket(["ws://skiff.local"]);
  const nc = await wsconnect({ servers: "ws://skiff.local", wsFactory: broker.wsFactory() });
  await nc.close();
  const stats: Stats = broker.stats();
  const cids: number[] = broker.connections().map((c) => c.cid);
  const queues: (string | null)[] = broker.subscriptions().map((s) => s.queue);
  broker.on((event: BrokerEvent) => {
    if (event.type === "close") console.log(event.reason);
  });
  const port: MessagePort = broker.clientPort({ acks: true });
  broker.attach(new MessageChannel().port1, { transport: "port" });
  const socket: SkiffWebSocket = broker.openSocket();
  socket.binaryType = "arraybuffer";
  socket.onclose = (e: CloseEvent) => console.log(e.code, e.wasClean);
  const remote = new RemoteBroker(port);
  const remoteStats: Stats = await remote.call("stats");
  const id: number = broker.inject({ fault: "drop", subject: "orders.new", count: 3 });
  broker.inject('{"fault":"ignore_pings","name":"worker","for_ms":500}');
  const active: FaultInfo[] = broker.faults();
  broker.clear(id);
  const remoteId: number = await remote.call("inject", { fault: "split_writes", chunk: 1 });
  await remote.call("clear", remoteId);
  const remoteFaults: FaultInfo[] = await remote.call("faults");
  broker.on("notice", (n) => console.debug(n.level, n.text, n.cid));
  const kicked: boolean = broker.closeConnection(cids[0] ?? 0) || broker.lameDuck();
  await broker.shutdown();
  restore();
  console.log(stats, queues, remoteStats, kicked, active, remoteFaults);
}
