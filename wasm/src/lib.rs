//! Skiff's browser host: the sans-IO [`skiff_core::Broker`] driven from JavaScript, in a page,
//! a dedicated Worker or a SharedWorker.
//!
//! The host only moves bytes, time and events between the browser and the core:
//!
//! * every connection is a `MessagePort`; NATS protocol bytes travel as transferred
//!   `ArrayBuffer`s and a few small control objects travel beside them (the *port protocol*
//!   below);
//! * the one core timer is a `setTimeout` re-armed at [`skiff_core::Broker::poll_timeout`];
//!   time is `performance.now()` and the seed comes from `crypto.getRandomValues`;
//! * outputs are performed in order in one place, as the native host does.
//! * producer back-pressure: between the core's `PauseReading` and `ResumeReading` for a
//!   connection, what its port delivers is held by the host in arrival order (a port cannot be
//!   left unread) and fed to the core on resume, one input at a time so that a new pause stops
//!   the feeding at once; acknowledgements are never held. Nothing blocks.
//! * fault injection (`inject`, `clear`, `faults`) is the core's: the host reads the JSON form
//!   with [`skiff_core::Fault::from_json`], hands the fault to the broker and performs what it
//!   causes, as for any input;
//! * the core's notices (what nats-server would log) go to the event listener as
//!   `{ type: "notice", level, text, cid }`; the host writes nothing to the console.
//!
//! The JavaScript module `js/skiff.js` (shipped in the npm package beside the wasm-bindgen
//! output) adds what is natural in JavaScript and holds no broker logic: the W3C
//! `WebSocket`-compatible shim over a port, `wsFactory` for the NATS JS clients, the scoped
//! `globalThis.WebSocket` replacement, and the plumbing that hands ports to a broker living
//! in a Worker or SharedWorker.
//!
//! # The port protocol
//!
//! Both directions carry `ArrayBuffer`s (or typed-array views) of NATS protocol bytes. Beside
//! them:
//!
//! * client → broker `{ skiff: "ack", bytes: n }`: the client consumed `n` bytes the broker
//!   sent (only on connections attached with `acks: true`; others count bytes as written when
//!   posted). Unacknowledged bytes count as pending, so a stuck client is closed as a slow
//!   consumer exactly as a native client whose socket stopped reading;
//! * client → broker `{ skiff: "close" }`: the client closed;
//! * broker → client `{ skiff: "close", code, reason }`: the broker closed the connection, with
//!   the WebSocket status nats-server would send and its reason text. The port is closed
//!   right after.

pub mod options;

#[cfg(target_arch = "wasm32")]
mod browser;
