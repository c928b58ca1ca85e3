// The image panes: projection (with its overlay, zoom, pan and slice-line dragging),
// sinogram, the three slices, and the status bar. Each builder returns its node and
// its draw functions; the wiring to model events is in workbench.js.

import { h } from "./dom.js";
import { moveSlice, nearestSlice, panWindow, toData, zoomWindow } from "./geometry.js";
import { paint } from "./paint.js";
import { probe } from "./transport.js";

/**
 * @param {{model: any, el: HTMLElement, sync: any}} ctx
 */
export function statusBar({ model }) {
  const status = h("span", { class: "etw-status", dataset: { role: "status" } });
  const error = h("span", { class: "etw-error", dataset: { role: "error" } });
  const progress = h("progress", { class: "etw-progress", max: 1, value: 0,
    title: "Progress of the running step" });
  const cancel = h("button", { class: "etw-cancel", textContent: "Cancel",
    title: "Stop the running step (nothing changes)",
    onclick: () => model.send({ action: "cancel" }) });
  const node = h("div", { class: "etw-statusbar" }, [status, progress, cancel, error]);
  const draw = () => {
    status.textContent = model.get("status");
    error.textContent = model.get("error");
    const busy = model.get("busy"), p = model.get("progress");
    cancel.disabled = !busy;
    progress.style.visibility = busy ? "visible" : "hidden";
    if (p >= 0) progress.value = p; else progress.removeAttribute("value");
  };
  return { node, draw };
}

/**
 * The projection pane: image, overlay (tilt axis and slice lines), tilt slider.
 * @param {{model: any, el: HTMLElement, sync: any, cmap: () => string, frames: any}} ctx
 */
export function tiltPane({ model, el, sync, cmap, frames }) {
  const canvas = h("canvas", { class: "etw-image", dataset: { pane: "tilt" } });
  const overlay = h("canvas", { class: "etw-overlay", dataset: { pane: "tilt-overlay" },
    title: "Wheel: zoom · Shift-drag: pan · drag: move the nearest slice line · " +
      "double-click: whole image" });
  const slider = h("input", { type: "range", min: 0, step: 1, class: "etw-slider",
    title: "Projection shown (←/→ when focused)",
    dataset: { trait: "tilt_index", lmSuppressShortcuts: "true" } });
  const angle = h("span", { class: "etw-angle", dataset: { role: "angle" } });
  slider.addEventListener("input", () => sync.drag("tilt_index", Number(slider.value)));
  const node = h("div", { class: "etw-pane" }, [
    h("div", { class: "etw-title", textContent: "Projection" }),
    h("div", { class: "etw-canvasbox" }, [canvas, overlay]),
    h("label", { class: "etw-field" }, ["Tilt ", slider, angle])]);
  const shape = () => model.get("stack_shape") || [1, 64, 64];

  const drawOverlay = () => {
    const frame = frames.tilt_frame, ov = model.get("overlay");
    if (!frame || !frame.shape || !ov || !ov.axis) return;
    const [h0, w0] = frame.shape;
    const scale = 2; // drawn at twice the image resolution for crisp lines
    overlay.width = w0 * scale; overlay.height = h0 * scale;
    const ctx = /** @type {CanvasRenderingContext2D} */ (overlay.getContext("2d"));
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    const [x0, y0] = frame.window, f = frame.factor;
    const map = (/** @type {number[]} */ p) => [scale * (p[0] - x0 + 0.5) / f,
      scale * (p[1] - y0 + 0.5) / f];
    const line = (/** @type {number[][]} */ seg, /** @type {string} */ color, width = 2) => {
      const a = map(seg[0]), b = map(seg[1]);
      ctx.strokeStyle = color; ctx.lineWidth = width;
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    };
    line(ov.axis, "#ff3b30", 2);
    const sel = model.get("selected_slice");
    ov.slices.forEach((/** @type {number[][]} */ seg, /** @type {number} */ k) =>
      line(seg, k === sel ? "#ffd60a" : "#30d158", k === sel ? 3 : 2));
  };
  const draw = () => {
    const frame = frames.tilt_frame;
    if (paint(canvas, frame, cmap())) probe.drawn(el, "tilt", frame);
    const n = shape()[0];
    slider.max = n - 1;
    slider.value = model.get("tilt_index");
    if (frame && frame.angle !== undefined) {
      angle.textContent = ` ${Number(frame.angle).toFixed(1)}° (${frame.index + 1}/${n})`;
    }
    drawOverlay();
  };

  // pointer: drag a slice line, shift-drag to pan, wheel to zoom
  const at = (/** @type {PointerEvent|WheelEvent} */ ev) =>
    toData(frames.tilt_frame, overlay.getBoundingClientRect(), ev.clientX, ev.clientY);
  /** @type {any} */
  let drag = null;
  const slideTo = (/** @type {number} */ k, /** @type {number} */ x) => {
    model.set("selected_slice", k);
    sync.drag("slices", moveSlice(model.get("slices"), k, x, shape()[2]));
  };
  overlay.addEventListener("pointerdown", (/** @type {PointerEvent} */ ev) => {
    const frame = frames.tilt_frame;
    if (!frame || !frame.shape) return;
    overlay.setPointerCapture(ev.pointerId);
    const p = at(ev);
    if (ev.shiftKey) { drag = { mode: "pan", p, view: frame.window }; return; }
    drag = { mode: "slice", k: nearestSlice(model.get("slices"), p[0]) };
    model.set("dragging", true);
    slideTo(drag.k, p[0]);
  });
  overlay.addEventListener("pointermove", (/** @type {PointerEvent} */ ev) => {
    if (!drag) return;
    const p = at(ev);
    if (drag.mode === "slice") slideTo(drag.k, p[0]);
    else sync.debounced("view", panWindow(drag.view, drag.p, p), 40);
  });
  const endDrag = () => {
    if (drag && drag.mode === "slice") sync.now("dragging", false);
    drag = null;
  };
  overlay.addEventListener("pointerup", endDrag);
  overlay.addEventListener("pointercancel", endDrag);
  overlay.addEventListener("wheel", (/** @type {WheelEvent} */ ev) => {
    const frame = frames.tilt_frame;
    if (!frame || !frame.window) return;
    ev.preventDefault();
    const current = model.get("view");
    const win = current && current.length === 4 ? current : frame.window;
    sync.debounced("view", zoomWindow(win, at(ev), ev.deltaY, shape().slice(1)), 60);
  }, { passive: false });
  overlay.addEventListener("dblclick", () => sync.now("view", []));
  return { node, draw, drawOverlay, slider };
}

