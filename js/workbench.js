// AlignmentWorkbench front end: plain ESM for anywidget, no bundler, no network.
// State lives in the Python model's traits; images arrive as frames in custom messages
// {data: DataView (uint8), shape: [h, w] or [k, h, w], ...}; buttons send
// {action: name} messages. Nothing here computes on the data: it paints.
//
// Modules: dom.js (elements), paint.js (colour maps), geometry.js (pure pane geometry),
// transport.js (JS → Python sync, instrumentation), keys.js (shortcuts), controls.js,
// panes.js; the Python
// side joins them into one module (etspy_widgets/widgets/workbench/_model.py: bundle).

import { copyText, h, insertCellBelow } from "./dom.js";
import { actionButton, fillSelect, traitSelect, traitSlider } from "./controls.js";
import { moveSlice, nudgeUpdate } from "./geometry.js";
import { dragLimits, drawHistogram, themeColours, valueAt } from "./plots.js";
import { SHORTCUTS, keyAction, stepValue } from "./keys.js";
import { sinoPane, slicePanes, statusBar, tiltPane } from "./panes.js";
import { curvesPane, qualityStrip, scanPane, volumePanes } from "./judging.js";
import { epochMs, makeAtlas, makeSync } from "./transport.js";

/**
 * The live trial-alignment controls (tilt axis, nudges, slice method).
 * @param {{model: any, sync: any}} ctx
 */
function trialControls({ model, sync }) {
  const shift = traitSlider(model, sync, "tilt_shift", { label: "Tilt-axis shift ", min: -32,
    max: 32, step: 0.1, unit: " px", title: "Trial shift of the tilt axis across itself (px)" });
  const rot = traitSlider(model, sync, "tilt_rotation", { label: "Rotation ", min: -10,
    max: 10, step: 0.05, unit: " °", title: "Trial rotation of the tilt axis (degrees)" });
  const nudges = ["dy", "dx"].map((name, axis) => {
    const input = h("input", { type: "range", min: -10, max: 10, step: 0.25, value: 0,
      class: "etw-slider", title: `Trial ${name} shift of the projection shown (px)`,
      dataset: { trait: `nudge-${name}`, lmSuppressShortcuts: "true" } });
    input.addEventListener("input", () => sync.drag("nudges",
      nudgeUpdate(model.get("nudges"), model.get("tilt_index"), axis, Number(input.value))));
    input.addEventListener("pointerdown", () => sync.now("dragging", true));
    input.addEventListener("change", () => sync.now("dragging", false));
    return input;
  });
  const drawNudges = () => {
    const cur = (model.get("nudges") || {})[String(model.get("tilt_index"))] || [0, 0];
    nudges[0].value = cur[0]; nudges[1].value = cur[1];
  };
  const method = traitSelect(model, sync, "slice_method",
    "Reconstruction method of the live slices");
  const node = h("div", { class: "etw-controls" }, [
    h("div", { class: "etw-title", textContent: "Tilt axis (live)" }),
    shift.node, rot.node,
    h("div", { class: "etw-hint", textContent: "Nudge the projection shown (px):" }),
    h("label", { class: "etw-field" }, ["dy ", nudges[0]]),
    h("label", { class: "etw-field" }, ["dx ", nudges[1]]),
    h("label", { class: "etw-field" }, ["Slices by ", method]),
    actionButton(model, "Apply to stack", "apply_manual",
      "Commit the shift, rotation and nudges to the stack (one logged step)"),
  ]);
  const drawRanges = () => {
    const ny = (model.get("stack_shape") || [1, 64, 64])[1];
    const lim = Math.max(8, Math.round(ny / 4));
    shift.input.min = String(-lim); shift.input.max = String(lim);
    shift.update();
  };
  return { node, method, drawNudges, drawRanges, off: () => { shift.off(); rot.off(); } };
}

/**
 * The processing steps, undo/redo and the code log.
 * @param {{model: any, el: HTMLElement, sync: any}} ctx
 */
