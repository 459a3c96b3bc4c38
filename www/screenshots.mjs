// Takes the README's screenshots of the playground in headless Chromium (the browser tests'
// launcher and flags): laptop 1366x800 and phone 390x844, after a short scripted session
// (a chat, a hand-published request, a dropped client). Run after www/build.sh:
//   node www/screenshots.mjs   → www/screenshots/{laptop,phone}.png
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "../wasm/tests/browser.mjs";
import { serve } from "../wasm/tests/serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const server = await serve(join(here, "dist"));
const browser = await launch();
try {
  for (const [name, viewport, fullPage] of [
    ["laptop", { width: 1366, height: 800 }, false],
    ["phone", { width: 390, height: 844 }, false],
    ["phone-full", { width: 390, height: 844 }, true],
  ]) {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => window.skiffPageReady === true, null, { timeout: 20000 });
    await page.check("#hidesensors");
    await page.fill('.pane[data-who="alice"] input', "hi bob, the broker lives in this tab");
    await page.press('.pane[data-who="alice"] input', "Enter");
    await page.fill('.pane[data-who="bob"] input', "no server, no port: neat");
    await page.press('.pane[data-who="bob"] input', "Enter");
    await page.click("#pub");
    await page.waitForTimeout(1500);
    await page.click("#drop");
    if (fullPage) {
      await page.click("#runbench");
      await page.waitForFunction(() => window.skiffBench !== undefined, null, { timeout: 60000 });
    }
    await page.waitForTimeout(9000);
    await page.screenshot({ path: join(here, "screenshots", `${name}.png`), fullPage });
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
