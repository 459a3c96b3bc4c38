// The in-page benchmark: messages per second from one in-page @nats-io/nats-core client to
// another through the broker (16 B and 1 KiB payloads), and request/reply latency, each beside
// a baseline of the same bytes echoed over a bare MessageChannel (no broker, no protocol).
import { wsconnect } from "@nats-io/nats-core";

const SIZES = [16, 1024];

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
      const baseline = await throughputChannel(size, n);
      figures.throughput.push({ size, messages: n, skiff, baseline, ratio: skiff / baseline });
    }
    const skiff = await latencySkiff(pub, sub, requests);
    const baseline = await latencyChannel(requests);
    figures.latency = { requests, skiff, baseline, ratio: skiff.p50 / baseline.p50 };
  } finally {
    await Promise.all([pub.close(), sub.close()]);
  }
  const rate = (v) => `${Math.round(v).toLocaleString("en")} msgs/s`;
  const us = (v) => `${(v * 1000).toFixed(0)} µs`;
  const rows = [
    ...figures.throughput.map((t) => ({
      label: `${t.size === 1024 ? "1 KiB" : `${t.size} B`} pub → sub`,
      skiff: rate(t.skiff),
      baseline: rate(t.baseline),
      ratio: `${(t.ratio * 100).toFixed(0)} %`,
    })),
    ...["p50", "p90", "p99"].map((p) => ({
      label: `request/reply ${p}`,
      skiff: us(figures.latency.skiff[p]),
      baseline: us(figures.latency.baseline[p]),
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
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 0));
  }
  await finished;
  const seconds = (performance.now() - start) / 1000;
  s.unsubscribe();
  return n / seconds;
}

/** Messages per second for the same bytes sent A → B and echoed B → A over a MessageChannel. */
async function throughputChannel(size, n) {
  const { port1, port2 } = new MessageChannel();
  port2.onmessage = (e) => port2.postMessage(e.data, [e.data]);
  let got = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  port1.onmessage = () => {
    if (++got === n) done();
  };
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const bytes = new Uint8Array(size).buffer;
    port1.postMessage(bytes, [bytes]);
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 0));
  }
  await finished;
  const seconds = (performance.now() - start) / 1000;
  port1.close();
  port2.close();
  return n / seconds;
}

/** Request/reply latency through the broker, one request at a time (milliseconds). */
async function latencySkiff(requester, responder, n) {
  const s = responder.subscribe("bench.echo", { callback: (_e, m) => m.respond(m.data) });
  await responder.flush();
  const payload = new Uint8Array(16);
  const samples = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await requester.request("bench.echo", payload, { timeout: 5000 });
    samples.push(performance.now() - start);
  }
  s.unsubscribe();
  return percentiles(samples);
}

/** Round trips of 16 bytes over a bare MessageChannel, one at a time (milliseconds). */
async function latencyChannel(n) {
  const { port1, port2 } = new MessageChannel();
  port2.onmessage = (e) => port2.postMessage(e.data, [e.data]);
  const samples = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await new Promise((resolve) => {
      port1.onmessage = resolve;
      const bytes = new Uint8Array(16).buffer;
      port1.postMessage(bytes, [bytes]);
    });
    samples.push(performance.now() - start);
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
