// Unit tests of the front end's pure parts: `node --test js/` (Node ≥ 18, no packages).
import assert from "node:assert/strict";
import { test } from "node:test";

import { containRect, moveSlice, nearestSlice, nudgeUpdate, panWindow, toData, zoomWindow } from "./geometry.js";
import { SHORTCUTS, keyAction, stepValue } from "./keys.js";
import { bytesOf, lut } from "./paint.js";
import { breakdown, instrument, instrumented, makeAtlas, makeSync } from "./transport.js";

test("grey colour map is the identity", () => {
  const t = lut("gray");
  for (const i of [0, 1, 127, 255]) assert.deepEqual([...t.slice(3 * i, 3 * i + 3)], [i, i, i]);
});

test("viridis runs from its first to its last anchor colour", () => {
  const t = lut("viridis");
  assert.deepEqual([...t.slice(0, 3)], [0x44, 0x01, 0x54]);
  assert.deepEqual([...t.slice(765, 768)], [0xfd, 0xe7, 0x25]);
});

test("afmhot is black to white through red", () => {
  const t = lut("afmhot");
  assert.deepEqual([...t.slice(0, 3)], [0, 0, 0]);
  assert.deepEqual([...t.slice(765, 768)], [255, 255, 255]);
  assert.ok(t[3 * 100] > t[3 * 100 + 1] && t[3 * 100 + 1] >= t[3 * 100 + 2]);
});

test("bytesOf reads DataView, ArrayBuffer and typed arrays without copying", () => {
  const buf = new Uint8Array([9, 1, 2, 3, 4]).buffer;
  const view = new DataView(buf, 1, 3);
  assert.deepEqual([...bytesOf(view)], [1, 2, 3]);
  assert.equal(bytesOf(view).buffer, buf);
  assert.deepEqual([...bytesOf(buf)], [9, 1, 2, 3, 4]);
  assert.deepEqual([...bytesOf(null)], []);
});

test("toData maps a pointer to data pixels through the zoom window and the reduction", () => {
  // a 100 × 200 display frame (factor 2) of the window x 50..450, y 10..210, drawn at 2×
  const frame = { shape: [100, 200], window: [50, 10, 450, 210], factor: 2 };
  const rect = { left: 10, top: 20, width: 400, height: 200 };
  assert.deepEqual(toData(frame, rect, 10, 20), [50, 10]);
  assert.deepEqual(toData(frame, rect, 410, 220), [450, 210]);
  assert.deepEqual(toData(frame, rect, 210, 120), [250, 110]);
});

test("zoomWindow keeps the point under the pointer and stays within the image", () => {
  const win = [0, 0, 100, 100];
  const zin = zoomWindow(win, [25, 50], -1, [100, 100]);
  assert.deepEqual(zin, [5, 10, 85, 90]);  // 0.8 × around (25, 50)
  // the point keeps its relative place: (25 - 5) / 80 = 25 / 100
  assert.equal((25 - zin[0]) / (zin[2] - zin[0]), 0.25);
  assert.deepEqual(zoomWindow(zin, [25, 50], 1, [100, 100]), []);  // back out: whole image
  let w = win;
  for (let i = 0; i < 40; i++) w = zoomWindow(w, [50, 50], -1, [100, 100]);
  assert.equal(w[2] - w[0], 8);  // never below 8 pixels
});

test("panWindow moves the window by the drag, in data pixels", () => {
  assert.deepEqual(panWindow([10, 20, 30, 40], [15, 25], [12, 30]), [13, 15, 33, 35]);
});

test("nearestSlice picks the closest column, the first on ties; moveSlice clamps", () => {
  assert.equal(nearestSlice([16, 32, 48], 30), 1);
  assert.equal(nearestSlice([16, 32, 48], 0), 0);
  assert.equal(nearestSlice([16, 32, 48], 99), 2);
  assert.equal(nearestSlice([10, 20, 30], 15), 0);
  assert.deepEqual(moveSlice([16, 32, 48], 2, 70.6, 64), [16, 32, 63]);
  assert.deepEqual(moveSlice([16, 32, 48], 0, -3, 64), [0, 32, 48]);
  assert.deepEqual(moveSlice([16, 32, 48], 1, 40.4, 64), [16, 40, 48]);
});

test("nudgeUpdate sets one axis of one projection and drops projections back at zero", () => {
  const a = nudgeUpdate({}, 3, 1, 2.5);
  assert.deepEqual(a, { 3: [0, 2.5] });
  const b = nudgeUpdate(a, 3, 0, -1);
  assert.deepEqual(b, { 3: [-1, 2.5] });
  assert.deepEqual(a, { 3: [0, 2.5] });  // not mutated
  assert.deepEqual(nudgeUpdate(nudgeUpdate(b, 3, 0, 0), 3, 1, 0), {});
  assert.deepEqual(nudgeUpdate(b, 7, 0, 1), { 3: [-1, 2.5], 7: [1, 0] });
});

/** A widget model as anywidget gives it: set/get locally, save_changes sends the changes. */
function fakeModel() {
  const state = {}, changed = {}, sent = [];
  return { sent, state,
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; changed[k] = v; },
    save_changes: () => { sent.push({ ...changed }); for (const k in changed) delete changed[k]; },
  };
}

