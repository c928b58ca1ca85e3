// JS → Python: what the front end sends, and when. Plus the test instrumentation, off
// unless switched on by `instrument()` (or `globalThis.__etwInstrument = true`, which the
// browser tests set before the page loads).

/** @typedef {{get: Function, set: Function, save_changes: Function, on: Function,
 *   off: Function, send: Function}} Model */

import { bytesOf } from "./paint.js";

const G = /** @type {any} */ (globalThis);

/**
 * Switch the test instrumentation on or off (`window.__etwSent`, `__etwLatencies`,
 * `__etwTiltIndex`, `el.__etwStats`, the `data-slices-*` counters).
 * @param {boolean} [on]
 */
export function instrument(on = true) { G.__etwInstrument = Boolean(on); }

/** @returns {boolean} */
export function instrumented() { return G.__etwInstrument === true; }

/**
 * Where one latency went (ms), from the clock stamps of a frame: `up` (browser → kernel:
 * the value sent until Python asked for the frame), `wait` (queued behind older work),
 * `compute`, `encode` (display frame made), `down` (kernel → browser), `paint`. Stamps
 * missing from a frame (a frame prepared in advance) leave their phases out.
 * @param {number} sentAt epoch ms the value left
 * @param {any} frame with `t_in`, `t_start`, `t_done`, `t_sent` (epoch s) and `t_arrived`
 *   (epoch ms)
 * @param {number} paintedAt epoch ms
 * @returns {Record<string, number>}
 */
export function breakdown(sentAt, frame, paintedAt) {
  /** @type {Record<string, number>} */
  const out = { total: paintedAt - sentAt };
  const s = (/** @type {string} */ k) => (typeof frame[k] === "number" ? 1000 * frame[k] : null);
  const tIn = s("t_in"), tStart = s("t_start"), tDone = s("t_done"), tSent = s("t_sent");
  const arrived = typeof frame.t_arrived === "number" ? frame.t_arrived : null;
  if (tIn !== null) out.up = tIn - sentAt;
  if (tIn !== null && tStart !== null) out.wait = tStart - tIn;
  if (tStart !== null && tDone !== null) out.compute = tDone - tStart;
  if (tSent !== null) out.encode = tSent - (tDone !== null ? tDone : (tIn !== null ? tIn : tSent));
  if (tSent !== null && arrived !== null) out.down = arrived - tSent;
  if (arrived !== null) out.paint = paintedAt - arrived;
  return out;
}

/** Epoch milliseconds (comparable with Python's `time.time()` on the same machine). */
export function epochMs() { return performance.timeOrigin + performance.now(); }

/** Records of the instrumentation; every function is a no-op unless instrumented. */
export const probe = {
  /** A value leaves for Python (the latency clock starts). */
  sent(/** @type {string} */ trait, /** @type {any} */ value) {
    if (instrumented()) G.__etwSent = { trait, value, t: performance.now(), at: epochMs() };
  },
  /**
   * A frame was painted: counters on `el`, and the latency of the value sent last when
   * this frame shows it.
   * @param {HTMLElement} el
   * @param {string} pane
   * @param {any} frame
   */
  drawn(el, pane, frame) {
    if (!instrumented()) return;
    const host = /** @type {any} */ (el);
    const stats = host.__etwStats || (host.__etwStats = { slicesDrawn: 0, tiltDrawn: 0,
      sinoDrawn: 0, latencies: [] });
    stats[`${pane}Drawn`] = (stats[`${pane}Drawn`] || 0) + 1;
    const sent = G.__etwSent;
    if (pane === "tilt") {
      G.__etwTiltIndex = frame.index;
      if (sent && sent.trait === "tilt_index" && frame.index === sent.value && !sent.done) {
        sent.done = true;
        (G.__etwTiltLatencies = G.__etwTiltLatencies || []).push(performance.now() - sent.t);
        (G.__etwTiltBreakdown = G.__etwTiltBreakdown || []).push(
          breakdown(sent.at, frame, epochMs()));
      }
    }
    if (pane !== "slices") return;
    el.dataset.slicesDrawn = String(stats.slicesDrawn);
    el.dataset.slicesSeq = String(frame.seq);
    el.dataset.slicesShift = String(frame.tilt_shift);
    el.dataset.slicesLevel = frame.level;
    if (sent && (sent.trait === "tilt_shift" || sent.trait === "tilt_rotation") &&
        Number(frame[sent.trait]) === Number(sent.value) && !sent.done) {
      sent.done = true;
      stats.latencies.push(performance.now() - sent.t);
      G.__etwLatencies = stats.latencies;
      (G.__etwBreakdown = G.__etwBreakdown || []).push(breakdown(sent.at, frame, epochMs()));
    }
  },
};

