//! What the browser host takes from its global scope: time, timers and randomness. These are
//! globals in a page, a dedicated Worker, a SharedWorker and Node alike.

use std::time::Duration;

use js_sys::Function;
use skiff_core::Instant;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, millis: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
}

/// Monotonic time since the broker started, from `performance.now()`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: f64,
}

impl Clock {
    /// A clock whose epoch is now.
    pub(crate) fn start() -> Self {
        Self {
            epoch: performance_now(),
        }
    }

    /// The current instant.
    pub(crate) fn now(self) -> Instant {
        let millis = (performance_now() - self.epoch).max(0.0);
        Instant::from_since_epoch(Duration::from_secs_f64(millis / 1000.0))
    }
}

/// A seed from `crypto.getRandomValues`.
pub(crate) fn random_seed() -> Result<u64, JsValue> {
    let mut bytes = [0u8; 8];
    get_random_values(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

/// One pending `setTimeout`.
#[derive(Debug)]
pub(crate) struct Timeout {
    /// When the core wants to be woken.
    pub(crate) at: Instant,
    handle: JsValue,
}

impl Timeout {
    /// Calls `handler` in `delay` (rounded up to the next millisecond, so it never fires early
    /// because of rounding).
    pub(crate) fn start(handler: &Function, at: Instant, delay: Duration) -> Self {
        let millis = (delay.as_secs_f64() * 1000.0).ceil();
        Self {
            at,
            handle: set_timeout(handler, millis),
        }
    }

    /// Cancels it.
    pub(crate) fn cancel(self) {
        clear_timeout(&self.handle);
    }
}
