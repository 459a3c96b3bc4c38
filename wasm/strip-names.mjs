// Removes the "name" custom section (function names for stack traces, about 100 KB) from a
// .wasm file, in place. Every other section is kept byte for byte.
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const wasm = readFileSync(file);
const leb = (at) => {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = wasm[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
};
const kept = [wasm.subarray(0, 8)];
for (let at = 8; at < wasm.length; ) {
  const start = at;
  const id = wasm[at++];
  const [size, body] = leb(at);
  at = body + size;
  if (id === 0) {
    const [length, name] = leb(body);
    if (wasm.subarray(name, name + length).toString() === "name") continue;
  }
  kept.push(wasm.subarray(start, at));
}
writeFileSync(file, Buffer.concat(kept));
