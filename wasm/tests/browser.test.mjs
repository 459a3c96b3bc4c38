// skiff-wasm in headless Chromium: the in-page suite (pages/suite.js), a SharedWorker broker
// shared by two pages, and the package bundled by esbuild. Run with `node --test` after
// wasm/build.sh (wasm/tests/run.sh does both).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { launch } from "./browser.mjs";
import { serve } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const out = join(here, ".build");
mkdirSync(out, { recursive: true });

// The clients, bundled once for pages and workers.
await build({
  entryPoints: [join(here, "clients.js")],
  bundle: true,
  format: "esm",
  outfile: join(out, "clients.js"),
  // nats.ws's bundled tweetnacl falls back to Node's crypto only where there is no Web Crypto.
  external: ["crypto"],
  logLevel: "warning",
});

// The package as a bundler user sees it: `import { startBroker } from "skiff-wasm"`.
mkdirSync(join(out, "node_modules"), { recursive: true });
rmSync(join(out, "node_modules", "skiff-wasm"), { force: true, recursive: true });
symlinkSync(join(root, "pkg"), join(out, "node_modules", "skiff-wasm"), "dir");
writeFileSync(
  join(out, "app.js"),
  `import { startBroker } from "skiff-wasm";
import { wsconnect } from "@nats-io/nats-core";
const broker = await startBroker();
broker.installWebSocket("ws://skiff.local");
const nc = await wsconnect({ servers: "ws://skiff.local" });
const sub = nc.subscribe("bundled");
nc.publish("bundled", new TextEncoder().encode("from the bundle"));
for await (const m of sub) { window.bundled = new TextDecoder().decode(m.data); break; }
await nc.close();
await broker.shutdown();
`,
);
await build({
  entryPoints: [join(out, "app.js")],
  bundle: true,
  format: "esm",
  outfile: join(out, "app.bundle.js"),
  // Resolved by package name through package.json "exports", as from node_modules.
  nodePaths: [join(out, "node_modules"), join(here, "node_modules")],
  logLevel: "warning",
});
copyFileSync(join(root, "pkg", "skiff_wasm_bg.wasm"), join(out, "skiff_wasm_bg.wasm"));
writeFileSync(
  join(out, "app.html"),
  `<!doctype html><meta charset="utf-8"><script type="module" src="app.bundle.js"></script>`,
);

const server = await serve(root);
const browser = await launch();
const problems = [];
const page = await browser.context.newPage();
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("console", (message) => {
  if (message.type() === "error") problems.push(`console error: ${message.text()}`);
});
await page.goto(`${server.url}/tests/pages/suite.html`);
await page.waitForFunction(() => window.skiffReady === true, null, { timeout: 20000 });
const names = await page.evaluate(() => Object.keys(window.skiffTests));

after(async () => {
  await browser.close();
  server.close();
});

before(() => assert.ok(names.length > 10, `the suite lists its tests (${names.length})`));

for (const name of names) {
  test(name, { timeout: 30000 }, async () => {
    problems.length = 0;
    await page.evaluate((n) => window.skiffTests[n](), name);
    // Uncaught errors (a wasm trap, an unhandled rejection) fail the test that caused them.
    const traps = problems.filter((p) => /unreachable|RuntimeError|panicked/i.test(p));
    assert.deepEqual(traps, [], "no wasm trap");
  });
}

test("a SharedWorker broker is shared by two pages", { timeout: 30000 }, async () => {
  const [a, b] = [await browser.context.newPage(), await browser.context.newPage()];
  for (const p of [a, b]) {
    await p.goto(`${server.url}/tests/pages/shared.html`);
    await p.waitForFunction(() => window.sharedReady === true, null, { timeout: 20000 });
  }
  const idA = await a.evaluate(() => window.broker.call("serverId"));
  const idB = await b.evaluate(() => window.broker.call("serverId"));
  assert.equal(idA, idB, "both pages reach one broker");
  await a.evaluate(async () => {
    window.nc = await window.connect("page-a");
    window.received = new Promise((resolve) => {
      window.nc.subscribe("tabs.chat", { max: 1, callback: (_e, m) => resolve(window.dec.decode(m.data)) });
    });
    await window.nc.flush();
  });
  const conns = await b.evaluate(async () => {
    const nc = await window.connect("page-b");
    const names = (await window.broker.call("connections")).map((c) => c.name).sort();
    nc.publish("tabs.chat", window.enc.encode("hello from page b"));
    await nc.flush();
    await nc.close();
    return names;
  });
  assert.deepEqual(conns, ["page-a", "page-b"], "page b sees page a's client");
  assert.equal(await a.evaluate(() => window.received), "hello from page b");
  const stats = await a.evaluate(() => window.broker.call("stats"));
  assert.equal(stats.totalConnections, 2, "one broker counted both pages' clients");
  // Closing a tab (its client never closed) removes its connection from the shared broker.
  await a.close({ runBeforeUnload: true });
  await b.waitForFunction(
    async () => (await window.broker.call("connections")).length === 0,
    null,
    { timeout: 10000, polling: 50 },
  );
  await b.close();
});

test("the package bundled by esbuild works in a plain page", { timeout: 30000 }, async () => {
  const p = await browser.context.newPage();
  const errors = [];
  p.on("pageerror", (error) => errors.push(error.message));
  await p.goto(`${server.url}/tests/.build/app.html`);
  await p.waitForFunction(() => typeof window.bundled === "string", null, { timeout: 20000 });
  assert.equal(await p.evaluate(() => window.bundled), "from the bundle");
  assert.deepEqual(errors, []);
  await p.close();
});

test("the www page shows a live broker, drops a client that reconnects, and shuts down once", { timeout: 30000 }, async () => {
  const www = await serve(join(root, "..", "www"));
  const p = await browser.context.newPage();
  const errors = [];
  p.on("pageerror", (error) => errors.push(error.message));
  p.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  p.on("requestfailed", (request) => errors.push(`request failed: ${request.url()}`));
  try {
    await p.goto(`${www.url}/index.html`);
    await p.waitForFunction(() => window.skiffPageReady === true, null, { timeout: 20000 });
    await p.waitForFunction(() => document.querySelectorAll("#messages li").length >= 2, null, { timeout: 10000 });
    const before = await p.evaluate(() => window.skiff.connections().find((c) => c.name === "sensor").cid);
    await p.click("#drop");
    await p.waitForFunction(
      (old) => window.skiff.connections().some((c) => c.name === "sensor" && c.cid !== old),
      before,
      { timeout: 10000 },
    );
    assert.match(await p.textContent("#subs"), /sensors\.\*\.temp/);
    await p.dblclick("#shutdown");
    await p.waitForFunction(() => document.getElementById("phase").textContent === "stopped", null, { timeout: 10000 });
    assert.equal(await p.evaluate(() => window.skiff.stats().connections), 0);
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
    www.close();
  }
});