/** An animation-frame clock driven by hand. */
function fakeFrames() {
  const queue = [];
  return { frame: (cb) => queue.push(cb), step: () => { const q = queue.splice(0); q.forEach((f) => f()); },
    get waiting() { return queue.length; } };
}

test("drag values are coalesced per animation frame; the first goes at once, the last wins", () => {
  const model = fakeModel(), clock = fakeFrames();
  const sync = makeSync(model, { frame: clock.frame });
  sync.drag("tilt_shift", 0.1);
  assert.deepEqual(model.sent, [{ tilt_shift: 0.1 }]);  // leading edge: no added latency
  for (const v of [0.2, 0.3, 0.4]) sync.drag("tilt_shift", v);
  assert.equal(model.state.tilt_shift, 0.4);  // the model is updated locally at once
  assert.equal(model.sent.length, 1);
  clock.step();  // the frame ends: one message with the newest value
  assert.deepEqual(model.sent, [{ tilt_shift: 0.1 }, { tilt_shift: 0.4 }]);
  clock.step();  // a quiet frame closes the window
  assert.equal(clock.waiting, 0);
  sync.drag("tilt_shift", 0.5);
  assert.deepEqual(model.sent.at(-1), { tilt_shift: 0.5 });
  assert.equal(sync.stats.values, 5);
});

test("now() sends at once with anything pending (the drag's end follows its last value)", () => {
  const model = fakeModel(), clock = fakeFrames();
  const sync = makeSync(model, { frame: clock.frame });
  sync.drag("tilt_shift", 1);
  sync.drag("tilt_shift", 2);
  sync.now("dragging", false);
  assert.deepEqual(model.sent, [{ tilt_shift: 1 }, { tilt_shift: 2, dragging: false }]);
  clock.step();
  assert.equal(model.sent.length, 2);
});

test("debounced values are sent once, when they stop changing", async () => {
  const model = fakeModel();
  const sync = makeSync(model, { frame: (cb) => setTimeout(cb, 0) });
  for (let i = 0; i < 5; i++) sync.debounced("view", [i, 0, 10, 10], 20);
  assert.deepEqual(model.state.view, [4, 0, 10, 10]);
  assert.equal(model.sent.length, 0);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(model.sent, [{ view: [4, 0, 10, 10] }]);
});

test("the instrumentation is off until switched on", () => {
  const model = fakeModel();
  instrument(false);
  makeSync(model, { frame: () => {} }).now("tilt_shift", 1);
  assert.equal(globalThis.__etwSent, undefined);
  instrument(true);
  assert.ok(instrumented());
  makeSync(model, { frame: () => {} }).now("tilt_shift", 2);
  assert.equal(globalThis.__etwSent.value, 2);
  instrument(false);
});

test("containRect centres an image drawn with object-fit: contain", () => {
  const r = { left: 0, top: 10, width: 200, height: 100 };
  assert.deepEqual(containRect(r, 50, 50), { left: 50, top: 10, width: 100, height: 100 });
  assert.deepEqual(containRect(r, 400, 100), { left: 0, top: 35, width: 200, height: 50 });
  // a pointer at the image's right edge maps to its last data column, wherever the bars are
  const frame = { shape: [50, 50], window: [0, 0, 50, 50], factor: 1 };
  assert.deepEqual(toData(frame, r, 150, 60), [50, 25]);
  assert.deepEqual(toData(frame, r, 50, 10), [0, 0]);
});

test("keyAction: tilt, slices, axis, nudges, undo/redo and help", () => {
  assert.deepEqual(keyAction({ key: "ArrowRight" }), { step: "tilt_index", by: 1 });
  assert.deepEqual(keyAction({ key: "ArrowLeft", shiftKey: true }), { step: "tilt_index", by: -10 });
  assert.deepEqual(keyAction({ key: "End" }), { set: "tilt_index", value: "last" });
  assert.deepEqual(keyAction({ key: "2" }), { set: "selected_slice", value: 1 });
  assert.deepEqual(keyAction({ key: "ArrowUp" }), { slice: 1 });
  assert.deepEqual(keyAction({ key: "." }), { step: "tilt_shift", by: 0.1 });
  assert.deepEqual(keyAction({ key: "<", shiftKey: true }), { step: "tilt_shift", by: -1 });
  assert.deepEqual(keyAction({ key: "]" }), { step: "tilt_rotation", by: 0.05 });
  assert.deepEqual(keyAction({ key: "ArrowUp", altKey: true }), { nudge: 0, by: -0.25 });
  assert.deepEqual(keyAction({ key: "ArrowRight", altKey: true }), { nudge: 1, by: 0.25 });
  assert.deepEqual(keyAction({ key: "z", ctrlKey: true }), { action: "undo" });
  assert.deepEqual(keyAction({ key: "Z", metaKey: true, shiftKey: true }), { action: "redo" });
  assert.deepEqual(keyAction({ key: "y", ctrlKey: true }), { action: "redo" });
  assert.deepEqual(keyAction({ key: "?" }), { help: "toggle" });
  assert.deepEqual(keyAction({ key: "Escape" }), { help: false });
  assert.equal(keyAction({ key: "c", ctrlKey: true }), null);  // copy stays the browser's
  assert.equal(keyAction({ key: "q" }), null);
  assert.ok(SHORTCUTS.length >= 10 && SHORTCUTS.every(([k, w]) => k && w));
});

