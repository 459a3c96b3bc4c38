// Runs the playground's benchmark button in headless Chromium (the browser tests' launcher and
// flags) and prints the figures as JSON and as the README's table. After www/build.sh:
//   node www/bench.mjs
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "../wasm/tests/browser.mjs";
import { serve } from "../wasm/tests/serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const server = await serve(join(here, "dist"));
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.skiffPageReady === true, null, { timeout: 20000 });
  await page.click("#runbench");
  await page.waitForFunction(() => window.skiffBench !== undefined, null, { timeout: 120000 });
  const bench = await page.evaluate(() => window.skiffBench);
  console.log(JSON.stringify({ throughput: bench.throughput, latency: bench.latency, userAgent: bench.userAgent }));
  console.log("\n| msgs/s, latency | through Skiff | MessageChannel, 1 a post | MessageChannel, batched | Skiff vs 1 a post |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of bench.rows) console.log(`| ${r.label} | ${r.skiff} | ${r.single} | ${r.batched} | ${r.ratio} |`);
} finally {
  await browser.close();
  server.close();
}
