// The in-page benchmark: messages per second from one in-page @nats-io/nats-core client to
// another through the broker (16 B and 1 KiB payloads), and request/reply latency, each beside
// a baseline of the same bytes echoed over a bare MessageChannel (no broker, no protocol).
import { wsconnect } from "@nats-io/nats-core";

const SIZES = [16, 1024];
/** Round trips per latency sample: performance.now() is coarse (100 µs) outside a
 * cross-origin isolated page, so each sample is the mean of this many sequential round trips. */
const ROUND = 10;

/** Yields to the event loop for one task (a message to ourselves: no 4 ms timer clamping). */
const yielder = new MessageChannel();
function yieldTask() {
  return new Promise((resolve) => {
    yielder.port1.onmessage = () => resolve();
    yielder.port2.postMessage(0);
  });
}

/** Runs every measurement; `wsFactory` reaches the broker. Resolves with raw figures and table rows. */
export async function runBenchmark({ wsFactory, messages = 20000, requests = 1000 } = {}) {
  const started = performance.now();
  const connect = (name) => wsconnect({ servers: "ws://skiff.local", wsFactory, name });
  const [pub, sub] = await Promise.all([connect("bench-pub"), connect("bench-sub")]);
  const figures = { throughput: [], latency: null };
  try {
    for (const size of SIZES) {
      const n = size >= 1024 ? Math.ceil(messages / 4) : messages;
      const skiff = await throughputSkiff(pub, sub, size, n);
      const single = await throughputChannel(size, n, 1);
      const batched = await throughputChannel(size, n, 500);
      figures.throughput.push({ size, messages: n, skiff, single, batched, ratio: skiff / single });
    }
    const skiff = await latencySkiff(pub, sub, requests);
    const baseline = await latencyChannel(requests);
    figures.latency = { requests, per: ROUND, skiff, baseline, ratio: skiff.p50 / baseline.p50 };
  } finally {
    await Promise.all([pub.close(), sub.close()]);
  }
  const rate = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M/s` : `${(v / 1e3).toFixed(1)}k/s`);
  const us = (v) => `${(v * 1000).toFixed(0)} µs`;
  const rows = [
    ...figures.throughput.map((t) => ({
      label: `${t.size === 1024 ? "1 KiB" : `${t.size} B`} pub→sub`,
      skiff: rate(t.skiff),
      single: rate(t.single),
      batched: rate(t.batched),
      ratio: `${t.ratio.toFixed(1)}×`,
    })),
    ...["p50", "p90", "p99"].map((p) => ({
      label: `req/reply ${p}`,
      skiff: us(figures.latency.skiff[p]),
      single: us(figures.latency.baseline[p]),
      batched: "",
      ratio: `${(figures.latency.skiff[p] / figures.latency.baseline[p]).toFixed(1)}×`,
    })),
  ];
  return { ...figures, rows, ms: performance.now() - started, userAgent: navigator.userAgent };
}

/** Messages per second from `pub` to `sub` through the broker. */
async function throughputSkiff(pub, sub, size, n) {
  const subject = `bench.tp.${size}`;
  let got = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const s = sub.subscribe(subject, {
    callback: () => {
      if (++got === n) done();
    },
  });
  await sub.flush();
  const payload = new Uint8Array(size);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    pub.publish(subject, payload);
    // Let the client's writer and the subscriber run between batches, as a real app yields.
    if (i % 500 === 499) await yieldTask();
  }
  await finished;
  const seconds = (performance.now() - start) / 1000;
  s.unsubscribe();
  return n / seconds;
}

/**
 * Messages per second for the same payload bytes sent A → B and echoed B → A over a bare
 * MessageChannel (two hops, as publisher → broker → subscriber), `batch` payloads to a
 * postMessage (1: one message a post; 500: batched as a NATS client batches its writes).
 */
async function throughputChannel(size, n, batch) {
  const { port1, port2 } = new MessageChannel();
  port2.onmessage = (e) => port2.postMessage(e.data, [e.data]);
  let got = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  port1.onmessage = (e) => {
    got += e.data.byteLength / size;
    if (got >= n) done();
  };
  const start = performance.now();
  for (let i = 0; i < n; i += batch) {
    const bytes = new Uint8Array(size * Math.min(batch, n - i)).buffer;
    port1.postMessage(bytes, [bytes]);
    if (batch > 1 || i % 500 === 499) await yieldTask();
  }
  await finished;
  const seconds = (performance.now() - start) / 1000;
  port1.close();
  port2.close();
  return n / seconds;
}

/** Request/reply latency through the broker, one request at a time (milliseconds, per ROUND). */
async function latencySkiff(requester, responder, n) {
  const s = responder.subscribe("bench.echo", { callback: (_e, m) => m.respond(m.data) });
  await responder.flush();
  const payload = new Uint8Array(16);
  const samples = [];
  for (let i = 0; i < n; i += ROUND) {
    const start = performance.now();
    for (let j = 0; j < ROUND; j++) await requester.request("bench.echo", payload, { timeout: 5000 });
    samples.push((performance.now() - start) / ROUND);
  }
  s.unsubscribe();
  return percentiles(samples);
}

/** Round trips of 16 bytes over a bare MessageChannel, one at a time (milliseconds). */
async function latencyChannel(n) {
  const { port1, port2 } = new MessageChannel();
  port2.onmessage = (e) => port2.postMessage(e.data, [e.data]);
  const samples = [];
  for (let i = 0; i < n; i += ROUND) {
    const start = performance.now();
    for (let j = 0; j < ROUND; j++) {
      await new Promise((resolve) => {
        port1.onmessage = resolve;
        const bytes = new Uint8Array(16).buffer;
        port1.postMessage(bytes, [bytes]);
      });
    }
    samples.push((performance.now() - start) / ROUND);
  }
  port1.close();
  port2.close();
  return percentiles(samples);
}

function percentiles(samples) {
  const sorted = samples.slice().sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) };
}
