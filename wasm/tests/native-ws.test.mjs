// The native `skiff` daemon's WebSocket listener from headless Chromium: nats.ws 1.30 and
// @nats-io/nats-core 3.x in a page, over the browser's own WebSocket to ws://127.0.0.1:PORT
// (pages/native-ws.js), compressed with permessage-deflate, and a page client exchanging messages with a raw TCP client.
// Needs the daemon built (`cargo build -p skiff`; scripts/test.sh's cargo test builds it).
// Without it the tests are skipped with a notice, except under CI=true, where they fail.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { launch } from "./browser.mjs";
import { serve } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const binary =
  process.env.SKIFF_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "..", "target"), "debug", "skiff");
const missing = existsSync(binary) ? null : `the skiff daemon is not built (${binary}); run \`cargo build -p skiff\``;
if (missing && process.env.CI !== "true") console.log(`SKIPPED native-ws.test.mjs: ${missing}`);
const skip = missing && process.env.CI !== "true" ? missing : false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The same pseudo-random bytes as pages/native-ws.js's `payload`. */
function payload(size, seed) {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Starts the daemon with a WebSocket listener on random ports; reads them from the ports file. */
async function startDaemon() {
  const dir = mkdtempSync(join(tmpdir(), "skiff-native-ws-"));
  const conf = join(dir, "ws.conf");
  // compression: Chromium offers permessage-deflate, so every page test below runs compressed.
  writeFileSync(conf, "websocket { port: -1, no_tls: true, compression: true }\n");
  const child = spawn(binary, ["-c", conf, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const portsFile = join(dir, `skiff_${child.pid}.ports`);
  const deadline = Date.now() + 10000;
  while (!existsSync(portsFile)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the daemon did not write ${portsFile}; its log:\n${log}`);
    }
    await sleep(20);
  }
  await sleep(20); // the file is written in one call; let a partial read not happen
  const ports = JSON.parse(readFileSync(portsFile, "utf8"));
  assert.ok(ports.websocket?.[0]?.startsWith("ws://"), `ports file names the WebSocket listener: ${JSON.stringify(ports)}`);
  const port = (u) => Number(new URL(u).port);
  return {
    child,
    dir,
    portsFile,
    exited,
    log: () => log,
    tcpPort: port(ports.nats[0]),
    wsUrl: `ws://127.0.0.1:${port(ports.websocket[0])}`,
  };
}

/** A client speaking the NATS protocol over a plain TCP socket, with a line/payload reader. */
async function rawClient(port) {
  const socket = tcpConnect(port, "127.0.0.1");
  let buffer = Buffer.alloc(0);
  let wake = () => {};
  socket.on("data", (d) => {
    buffer = Buffer.concat([buffer, d]);
    wake();
  });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const waitFor = async (want, timeout = 5000) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const r = want(buffer);
      if (r) {
        buffer = buffer.subarray(r.used);
        return r.value;
      }
      if (Date.now() > deadline) throw new Error(`raw TCP client timed out; buffered: ${buffer.toString().slice(0, 200)}`);
      await Promise.race([new Promise((resolve) => (wake = resolve)), sleep(50)]);
    }
  };
  /** The next protocol line (without CRLF). */
  const line = () =>
    waitFor((b) => {
      const end = b.indexOf("\r\n");
      return end < 0 ? null : { value: b.subarray(0, end).toString(), used: end + 2 };
    });
  /**
   * The next MSG (PINGs are answered, asynchronous INFOs skipped); resolves with its subject,
   * reply and payload.
   */
  const msg = () =>
    waitFor((b) => {
      for (;;) {
        const end = b.indexOf("\r\n");
        if (end < 0) return null;
        const head = b.subarray(0, end).toString();
        if (head === "PING") {
          socket.write("PONG\r\n");
          buffer = b = b.subarray(end + 2);
          continue;
        }
        if (head.startsWith("INFO ")) {
          buffer = b = b.subarray(end + 2);
          continue;
        }
        const parts = head.split(" ");
        assert.equal(parts[0], "MSG", `expected MSG, got ${head}`);
        const size = Number(parts.at(-1));
        if (b.length < end + 2 + size + 2) return null;
        const data = b.subarray(end + 2, end + 2 + size);
        assert.equal(b.subarray(end + 2 + size, end + 4 + size).toString(), "\r\n", "payload ends with CRLF");
        const reply = parts.length === 5 ? parts[3] : null;
        return { value: { subject: parts[1], reply, data: Buffer.from(data) }, used: end + 4 + size };
      }
    });
  return { socket, line, msg, write: (s) => socket.write(s) };
}

let daemon = null;
let server = null;
let browser = null;
let page = null;
const problems = [];

before(async () => {
  if (skip) return;
  assert.ok(!missing, missing ?? "");
  await build({
    entryPoints: [join(here, "clients.js")],
    bundle: true,
    format: "esm",
    outfile: join(here, ".build", "clients.js"),
    external: ["crypto"],
    logLevel: "warning",
  });
  daemon = await startDaemon();
  server = await serve(root);
  browser = await launch();
  page = await browser.context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.goto(`${server.url}/tests/pages/native-ws.html`);
  await page.waitForFunction(() => window.nativeWsReady === true, null, { timeout: 10000 });
  assert.ok(await page.evaluate(() => window.nativeWs.realWebSocket()), "the page uses Chromium's own WebSocket");
});

after(async () => {
  await browser?.close();
  server?.close();
  if (!daemon) return;
  daemon.child.kill("SIGTERM");
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, 10000, null)));
  const exit = await Promise.race([daemon.exited, timeout]);
  clearTimeout(timer);
  if (!exit) daemon.child.kill("SIGKILL");
  const portsFileLeft = existsSync(daemon.portsFile);
  rmSync(daemon.dir, { recursive: true, force: true });
  assert.ok(exit, `the daemon exits after SIGTERM; its log:\n${daemon.log()}`);
  assert.ok(!portsFileLeft, "the daemon removed its ports file on the way out");
});