/**
 * The one way the front end writes traits.
 *
 * - `now(trait, value)`: sent at once (with anything pending);
 * - `drag(trait, value)`: coalesced per animation frame — the first change of a frame
 *   goes at once (no added latency), later ones in the same frame are merged and sent
 *   when the frame ends, so a fast drag sends at most one message a frame and the last
 *   value always arrives;
 * - `debounced(trait, value, ms)`: sent when no new value came for `ms` (the zoom window).
 *
 * The model is updated locally at once in every case (the front end redraws from it).
 * @param {Model} model
 * @param {{frame?: (cb: Function) => any, timer?: typeof setTimeout}} [clock]
 */
export function makeSync(model, clock = {}) {
  const frame = clock.frame || G.requestAnimationFrame?.bind(G) ||
    ((/** @type {Function} */ cb) => setTimeout(cb, 16));
  const timer = clock.timer || setTimeout;
  /** @type {Map<string, any>} */
  const pending = new Map();
  /** @type {Map<string, any>} */
  const timers = new Map();
  let open = false;  // an animation frame is running since the last send
  const stats = { messages: 0, values: 0 };
  const flush = () => {
    if (!pending.size) return;
    pending.clear();
    stats.messages++;
    model.save_changes();
  };
  const tick = () => {
    if (pending.size) { flush(); frame(tick); } else open = false;
  };
  const put = (/** @type {string} */ trait, /** @type {any} */ value) => {
    probe.sent(trait, value);
    stats.values++;
    model.set(trait, value);
    pending.set(trait, value);
  };
  return {
    stats,
    now(/** @type {string} */ trait, /** @type {any} */ value) { put(trait, value); flush(); },
    drag(/** @type {string} */ trait, /** @type {any} */ value) {
      put(trait, value);
      if (!open) { open = true; flush(); frame(tick); }
    },
    debounced(/** @type {string} */ trait, /** @type {any} */ value, ms = 120) {
      model.set(trait, value);
      clearTimeout(timers.get(trait));
      timers.set(trait, timer(() => { timers.delete(trait); put(trait, value); flush(); }, ms));
    },
    flush,
  };
}

/**
 * The projection frames Python sent ahead (`tilt_atlas` messages: `key`, `frames` [meta of
 * each], one buffer of their pixels back to back). `key(k)` sets the key the latest
 * projection frame carries (-1: none); frames of another key are dropped.
 */
export function makeAtlas() {
  let current = -1;  // the key of the frames held (keys only grow)
  let active = false;  // the latest projection frame carries that key (-1 while zoomed)
  /** @type {Map<number, any>} */
  let byIndex = new Map();
  const adopt = (/** @type {number} */ k) => {
    if (k > current) { current = k; byIndex = new Map(); }
  };
  return {
    key(/** @type {number} */ k) {
      const next = typeof k === "number" ? k : -1;
      adopt(next);
      active = next >= 0 && next === current;
    },
    add(/** @type {any} */ msg, /** @type {any} */ buffer) {
      if (!buffer || msg.key < current) return;
      if (msg.key > current) { adopt(msg.key); active = true; }
      const bytes = bytesOf(buffer);
      let offset = 0;
      for (const meta of msg.frames) {
        const n = meta.shape.reduce((/** @type {number} */ a, /** @type {number} */ b) => a * b, 1);
        byIndex.set(meta.index, { ...meta, data: bytes.subarray(offset, offset + n),
          source: "atlas" });
        offset += n;
      }
    },
    get(/** @type {number} */ index) { return active ? byIndex.get(index) : undefined; },
  };
}