function stepControls({ model, el, sync }) {
  const selects = {
    reg_method: traitSelect(model, sync, "reg_method", "Registration method"),
    filter_method: traitSelect(model, sync, "filter_method", "Pre-filter of the projections"),
    tilt_method: traitSelect(model, sync, "tilt_method", "Tilt-axis alignment method"),
    rec_method: traitSelect(model, sync, "rec_method", "Reconstruction method"),
  };
  const iterations = h("input", { type: "number", min: 1, max: 1000, value: 20,
    class: "etw-number etw-short", title: "Iterations of an iterative reconstruction",
    dataset: { trait: "rec_iterations" },
    onchange: () => sync.now("rec_iterations", Number(iterations.value)) });
  const run = (/** @type {string} */ action, /** @type {string} */ title) =>
    actionButton(model, "Run", action, title);
  const undo = actionButton(model, "Undo", "undo", "Undo the last step (Ctrl-Z)");
  const redo = actionButton(model, "Redo", "redo", "Redo the step undone (Ctrl-Y)");
  const codeBox = h("pre", { class: "etw-code", dataset: { role: "code" } });
  const details = h("details", { class: "etw-details" }, [
    h("summary", { textContent: "Code", title: "The code log: every step as a line" }),
    codeBox]);
  const note = h("span", { class: "etw-note" });
  const insert = h("button", { textContent: "Insert code cell", dataset: { action: "insert" },
    title: "Put the code log in a new cell below this one",
    onclick: () => {
      const ok = insertCellBelow(el, model.get("code"));
      note.textContent = ok ? "Code inserted below." :
        "This front end cannot insert cells: use Copy, or wb.insert_code() in a cell.";
      if (!ok) details.open = true;
    } });
  const copy = h("button", { textContent: "Copy code", dataset: { action: "copy" },
    title: "Copy the code log to the clipboard",
    onclick: async () => {
      note.textContent = (await copyText(model.get("code"))) ? "Code copied." :
        "Copy failed: select the code below.";
      details.open = true;
    } });
  const node = h("div", { class: "etw-controls" }, [
    h("div", { class: "etw-title", textContent: "Steps" }),
    h("label", { class: "etw-field" }, ["Filter ", selects.filter_method,
      run("filter", "Filter the projections")]),
    h("label", { class: "etw-field" }, ["Registration ", selects.reg_method,
      run("register", "Register the projections to each other")]),
    h("label", { class: "etw-field" }, ["Tilt axis ", selects.tilt_method,
      run("tilt_align", "Find and correct the tilt axis")]),
    h("div", { class: "etw-field" }, [
      actionButton(model, "Judge", "judge",
        "Run the quality report (stack.quality()) on the current stack, off the kernel's " +
        "thread (it also runs after every step)"),
      actionButton(model, "Scan tilt axis", "scan",
        "Scan the tilt-axis rotation and offset (stack.tilt_axis_scan()) off the kernel's " +
        "thread; click its curves to set the sliders"),
      actionButton(model, "Crop to view", "crop", "Keep only the zoomed region"),
      actionButton(model, "Remove this projection", "remove_projection",
        "Remove the projection shown from the stack")]),
    h("label", { class: "etw-field" }, ["Reconstruct ", selects.rec_method, " iterations ",
      iterations, run("reconstruct", "Reconstruct the volume")]),
    h("div", { class: "etw-field" }, [undo, redo, insert, copy]), note,
  ]);
  const drawStatus = () => {
    const busy = model.get("busy");
    undo.disabled = !model.get("can_undo") || busy;
    redo.disabled = !model.get("can_redo") || busy;
  };
  const drawCode = () => { codeBox.textContent = model.get("code"); };
  return { node, selects, details, note, drawStatus, drawCode };
}

/**
 * Colour map, contrast (mode, histogram with draggable limits, percentiles), zoom.
 * @param {{model: any, sync: any, frames: any}} ctx
 */
