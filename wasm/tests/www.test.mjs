// The playground (www/dist, built by www/build.sh) in headless Chromium: it loads cleanly, every
// control does what it says (checked in the DOM and through the broker's own introspection),
// two tabs share one broker through the SharedWorker build, and the benchmark completes (its
// figures are printed for the README).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "./browser.mjs";
import { serve } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "..", "www", "dist");
let server;
let browser;

before(async () => {
  server = await serve(dist);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

/** Opens `path` and waits for the page; `problems` collects console errors, page errors and
 * failed requests. */
async function open(path = "index.html") {
  const page = await browser.context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  await page.goto(`${server.url}/${path}`);
  await page.waitForFunction(() => window.skiffPageReady === true, null, { timeout: 20000 });
  return { page, problems };
}

const wait = (page, fn, arg, timeout = 10000) => page.waitForFunction(fn, arg, { timeout, polling: 50 });

test("the playground loads cleanly and shows the live broker: connections, wildcard and queue subscriptions, rates, messages", { timeout: 30000 }, async () => {
  const { page, problems } = await open();
  try {
    await wait(page, () => document.querySelectorAll("#conns tr").length === 9 && document.querySelectorAll("#subs tr").length === 7);
    const names = await page.evaluate(() => window.skiff.connections().map((c) => c.name).sort());
    assert.deepEqual(names, ["alice", "archive-1", "archive-2", "bob", "clock", "console", "dashboard", "monitor", "sensor"]);
    const subs = await page.evaluate(() => window.skiff.subscriptions().map((s) => `${s.subject}${s.queue ? ` [${s.queue}]` : ""}`).sort());
    assert.deepEqual(subs, [">", "chat.room", "chat.room", "sensors.*.temp", "sensors.> [archive]", "sensors.> [archive]", "time.now"]);
    // Wildcards marked and queue groups badged in the table.
    assert.deepEqual(await page.$$eval("#subs .wild", (els) => els.map((e) => e.textContent).sort()), ["*", ">", ">", ">"]);
    assert.deepEqual(await page.$$eval("#subs .queue", (els) => els.map((e) => e.textContent)), ["archive", "archive"]);
    assert.equal(await page.textContent("#phase"), "running");
    // Rates: a second sample makes a rate; the sensor publishes about 5 a second.
    await wait(page, () => /^\d+$/.test(document.querySelector("#stats dd").textContent) && Number(document.querySelector("#stats dd").textContent) > 0);
    // The chart has drawn something.
    assert.ok(await page.evaluate(() => {
      const c = document.getElementById("chart");
      const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      return data.some((v, i) => i % 4 === 3 && v > 0);
    }), "the chart is drawn");
    await wait(page, () => [...document.querySelectorAll("#tiles .temp")].every((t) => /°C/.test(t.textContent)));
    await wait(page, () => document.querySelectorAll("#messages li").length >= 5);
    // The queue group shares the sensor stream between its two members.
    const archived = await page.evaluate(() => window.skiff.subscriptions().filter((s) => s.queue === "archive").map((s) => s.delivered));
    const published = await page.evaluate(() => window.skiff.connections().find((c) => c.name === "sensor").traffic.inMsgs);
    assert.ok(archived[0] + archived[1] <= published && archived[0] + archived[1] >= published - 2, `queue group split ${archived} of ${published}`);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("chat panes talk through the broker, and the publish box sends subject, reply, headers and payload", { timeout: 30000 }, async () => {
  const { page, problems } = await open();
  try {
    await page.check("#hidesensors");
    const before = await page.evaluate(() => window.skiff.connections().find((c) => c.name === "alice").traffic.inMsgs);
    await page.fill('.pane[data-who="alice"] input', "hello bob");
    await page.press('.pane[data-who="alice"] input', "Enter");
    await wait(page, () => /alicehello bob/.test(document.querySelector('.pane[data-who="bob"] .log').textContent));
    assert.equal(await page.evaluate(() => window.skiff.connections().find((c) => c.name === "alice").traffic.inMsgs), before + 1);
    await page.click('.pane[data-who="bob"] button');
    await page.fill('.pane[data-who="bob"] input', "hi alice");
    await page.click('.pane[data-who="bob"] button');
    await wait(page, () => /bobhi alice/.test(document.querySelector('.pane[data-who="alice"] .log').textContent));

    await page.fill('#pubform [name="subject"]', "time.now");
    await page.fill('#pubform [name="reply"]', "console.replies");
    await page.fill('#pubform [name="headers"]', "X-Trace: t-42\nX-Other: two");
    await page.fill('#pubform [name="payload"]', "what time is it?");
    await page.click("#pub");
    // The monitor shows the request with its reply subject and headers, and the clock's answer.
    await wait(page, () => [...document.querySelectorAll("#messages li")].some((li) => li.textContent === "time.now → console.replies [X-Trace: t-42; X-Other: two] what time is it?"));
    await wait(page, () => [...document.querySelectorAll("#messages li")].some((li) => /^console\.replies \d{4}-\d\d-\d\dT/.test(li.textContent)));
    assert.equal(await page.evaluate(() => window.skiff.subscriptions().find((s) => s.subject === "time.now").delivered), 1);
    // A bad header line is refused with a message, nothing is sent.
    await page.fill('#pubform [name="headers"]', "no colon here");
    await page.click("#pub");
    assert.match(await page.textContent("#pubresult"), /needs "Key: value"/);
    assert.equal(await page.evaluate(() => window.skiff.subscriptions().find((s) => s.subject === "time.now").delivered), 1);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("drop client closes the chosen connection and the client reconnects", { timeout: 30000 }, async () => {
  const { page, problems } = await open();
  try {
    const old = await page.evaluate(() => window.skiff.connections().find((c) => c.name === "sensor").cid);
    assert.equal(await page.inputValue("#victim"), String(old), "the sensor is chosen at first");
    await page.click("#drop");
    await wait(page, (cid) => window.skiff.connections().some((c) => c.name === "sensor" && c.cid !== cid), old);
    assert.equal(await page.evaluate(() => window.skiff.stats().totalConnections), 10);
    await wait(page, () => window.skiffEvents.some((e) => e.text === "sensor reconnected"));
    // The list follows the reconnected client, and other clients can be chosen and dropped.
    await wait(page, () => document.querySelector("#victim option:checked")?.textContent.startsWith("sensor (cid"));
    const bob = await page.evaluate(() => window.skiff.connections().find((c) => c.name === "bob").cid);
    await page.selectOption("#victim", String(bob));
    await page.click("#drop");
    await wait(page, (cid) => window.skiff.connections().some((c) => c.name === "bob" && c.cid !== cid), bob);
    await wait(page, () => document.querySelectorAll("#conns tr").length === 9);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("lame duck tells the clients, closes them, and the broker stops", { timeout: 30000 }, async () => {
  const { page, problems } = await open();
  try {
    await page.click("#lameduck");
    await wait(page, () => document.getElementById("phase").textContent === "lameDuck");
    assert.equal(await page.evaluate(() => window.skiff.phase()), "lameDuck");
    await wait(page, () => window.skiffEvents.some((e) => /told: lame duck/.test(e.text)));
    await wait(page, () => document.getElementById("phase").textContent === "stopped", null, 15000);
    assert.equal(await page.evaluate(() => window.skiff.stats().connections), 0);
    assert.ok(await page.isDisabled("#drop"), "controls are disabled once stopped");
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("a double click on shut down calls shutdown() twice and the broker stops once", { timeout: 30000 }, async () => {
  const { page, problems } = await open();
  try {
    await page.dblclick("#shutdown");
    await wait(page, () => document.getElementById("phase").textContent === "stopped");
    await wait(page, () => window.skiffShutdowns().resolved === 2);
    assert.deepEqual(await page.evaluate(() => window.skiffShutdowns()), { calls: 2, resolved: 2, stopped: 1 });
    assert.equal(await page.evaluate(() => window.skiff.stats().connections), 0);
    assert.match(await page.textContent("#shutdowns"), /called 2×, resolved 2×, broker stopped 1×/);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("two tabs of shared.html share one broker in a SharedWorker and see each other's clients", { timeout: 40000 }, async () => {
  const a = await open("shared.html");
  const b = await open("shared.html");
  try {
    const call = (page, method) => page.evaluate((m) => window.skiffCall(m), method);
    assert.equal(await call(a.page, "serverId"), await call(b.page, "serverId"), "one broker");
    // Both tabs' nine clients, each tab's names tagged with its own id.
    await wait(a.page, () => document.querySelectorAll("#conns tr").length === 18);
    await wait(b.page, () => document.querySelectorAll("#conns tr").length === 18);
    const names = (await call(a.page, "connections")).map((c) => c.name);
    const tags = new Set(names.map((n) => n.split("@")[1]));
    assert.equal(tags.size, 2, `two tabs' clients: ${names}`);
    assert.match(await a.page.textContent("#where"), /SharedWorker/);
    // A chat line typed in tab a reaches the panes of tab b.
    await a.page.fill('.pane[data-who="alice"] input', "hello from the other tab");
    await a.page.press('.pane[data-who="alice"] input', "Enter");
    await wait(b.page, () => /hello from the other tab/.test(document.querySelector('.pane[data-who="bob"] .log').textContent));
    // Closing tab a removes its clients from the shared broker; tab b's stay.
    await a.page.close({ runBeforeUnload: true });
    await wait(b.page, () => document.querySelectorAll("#conns tr").length === 9, null, 15000);
    // Shutting down from tab b stops the worker's broker.
    await b.page.dblclick("#shutdown");
    await wait(b.page, () => document.getElementById("phase").textContent === "stopped");
    assert.equal(await call(b.page, "phase"), "stopped");
    assert.deepEqual([...a.problems, ...b.problems], []);
  } finally {
    await a.page.close();
    await b.page.close();
  }
});

test("the benchmark button measures the broker beside a bare MessageChannel", { timeout: 60000 }, async () => {
  const { page, problems } = await open();
  try {
    await page.click("#runbench");
    await wait(page, () => window.skiffBench !== undefined || /failed/.test(document.getElementById("benchstate").textContent), null, 50000);
    assert.doesNotMatch(await page.textContent("#benchstate"), /failed/);
    const bench = await page.evaluate(() => window.skiffBench);
    for (const t of bench.throughput) {
      assert.ok(t.skiff > 0 && t.single > 0 && t.batched > 0, `throughput ${t.size} B`);
    }
    assert.ok(bench.latency.skiff.p50 > 0 && bench.latency.baseline.p99 >= bench.latency.baseline.p50);
    assert.equal(await page.$$eval("#benchtable tr", (rows) => rows.length), 6);
    // The page's own traffic is back: the monitor on ">" subscribed again, the sensor publishing.
    await wait(page, () => window.skiff.subscriptions().some((s) => s.subject === ">"));
    const sent = await page.evaluate(() => window.skiff.connections().find((c) => c.name === "sensor").traffic.inMsgs);
    await wait(page, (n) => window.skiff.connections().find((c) => c.name === "sensor").traffic.inMsgs > n, sent);
    // The figures, for the README (headless Chromium on this machine).
    console.log(`# benchmark: ${JSON.stringify({ throughput: bench.throughput, latency: bench.latency, ms: Math.round(bench.ms) })}`);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("the guide page is linked from the playground and loads cleanly", { timeout: 30000 }, async () => {
  const { page, problems } = await open();
  try {
    await page.click('a[href="guide.html"]');
    await page.waitForURL(/guide\.html$/);
    assert.match(await page.textContent("h1"), /a NATS broker in your front-end tests/);
    for (const topic of ["Playwright", "Vitest browser mode", "web-test-runner", "no code changes", "Injecting faults"]) {
      assert.ok((await page.textContent("body")).includes(topic), `the guide covers ${topic}`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("the pages fit a phone and a laptop without sideways scrolling", { timeout: 30000 }, async () => {
  const { page, problems } = await open();
  try {
    for (const viewport of [{ width: 390, height: 844 }, { width: 1366, height: 800 }]) {
      await page.setViewportSize(viewport);
      for (const path of ["index.html", "guide.html"]) {
        await page.goto(`${server.url}/${path}`);
        if (path === "index.html") await page.waitForFunction(() => window.skiffPageReady === true, null, { timeout: 20000 });
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= viewport.width, `${path} at ${viewport.width}px is ${width}px wide`);
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