test("Chromium negotiates permessage-deflate with the native daemon", { skip, timeout: 10000 }, async () => {
  const extensions = await page.evaluate(
    (url) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onopen = () => {
          resolve(ws.extensions);
          ws.close();
        };
        ws.onerror = () => reject(new Error("WebSocket error"));
      }),
    daemon.wsUrl,
  );
  assert.match(extensions, /^permessage-deflate/);
});

for (const name of ["natsws", "core"]) {
  const label = name === "natsws" ? "nats.ws 1.30" : "@nats-io/nats-core 3.x wsconnect";
  test(`${label} in Chromium to the native daemon: pub/sub, wildcards, queue group, request/reply with headers, 503, drain`, { skip, timeout: 20000 }, async () => {
    problems.length = 0;
    await page.evaluate(([n, url]) => window.nativeWs.exercise(n, url), [name, daemon.wsUrl]);
    assert.deepEqual(problems, []);
  });

  test(`${label} in Chromium to the native daemon: 64 KiB messages and a 200 KiB request/reply arrive intact`, { skip, timeout: 20000 }, async () => {
    problems.length = 0;
    await page.evaluate(([n, url]) => window.nativeWs.large(n, url), [name, daemon.wsUrl]);
    assert.deepEqual(problems, []);
  });

  test(`${label} in Chromium and a TCP client exchange messages (64 KiB too) and a request across transports`, { skip, timeout: 20000 }, async () => {
    const tcp = await rawClient(daemon.tcpPort);
    try {
      const info = await tcp.line();
      assert.match(info, /^INFO \{/, "INFO first");
      tcp.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"name":"tcp-side"}\r\n');
      tcp.write("SUB cross.to.tcp 1\r\nSUB cross.svc 2\r\nPING\r\n");
      assert.equal(await tcp.line(), "PONG", "subscribed");

      await page.evaluate(([n, url]) => window.nativeWs.crossStart(n, url), [name, daemon.wsUrl]);
      const big = payload(64 * 1024, 23);
      tcp.write("PUB cross.to.page 8\r\nfrom tcp\r\n");
      tcp.write(Buffer.concat([Buffer.from(`PUB cross.to.page ${big.length}\r\n`), big, Buffer.from("\r\n")]));
      const finished = page.evaluate(([size, seed]) => window.nativeWs.crossFinish(size, seed), [big.length, 23]);

      const fromPage = await tcp.msg();
      assert.equal(fromPage.subject, "cross.to.tcp");
      assert.equal(fromPage.data.toString(), "from page");
      const request = await tcp.msg();
      assert.equal(request.subject, "cross.svc");
      assert.equal(request.data.toString(), "question");
      assert.ok(request.reply, "the page's request carries a reply subject");
      tcp.write(`PUB ${request.reply} 10\r\nfrom a tcp\r\n`);
      assert.equal(await finished, "from a tcp", "the page got the TCP client's reply");
    } finally {
      tcp.socket.destroy();
    }
  });
}