test("stepValue clamps and rounds", () => {
  assert.equal(stepValue(0.2, 0.1), 0.3);
  assert.equal(stepValue(88, 10, 0, 89), 89);
  assert.equal(stepValue(0, -1, 0, 89), 0);
});

import { dragLimits, flagColour, nearestIndex, paddedRange, plotX, pxOf, stripIndex, tickLabel, valueAt } from "./plots.js";

test("plot axes map values to pixels and back", () => {
  assert.equal(pxOf(5, [0, 10], 200), 100);
  assert.equal(valueAt(100, [0, 10], 200), 5);
  assert.equal(valueAt(-5, [0, 10], 200), 0);  // clamped
  assert.equal(valueAt(500, [0, 10], 200), 10);
  assert.deepEqual(paddedRange([[0, 10], [5]]), [-0.5, 10.5]);
  assert.deepEqual(paddedRange([[3, 3]]), [2.45, 3.55]);
  assert.deepEqual(paddedRange([[]]), [0, 1]);
  const layout = { xRange: [-70, 70], w: 226, pad: 22 };
  assert.equal(plotX(layout, 22), -70);
  assert.equal(plotX(layout, 222), 70);
  assert.equal(nearestIndex([-60, -30, 0, 30], 12), 2);
});

test("axis labels keep 3 significant digits and 7 characters", () => {
  assert.equal(tickLabel(23.8123), "23.8");
  assert.equal(tickLabel(-44.71), "-44.7");
  assert.equal(tickLabel(0), "0");
  assert.equal(tickLabel(0.012345), "0.0123");
  assert.equal(tickLabel(884371.4), "8.84e5");
  assert.equal(tickLabel(-42107.5), "-4.21e4");
  assert.equal(tickLabel(Number.NaN), "");
  for (const v of [1e9, -1e-9, 9999.9, 123.456]) assert.ok(tickLabel(v).length <= 7, tickLabel(v));
});

test("dragLimits moves the nearest handle and keeps low below high", () => {
  const r = [0, 1000];
  assert.deepEqual(dragLimits([100, 900], 200, r), { limits: [200, 900], which: 0 });
  assert.deepEqual(dragLimits([100, 900], 700, r), { limits: [100, 700], which: 1 });
  // the held handle stays held when it passes the other one, stopped 1/1000 before it
  assert.deepEqual(dragLimits([100, 900], 950, r, 0), { limits: [899, 900], which: 0 });
  assert.deepEqual(dragLimits([100, 900], 10, r, 1), { limits: [100, 101], which: 1 });
});

test("quality strip: bar under the pointer and colour by flag reason", () => {
  assert.equal(stripIndex(0, 300, 90), 0);
  assert.equal(stripIndex(299.9, 300, 90), 89);
  assert.equal(stripIndex(150, 300, 90), 45);
  assert.equal(flagColour(""), "#4caf50");
  assert.equal(flagColour("high residual"), "#f44336");
  assert.equal(flagColour("low NCC"), "#ff9800");
  assert.equal(flagColour("something else"), "#795548");
});

test("the atlas keeps the frames of the latest key, inactive while zoomed", () => {
  const atlas = makeAtlas();
  const chunk = (key, indices) => [{ key, frames: indices.map((i) => ({ index: i, shape: [2, 2] })) },
    new Uint8Array(indices.flatMap((i) => [i, i, i, i]))];
  atlas.add(...chunk(1, [0, 1]));  // chunks may come before the frame that names the key
  assert.deepEqual([...atlas.get(1).data], [1, 1, 1, 1]);
  atlas.key(1);
  atlas.add(...chunk(1, [2]));
  assert.equal(atlas.get(2).index, 2);
  atlas.key(-1);  // zoomed: not painted from
  assert.equal(atlas.get(0), undefined);
  atlas.key(1);  // the whole view again: the same atlas
  assert.equal(atlas.get(0).source, "atlas");
  atlas.add(...chunk(0, [5]));  // an older key: dropped
  assert.equal(atlas.get(5), undefined);
  atlas.key(2);  // a new atlas (new stack or settings): the old frames go
  assert.equal(atlas.get(0), undefined);
});

test("breakdown splits a latency by the frame's clock stamps", () => {
  const frame = { t_in: 1.010, t_start: 1.012, t_done: 1.040, t_sent: 1.045, t_arrived: 1050 };
  const b = breakdown(1000, frame, 1052);
  for (const [k, v] of Object.entries({ total: 52, up: 10, wait: 2, compute: 28, encode: 5,
    down: 5, paint: 2 })) assert.ok(Math.abs(b[k] - v) < 1e-6, k);
  assert.deepEqual(Object.keys(breakdown(0, {}, 3)), ["total"]);  // a frame made ahead
});