function displayControls({ model, sync, frames }) {
  const cmap = traitSelect(model, sync, "cmap", "Colour map of every pane");
  const mode = traitSelect(model, sync, "contrast_mode", "Contrast: Auto (robust limits on " +
    "the object), Percentiles (the two sliders), Manual (drag the limits on the histogram)");
  const contrast = [0, 1].map((k) => {
    const input = h("input", { type: "range", min: 0, max: 100, step: 0.5, class: "etw-slider",
      title: k ? "Upper contrast limit (percentile)" : "Lower contrast limit (percentile)",
      dataset: { trait: `contrast-${k}`, lmSuppressShortcuts: "true" } });
    input.addEventListener("change", () => {
      const c = [...model.get("contrast")];
      c[k] = Number(input.value);
      if (c[0] < c[1]) sync.now("contrast", c);
    });
    return input;
  });
  const hist = h("canvas", { class: "etw-plot", dataset: { pane: "histogram" } });
  const histBox = h("div", { class: "etw-plotbox", style: "height: 70px",
    title: "Histogram of the projection (log counts): drag a limit to set the contrast" },
  [hist]);
  const drawHist = () => {
    const f = frames.tilt_frame;
    if (!f || !f.histogram) return;
    const limits = model.get("contrast_mode") === "manual" && model.get("contrast_limits").length
      ? model.get("contrast_limits") : f.limits;
    drawHistogram(hist, f.histogram, limits, themeColours(hist));
  };
  /** @type {any} */
  let held = null;
  const dragTo = (/** @type {PointerEvent} */ ev) => {
    const f = frames.tilt_frame;
    if (!f || !f.histogram) return;
    const r = hist.getBoundingClientRect();
    const value = valueAt(ev.clientX - r.left, f.histogram.range, r.width);
    const current = held ? held.limits : (model.get("contrast_limits").length &&
      model.get("contrast_mode") === "manual" ? model.get("contrast_limits") : f.limits);
    const next = dragLimits(current, value, f.histogram.range, held ? held.which : undefined);
    held = next;
    sync.drag("contrast_limits", next.limits);
    drawHist();
  };
  hist.addEventListener("pointerdown", (/** @type {PointerEvent} */ ev) => {
    hist.setPointerCapture(ev.pointerId); held = null; dragTo(ev);
  });
  hist.addEventListener("pointermove", (/** @type {PointerEvent} */ ev) => { if (held) dragTo(ev); });
  // the release point is the final value (the browser may merge the last move into it)
  hist.addEventListener("pointerup", (/** @type {PointerEvent} */ ev) => {
    if (held) dragTo(ev);
    held = null; sync.flush();
  });
  hist.addEventListener("pointercancel", () => { held = null; sync.flush(); });
  const node = h("div", { class: "etw-controls" }, [
    h("div", { class: "etw-title", textContent: "Display" }),
    h("label", { class: "etw-field" }, ["Colour map ", cmap, " Contrast ", mode]),
    histBox,
    h("label", { class: "etw-field" }, ["Percentiles ", contrast[0], contrast[1]]),
    h("button", { textContent: "Reset zoom", title: "Show the whole projection",
      onclick: () => sync.now("view", []) }),
  ]);
  const draw = () => {
    const c = model.get("contrast");
    contrast[0].value = c[0]; contrast[1].value = c[1];
    drawHist();
  };
  return { node, cmap, mode, draw, drawHist };
}

/**
 * The `?` overlay listing the keyboard shortcuts.
 */
function helpOverlay() {
  const rows = SHORTCUTS.map(([keys, what]) => h("tr", {}, [
    h("td", {}, [h("kbd", { textContent: keys })]), h("td", { textContent: what })]));
  const close = h("button", { textContent: "Close", title: "Close the help (Esc)" });
  const node = h("div", { class: "etw-help etw-hidden", dataset: { role: "help" } }, [
    h("div", { class: "etw-title", textContent: "Keyboard shortcuts (when the workbench has focus)" }),
    h("table", {}, rows),
    h("p", { class: "etw-hint", textContent: "Mouse on the projection: wheel zooms, Shift-drag " +
      "pans, drag moves the nearest slice line, double-click shows the whole image." }),
    close]);
  const show = (/** @type {boolean|string} */ on) => {
    const open = on === "toggle" ? node.classList.contains("etw-hidden") : Boolean(on);
    node.classList.toggle("etw-hidden", !open);
  };
  close.addEventListener("click", () => show(false));
  return { node, show };
}

/**
 * Keyboard shortcuts on the whole widget (keys.js), outside text fields and selects.
 * @param {{model: any, sync: any}} ctx
 * @param {HTMLElement} root
 * @param {(on: boolean|string) => void} help
 */
function bindKeys({ model, sync }, root, help) {
  root.addEventListener("keydown", (/** @type {KeyboardEvent} */ ev) => {
    const target = /** @type {HTMLElement} */ (ev.target);
    const tag = target && target.tagName;
    if (tag === "SELECT" || tag === "TEXTAREA" ||
        (tag === "INPUT" && /** @type {HTMLInputElement} */ (target).type !== "range")) return;
    if (tag === "INPUT" && !ev.altKey && !ev.ctrlKey && !ev.metaKey &&
        ev.key.startsWith("Arrow")) return;  // a focused slider moves itself
    const act = keyAction(ev);
    if (!act) return;
    ev.preventDefault();
    ev.stopPropagation();
    const shape = model.get("stack_shape") || [1, 1, 1];
    if (act.help !== undefined) help(act.help);
    else if (act.action) model.send({ action: act.action });
    else if (act.set) {
      sync.now(act.set, act.value === "last" ? shape[0] - 1 : act.value);
    } else if (act.step) {
      const lim = act.step === "tilt_index" ? [0, shape[0] - 1] : [-Infinity, Infinity];
      sync.drag(act.step, stepValue(model.get(act.step), act.by, lim[0], lim[1]));
    } else if (act.slice) {
      const k = model.get("selected_slice");
      const s = model.get("slices");
      sync.drag("slices", moveSlice(s, k, s[k] + act.slice, shape[2]));
    } else if (act.nudge !== undefined) {
      const index = model.get("tilt_index");
      const cur = (model.get("nudges") || {})[String(index)] || [0, 0];
      sync.drag("nudges", nudgeUpdate(model.get("nudges"), index, act.nudge,
        stepValue(cur[act.nudge], act.by, -10, 10)));
    }
  });
}

