// The package's TypeScript declarations (wasm/pkg/skiff.d.ts, from wasm/js) compile, strict,
// against a typical use with @nats-io/nats-core's own types (types/usage.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

test("skiff.d.ts type-checks a typical use, strict", () => {
  const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
  const run = spawnSync(process.execPath, [tsc, "-p", join(here, "types", "tsconfig.json")], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});
