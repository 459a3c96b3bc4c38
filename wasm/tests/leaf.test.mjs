// The wasm broker in headless Chromium joins a real nats-server 2.15 hub (started here) as a
// leaf over the page's WebSocket: a page client and a TCP client on the hub exchange
// messages both ways, a request from the hub reaches a service in the page and back, and
// the page reaches a service behind the hub. Needs .tools/nats-server (scripts/setup.sh);
// without it the tests are skipped with a notice, except under CI=true, where they fail.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { launch } from "./browser.mjs";
import { serve } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const natsServer = join(root, "..", ".tools", "nats-server");
const missing = existsSync(natsServer) ? null : `${natsServer} is missing (scripts/setup.sh installs it)`;
if (missing && process.env.CI !== "true") console.log(`SKIPPED leaf.test.mjs: ${missing}`);
const skip = missing && process.env.CI !== "true" ? missing : false;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP client on the hub with a line/MSG reader. */
async function hubClient(port) {
  const socket = tcpConnect(port, "127.0.0.1");
  let buffer = Buffer.alloc(0);
  socket.on("data", (d) => {
    buffer = Buffer.concat([buffer, d]);
  });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write('CONNECT {"verbose":false,"headers":true,"protocol":1}\r\n');
  /** The next MSG (PINGs answered, INFO skipped), or null after `ms`. */
  const msg = async (ms) => {
    const deadline = Date.now() + ms;
    for (;;) {
      let end;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const head = buffer.subarray(0, end).toString();
        if (head === "PING") {
          socket.write("PONG\r\n");
        } else if (head.startsWith("MSG ")) {
          const parts = head.split(" ");
          const size = Number(parts.at(-1));
          if (buffer.length < end + 2 + size + 2) break;
          const data = buffer.subarray(end + 2, end + 2 + size).toString();
          buffer = buffer.subarray(end + 4 + size);
          return { subject: parts[1], reply: parts.length === 5 ? parts[3] : null, data };
        }
        buffer = buffer.subarray(end + 2);
      }
      if (Date.now() > deadline) return null;
      await sleep(20);
    }
  };
  return { socket, msg, write: (s) => socket.write(s) };
}

let hub = null;
let dir = null;
let server = null;
let browser = null;
let page = null;
let ports = null;

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
  ports = { client: await freePort(), leaf: await freePort(), ws: await freePort() };
  dir = mkdtempSync(join(tmpdir(), "skiff-leaf-hub-"));
  const conf = join(dir, "hub.conf");
  writeFileSync(
    conf,
    `listen: 127.0.0.1:${ports.client}\nserver_name: hub\n` +
      `leafnodes { listen: 127.0.0.1:${ports.leaf} }\n` +
      `websocket { listen: 127.0.0.1:${ports.ws}, no_tls: true }\n`,
  );
  hub = spawn(natsServer, ["-c", conf], { stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const s = tcpConnect(ports.client, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true))).once("error", () => resolve(false));
    });
    if (up) break;
    await sleep(25);
  }
  server = await serve(root);
  browser = await launch();
  page = await browser.context.newPage();
  await page.goto(`${server.url}/tests/pages/leaf.html`);
  await page.waitForFunction(() => window.leafReady === true, null, { timeout: 10000 });
  await page.evaluate((url) => window.leaf.start(url), `ws://127.0.0.1:${ports.ws}`);
});

after(async () => {
  await page?.evaluate(() => window.leaf.stop()).catch(() => {});
  await browser?.close();
  server?.close();
  hub?.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the page's broker joins a nats-server hub over WebSocket: messages cross both ways", { skip, timeout: 30000 }, async () => {
  const tcp = await hubClient(ports.client);
  try {
    // Hub to page: published until the leaf's interest has reached the hub.
    let got = [];
    for (let i = 0; i < 100 && got.length === 0; i++) {
      tcp.write("PUB page.in.hello 8\r\nfrom hub\r\n");
      got = await page.evaluate(() => window.leaf.received(100));
    }
    assert.deepEqual(got.slice(0, 1), ["page.in.hello:from hub"]);

    // Page to hub.
    tcp.write("SUB page.out 1\r\nPING\r\n");
    let msg = null;
    for (let i = 0; i < 100 && !msg; i++) {
      await page.evaluate(() => window.leaf.publish("page.out", "from page"));
      msg = await tcp.msg(100);
    }
    assert.equal(msg?.data, "from page");

    // A requester on the hub reaches the service in the page, and the answer comes back.
    tcp.write("SUB _INBOX.hub 2\r\nPUB page.svc _INBOX.hub 0\r\n\r\n");
    let answer = null;
    for (let i = 0; i < 50; i++) {
      answer = await tcp.msg(200);
      if (answer?.subject === "_INBOX.hub") break;
      tcp.write("PUB page.svc _INBOX.hub 0\r\n\r\n");
    }
    assert.equal(answer?.data, "page answers");

    // The page reaches a service behind the hub.
    tcp.write("SUB hub.svc 3\r\nPING\r\n");
    await sleep(300);
    const request = page.evaluate(() => window.leaf.request("hub.svc"));
    const incoming = await tcp.msg(5000);
    assert.equal(incoming?.subject, "hub.svc");
    tcp.write(`PUB ${incoming.reply} 11\r\nhub answers\r\n`);
    assert.equal(await request, "hub answers");
  } finally {
    tcp.socket.destroy();
  }
});