/**
 * `later(fn)`: run `fn` at the next animation frame, once however often it was asked.
 * @returns {(fn: Function) => void}
 */
function coalesced() {
  const G = /** @type {any} */ (globalThis);
  const frame = G.requestAnimationFrame ? G.requestAnimationFrame.bind(G)
    : (/** @type {Function} */ cb) => setTimeout(cb, 16);
  /** @type {Set<Function>} */
  const due = new Set();
  return (fn) => {
    if (!due.size) frame(() => { const fns = [...due]; due.clear(); fns.forEach((f) => f()); });
    due.add(fn);
  };
}

/**
 * @param {{model: any, el: HTMLElement}} ctx
 */
function render({ model, el }) {
  const sync = makeSync(model);
  const cmap = () => model.get("cmap") || "gray";
  /** @type {Record<string, any>} the frames received (custom messages, pixels in a buffer) */
  const frames = {};
  const ctx = { model, el, sync, cmap, frames };
  // data-lm-suppress-shortcuts: JupyterLab leaves the keys to the widget while it has focus
  const root = h("div", { class: "etw-root", tabIndex: 0,
    dataset: { lmSuppressShortcuts: "true" } });
  el.append(root);
  el.dataset.etwReady = "0";
  const bar = statusBar(ctx), tilt = tiltPane(ctx), sino = sinoPane(ctx);
  const slices = slicePanes(ctx);
  const trial = trialControls(ctx), steps = stepControls(ctx), display = displayControls(ctx);
  const help = helpOverlay();
  const strip = qualityStrip(ctx), curves = curvesPane(ctx), scan = scanPane(ctx);
  const volume = volumePanes(ctx);
  tilt.node.append(strip.node);
  const size = h("select", { title: "Size of the image panes", dataset: { role: "pane-size" } },
    [["Small", "180px"], ["Medium", "240px"], ["Large", "340px"]].map(([t, v]) =>
      h("option", { value: v, textContent: t })));
  size.value = "240px";
  size.addEventListener("change", () => root.style.setProperty("--etw-pane", size.value));
  const helpButton = h("button", { textContent: "?", title: "Keyboard shortcuts (?)",
    dataset: { action: "help" }, onclick: () => help.show("toggle") });
  const toolbar = h("div", { class: "etw-toolbar" }, [bar.node, size, helpButton]);
  bar.node.style.flex = "1 1 400px";
  root.append(toolbar,
    h("div", { class: "etw-grid", dataset: { role: "images" } },
      [tilt.node, sino.node, ...slices.nodes, curves.node, scan.node]),
    volume.node,
    h("div", { class: "etw-controlgrid" }, [trial.node, steps.node, display.node]),
    steps.details, help.node);
  bindKeys(ctx, root, help.show);

  const drawControls = () => {
    const c = model.get("choices") || {};
    const lists = { reg_method: c.registration, filter_method: c.filter,
      tilt_method: c.tilt, rec_method: c.reconstruction };
    for (const [trait, s] of Object.entries(steps.selects)) fillSelect(s, lists[trait],
      model.get(trait));
    fillSelect(trial.method, c.slices, model.get("slice_method"));
    fillSelect(display.cmap, c.cmap, model.get("cmap"));
    fillSelect(display.mode, c.contrast, model.get("contrast_mode"));
  };
  const drawStatus = () => {
    bar.draw(); steps.drawStatus(); strip.draw();
    root.classList.toggle("etw-busy", model.get("busy"));
  };
  const redrawAll = () => { tilt.draw(); slices.draw(); sino.draw(); };
  // plots that only mark the current value are redrawn at the next animation frame, once
  // however many values came: a slider's message leaves first, a drag draws them once a frame
  const later = coalesced();
  // every projection's frame of the whole view, sent once by Python (tilt_atlas chunks):
  // a tilt change paints from it at once, without the kernel's round trip
  const atlas = makeAtlas();
  const fromAtlas = () => {
    const f = atlas.get(model.get("tilt_index"));
    if (!f || (model.get("view") || []).length) return;
    frames.tilt_frame = f;
    tilt.draw(); display.drawHist();
  };
  const handlers = {
    "change:overlay": tilt.drawOverlay,
    "change:cmap": () => { redrawAll(); volume.draw(); }, "change:choices": drawControls,
    "change:quality": strip.draw, "change:quality_note": strip.draw, "change:curves": curves.draw, "change:scan": scan.draw,
    "change:scan_note": scan.draw,
    "change:tilt_shift": () => later(scan.draw), "change:tilt_rotation": () => later(scan.draw),
    "change:has_volume": volume.show,
    "change:status": drawStatus, "change:error": drawStatus, "change:busy": drawStatus,
    "change:progress": drawStatus, "change:can_undo": drawStatus, "change:can_redo": drawStatus,
    "change:code": steps.drawCode, "change:stack_shape": trial.drawRanges,
    "change:contrast": display.draw, "change:contrast_mode": display.draw,
    "change:contrast_limits": display.drawHist,
    "change:selected_slice": () => { tilt.drawOverlay(); slices.draw(); },
    "change:tilt_index": () => {
      fromAtlas();
      tilt.slider.value = model.get("tilt_index"); trial.drawNudges();
      later(strip.draw); later(curves.draw);
    },
    "change:nudges": trial.drawNudges,
  };
  /** @type {Record<string, Function>} */
  const onFrame = {
    tilt_frame: () => { tilt.draw(); trial.drawNudges(); display.drawHist(); },
    slices_frame: slices.draw, sino_frame: sino.draw,
    ortho_xy: volume.panes[0].draw, ortho_xz: volume.panes[1].draw,
    ortho_yz: volume.panes[2].draw,
  };
  const onMessage = (/** @type {any} */ msg, /** @type {any[]} */ buffers) => {
    if (msg && msg.insert) {  // e.g. the 3D view: a cell below that shows it
      if (!insertCellBelow(el, msg.insert, msg.run)) {
        steps.note.textContent = `Run ${msg.insert} in a cell to show it.`;
      }
      return;
    }
    if (msg && msg.frame === "tilt_atlas") { atlas.add(msg, buffers && buffers[0]); return; }
    if (!msg || !onFrame[msg.frame]) return;
    if (msg.frame === "tilt_frame") {
      atlas.key(msg.atlas);
      // a frame of a tilt left behind while the atlas already shows the current one
      if (msg.index !== model.get("tilt_index") && atlas.get(model.get("tilt_index"))) return;
    }
    frames[msg.frame] = { ...msg, data: buffers && buffers[0], t_arrived: epochMs() };
    onFrame[msg.frame]();
  };
  model.on("msg:custom", onMessage);
  for (const [event, fn] of Object.entries(handlers)) model.on(event, fn);
  drawControls(); drawStatus(); trial.drawRanges(); display.draw(); steps.drawCode();
  redrawAll(); trial.drawNudges(); strip.draw(); curves.draw(); scan.draw(); volume.show();
  // images travel at the size the panes show them (device pixels, in steps of 128)
  const fit = (/** @type {boolean} */ now) => {
    const box = tilt.node.querySelector(".etw-canvasbox");
    const px = box ? box.clientWidth * (globalThis.devicePixelRatio || 1) : 0;
    if (!px) return;
    const size = Math.max(128, Math.min(1024, Math.ceil(px / 128) * 128));
    if (size === model.get("display_size")) return;
    if (now) sync.now("display_size", size); else sync.debounced("display_size", size, 250);
  };
  // plots follow their box when a pane is resized or the cell changes width
  const resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => {
    curves.draw(); scan.draw(); strip.draw(); display.drawHist(); fit(false);
  });
  if (resize) resize.observe(root);
  fit(true);
  el.dataset.etwReady = "1";
  model.send({ action: "frames" });  // the frames are not in the widget state: ask for them
  return () => {
    sync.flush();
    model.off("msg:custom", onMessage);
    if (resize) resize.disconnect();
    trial.off();
    for (const [event, fn] of Object.entries(handlers)) model.off(event, fn);
  };
}

export default { render };
