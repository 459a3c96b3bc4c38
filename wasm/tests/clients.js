// The NATS JS clients the browser tests drive, bundled by esbuild into .build/clients.js
// (the pages and workers import that file; bare package names do not resolve in a browser).
export * as core from "@nats-io/nats-core";
export * as natsws from "nats.ws";