/**
 * The sinogram pane (of the selected slice column).
 * @param {{model: any, el: HTMLElement, cmap: () => string, frames: any}} ctx
 */
export function sinoPane({ model, el, cmap, frames }) {
  const canvas = h("canvas", { class: "etw-image", dataset: { pane: "sinogram" } });
  const title = h("div", { class: "etw-title", textContent: "Sinogram" });
  const node = h("div", { class: "etw-pane", title: "Sinogram of the selected slice column " +
    "(rows: projections) under the trial alignment" },
  [title, h("div", { class: "etw-canvasbox" }, [canvas])]);
  const draw = () => {
    const frame = frames.sino_frame;
    if (paint(canvas, frame, cmap())) {
      probe.drawn(el, "sino", frame);
      title.textContent = `Sinogram x = ${frame.slice}`;
    }
  };
  return { node, draw };
}

/**
 * The three live slices; a click selects one.
 * @param {{model: any, el: HTMLElement, sync: any, cmap: () => string, frames: any}} ctx
 */
export function slicePanes({ model, el, sync, cmap, frames }) {
  const canvases = [0, 1, 2].map((k) => h("canvas", { class: "etw-image",
    dataset: { pane: `slice-${k}` } }));
  const titles = [0, 1, 2].map(() => h("div", { class: "etw-title" }));
  const panes = canvases.map((c, k) => h("div", { class: "etw-pane etw-slice",
    title: "A reconstructed slice under the trial alignment (click: select it)",
    onclick: () => sync.now("selected_slice", k) },
  [titles[k], h("div", { class: "etw-canvasbox" }, [c])]));
  const draw = () => {
    const frame = frames.slices_frame;
    if (!frame || !frame.shape) return;
    let ok = true;
    for (let k = 0; k < 3; k++) {
      ok = paint(canvases[k], frame, cmap(), k) && ok;
      titles[k].textContent = `Slice x = ${frame.slices[k]}` +
        (frame.level === "preview" ? " (preview)" : "");
      panes[k].classList.toggle("etw-selected", k === model.get("selected_slice"));
    }
    if (ok) probe.drawn(el, "slices", frame);
  };
  return { nodes: panes, draw };
}
