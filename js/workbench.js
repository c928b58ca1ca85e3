// AlignmentWorkbench front end: plain ESM for anywidget, no bundler, no network.
// State lives in the Python model's traits; images arrive as frames
// {data: DataView (uint8), shape: [h, w] or [k, h, w], ...}; buttons send
// {action: name} messages. Nothing here computes on the data: it paints.

/** @typedef {{get: Function, set: Function, save_changes: Function, on: Function,
 *   off: Function, send: Function}} Model */

const LUT_ANCHORS = {
  viridis: ["440154", "48186a", "472d7b", "424086", "3b528b", "33638d", "2c728e", "26828e",
    "21918c", "1fa088", "28ae80", "3fbc73", "5ec962", "84d44b", "addc30", "d8e219", "fde725"],
  magma: ["000004", "0a0822", "1d1147", "36106b", "51127c", "6a1c81", "832681", "9c2e7f",
    "b73779", "d0416f", "e75263", "f56b5c", "fc8961", "fea772", "fec488", "fde2a3", "fcfdbf"],
  inferno: ["000004", "0b0724", "210c4a", "3d0965", "57106e", "71196e", "8a226a", "a32c61",
    "bc3754", "d24644", "e45a31", "f1731d", "f98e09", "fcac11", "f9cb35", "f2ea69", "fcffa4"],
};

/** @type {Map<string, Uint8ClampedArray>} */
const LUTS = new Map();

/**
 * A 256 × RGB lookup table for a colour map name.
 * @param {string} name
 * @returns {Uint8ClampedArray}
 */
export function lut(name) {
  if (LUTS.has(name)) return /** @type {Uint8ClampedArray} */ (LUTS.get(name));
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    let rgb = [i, i, i];
    if (name === "afmhot") {
      rgb = [2 * x, 2 * x - 0.5, 2 * x - 1].map((v) => 255 * Math.min(1, Math.max(0, v)));
    } else if (LUT_ANCHORS[name]) {
      const anchors = LUT_ANCHORS[name];
      const pos = x * (anchors.length - 1);
      const k = Math.min(anchors.length - 2, Math.floor(pos));
      const f = pos - k;
      const a = anchors[k], b = anchors[k + 1];
      rgb = [0, 2, 4].map((o) => {
        const va = parseInt(a.slice(o, o + 2), 16), vb = parseInt(b.slice(o, o + 2), 16);
        return va + f * (vb - va);
      });
    }
    table.set(rgb, 3 * i);
  }
  LUTS.set(name, table);
  return table;
}

/**
 * The uint8 pixels of a frame (a DataView, ArrayBuffer or typed array).
 * @param {any} data
 * @returns {Uint8Array}
 */
export function bytesOf(data) {
  if (!data) return new Uint8Array(0);
  if (data instanceof Uint8Array) return data;
  if (data instanceof DataView) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data.buffer) return new Uint8Array(data.buffer, data.byteOffset || 0, data.byteLength);
  return new Uint8Array(data);
}

/**
 * Paint image `index` of a frame onto `canvas` with a colour map (canvas resized to it).
 * @param {HTMLCanvasElement} canvas
 * @param {any} frame
 * @param {string} cmap
 * @param {number} [index]
 * @returns {boolean} whether something was painted
 */
export function paint(canvas, frame, cmap, index = 0) {
  if (!frame || !frame.shape || !frame.data) return false;
  const shape = frame.shape;
  const h = shape[shape.length - 2], w = shape[shape.length - 1];
  const pixels = bytesOf(frame.data);
  const offset = index * h * w;
  if (pixels.length < offset + h * w) return false;
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const img = ctx.createImageData(w, h);
  const table = lut(cmap);
  const out = img.data;
  for (let i = 0; i < h * w; i++) {
    const v = 3 * pixels[offset + i];
    const o = 4 * i;
    out[o] = table[v]; out[o + 1] = table[v + 1]; out[o + 2] = table[v + 2]; out[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return true;
}

/**
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {(Node|string)[]} [children]
 * @returns {any}
 */
function h(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k in node) /** @type {any} */ (node)[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

/**
 * Insert `code` in a new code cell below the cell that holds `el` (JupyterLab 4 /
 * Notebook 7 with the application exposed as window.jupyterapp).
 * @param {HTMLElement} el
 * @param {string} code
 * @returns {boolean}
 */
export function insertCellBelow(el, code) {
  const app = /** @type {any} */ (window).jupyterapp;
  if (!app || !app.shell) return false;
  const shell = app.shell;
  const panels = [];
  try {
    for (const w of shell.widgets("main")) panels.push(w);
  } catch (_err) {
    if (shell.currentWidget) panels.push(shell.currentWidget);
  }
  for (const panel of panels) {
    const nb = panel && panel.content;
    if (!nb || !nb.widgets || !nb.model) continue;
    for (let i = 0; i < nb.widgets.length; i++) {
      if (nb.widgets[i].node.contains(el)) {
        nb.model.sharedModel.insertCell(i + 1, { cell_type: "code", source: code });
        return true;
      }
    }
  }
  return false;
}

/**
 * Copy text to the clipboard (falls back to a selected textarea).
 * @param {string} text
 */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_err) {
    const area = h("textarea", { value: text });
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

/**
 * A labelled range slider bound to a float/int trait; flags `dragging` while held.
 * @param {Model} model
 * @param {string} trait
 * @param {{label: string, min: number, max: number, step: number, unit?: string}} o
 */
function traitSlider(model, trait, o) {
  const input = h("input", {
    type: "range", min: o.min, max: o.max, step: o.step, value: model.get(trait),
    class: "etw-slider", dataset: { trait, lmSuppressShortcuts: "true" },
  });
  const number = h("input", { type: "number", step: o.step, value: model.get(trait),
    class: "etw-number", dataset: { trait: trait + "-number" } });
  const send = (/** @type {number} */ value) => {
    /** @type {any} */ (window).__etwSent = { trait, value, t: performance.now() };
    model.set(trait, value);
    model.save_changes();
  };
  input.addEventListener("input", () => send(Number(input.value)));
  number.addEventListener("change", () => send(Number(number.value)));
  const drag = (/** @type {boolean} */ on) => {
    if (model.get("dragging") !== on) { model.set("dragging", on); model.save_changes(); }
  };
  input.addEventListener("pointerdown", () => drag(true));
  input.addEventListener("pointerup", () => drag(false));
  input.addEventListener("change", () => drag(false));
  const sync = () => { input.value = model.get(trait); number.value = model.get(trait); };
  model.on(`change:${trait}`, sync);
  return { node: h("label", { class: "etw-field" }, [o.label, input, number, o.unit || ""]),
    input, number, sync };
}

/**
 * @param {{model: Model, el: HTMLElement}} ctx
 */
function render({ model, el }) {
  const root = h("div", { class: "etw-root", tabIndex: 0 });
  el.append(root);
  /** @type {any} */
  const stats = { slicesDrawn: 0, latencies: [], tiltDrawn: 0, sinoDrawn: 0 };
  el.dataset.etwReady = "0";

  // -- status line --------------------------------------------------------------
  const status = h("span", { class: "etw-status", dataset: { role: "status" } });
  const error = h("span", { class: "etw-error", dataset: { role: "error" } });
  const progress = h("progress", { class: "etw-progress", max: 1, value: 0 });
  const cancel = h("button", { class: "etw-cancel", textContent: "Cancel",
    onclick: () => model.send({ action: "cancel" }) });
  const statusBar = h("div", { class: "etw-statusbar" }, [status, progress, cancel, error]);

  // -- tilt pane -------------------------------------------------------------------
  const tiltCanvas = h("canvas", { class: "etw-image", dataset: { pane: "tilt" } });
  const tiltOverlay = h("canvas", { class: "etw-overlay", dataset: { pane: "tilt-overlay" } });
  const tiltBox = h("div", { class: "etw-canvasbox" }, [tiltCanvas, tiltOverlay]);
  const tiltSlider = h("input", { type: "range", min: 0, step: 1, class: "etw-slider",
    dataset: { trait: "tilt_index", lmSuppressShortcuts: "true" } });
  const angle = h("span", { class: "etw-angle", dataset: { role: "angle" } });
  tiltSlider.addEventListener("input", () => {
    /** @type {any} */ (window).__etwSent = { trait: "tilt_index", value: +tiltSlider.value,
      t: performance.now() };
    model.set("tilt_index", Number(tiltSlider.value));
    model.save_changes();
  });
  const tiltPane = h("div", { class: "etw-pane" }, [
    h("div", { class: "etw-title", textContent: "Projection" }), tiltBox,
    h("label", { class: "etw-field" }, ["Tilt ", tiltSlider, angle])]);

  // -- sinogram pane ------------------------------------------------------------------
  const sinoCanvas = h("canvas", { class: "etw-image", dataset: { pane: "sinogram" } });
  const sinoTitle = h("div", { class: "etw-title", textContent: "Sinogram" });
  const sinoPane = h("div", { class: "etw-pane" }, [sinoTitle,
    h("div", { class: "etw-canvasbox" }, [sinoCanvas])]);

  // -- slice panes -----------------------------------------------------------------------
  const sliceCanvases = [0, 1, 2].map((k) => h("canvas", { class: "etw-image",
    dataset: { pane: `slice-${k}` } }));
  const sliceTitles = [0, 1, 2].map(() => h("div", { class: "etw-title" }));
  const slicePanes = sliceCanvases.map((c, k) => h("div", { class: "etw-pane etw-slice",
    onclick: () => { model.set("selected_slice", k); model.save_changes(); } },
  [sliceTitles[k], h("div", { class: "etw-canvasbox" }, [c])]));

  // -- trial alignment sliders --------------------------------------------------------------
  const shape = () => model.get("stack_shape") || [1, 64, 64];
  const shift = traitSlider(model, "tilt_shift", { label: "Tilt-axis shift ", min: -32,
    max: 32, step: 0.1, unit: " px" });
  const rot = traitSlider(model, "tilt_rotation", { label: "Rotation ", min: -10, max: 10,
    step: 0.05, unit: " °" });
  const nudgeInputs = ["dy", "dx"].map((name, axis) => {
    const input = h("input", { type: "range", min: -10, max: 10, step: 0.25, value: 0,
      class: "etw-slider", dataset: { trait: `nudge-${name}`, lmSuppressShortcuts: "true" } });
    input.addEventListener("input", () => {
      const nudges = { ...(model.get("nudges") || {}) };
      const key = String(model.get("tilt_index"));
      const cur = nudges[key] ? [...nudges[key]] : [0, 0];
      cur[axis] = Number(input.value);
      nudges[key] = cur;
      model.set("nudges", nudges);
      model.save_changes();
    });
    input.addEventListener("pointerdown", () => { model.set("dragging", true); model.save_changes(); });
    input.addEventListener("change", () => { model.set("dragging", false); model.save_changes(); });
    return input;
  });
  const syncNudges = () => {
    const cur = (model.get("nudges") || {})[String(model.get("tilt_index"))] || [0, 0];
    nudgeInputs[0].value = cur[0]; nudgeInputs[1].value = cur[1];
  };
  const sliceMethod = h("select", { dataset: { trait: "slice_method" } });
  const button = (/** @type {string} */ text, /** @type {string} */ action, extra = {}) =>
    h("button", { textContent: text, dataset: { action },
      onclick: () => model.send({ action, ...extra }) });
  const trial = h("div", { class: "etw-controls" }, [
    h("div", { class: "etw-title", textContent: "Tilt axis (live)" }),
    shift.node, rot.node,
    h("label", { class: "etw-field" }, ["Nudge this projection dy ", nudgeInputs[0], " dx ",
      nudgeInputs[1]]),
    h("label", { class: "etw-field" }, ["Slices by ", sliceMethod]),
    button("Apply to stack", "apply_manual"),
  ]);

  // -- steps -------------------------------------------------------------------------
  const select = (/** @type {string} */ trait) => {
    const s = h("select", { dataset: { trait } });
    s.addEventListener("change", () => { model.set(trait, s.value); model.save_changes(); });
    return s;
  };
  const regMethod = select("reg_method"), tiltMethod = select("tilt_method");
  const filterMethod = select("filter_method");
  const recMethod = select("rec_method");
  const cmapSelect = select("cmap");
  sliceMethod.addEventListener("change", () => {
    model.set("slice_method", sliceMethod.value); model.save_changes();
  });
  const recIter = h("input", { type: "number", min: 1, max: 1000, value: 20,
    class: "etw-number", dataset: { trait: "rec_iterations" },
    onchange: () => { model.set("rec_iterations", Number(recIter.value)); model.save_changes(); } });
  const undo = button("Undo", "undo"), redo = button("Redo", "redo");
  const codeBox = h("pre", { class: "etw-code", dataset: { role: "code" } });
  const note = h("span", { class: "etw-note" });
  const insert = h("button", { textContent: "Insert code cell", dataset: { action: "insert" },
    onclick: () => {
      const ok = insertCellBelow(el, model.get("code"));
      note.textContent = ok ? "Code inserted below." :
        "This front end cannot insert cells: use Copy, or wb.insert_code() in a cell.";
      if (!ok) details.open = true;
    } });
  const copy = h("button", { textContent: "Copy code", dataset: { action: "copy" },
    onclick: async () => {
      note.textContent = (await copyText(model.get("code"))) ? "Code copied." :
        "Copy failed: select the code below.";
      details.open = true;
    } });
  const details = h("details", { class: "etw-details" }, [h("summary", { textContent: "Code" }),
    codeBox]);
  const steps = h("div", { class: "etw-controls" }, [
    h("div", { class: "etw-title", textContent: "Steps" }),
    h("label", { class: "etw-field" }, ["Filter ", filterMethod, button("Run", "filter")]),
    h("label", { class: "etw-field" }, ["Registration ", regMethod, button("Run", "register")]),
    h("label", { class: "etw-field" }, ["Tilt axis ", tiltMethod, button("Run", "tilt_align")]),
    h("div", { class: "etw-field" }, [button("Crop to view", "crop"),
      button("Remove this projection", "remove_projection")]),
    h("label", { class: "etw-field" }, ["Reconstruct ", recMethod, " iterations ", recIter,
      button("Run", "reconstruct")]),
    h("div", { class: "etw-field" }, [undo, redo, insert, copy]), note,
  ]);

  // -- display ---------------------------------------------------------------------------
  const contrastInputs = [0, 1].map((k) => {
    const input = h("input", { type: "range", min: 0, max: 100, step: 0.5, class: "etw-slider",
      dataset: { trait: `contrast-${k}`, lmSuppressShortcuts: "true" } });
    input.addEventListener("change", () => {
      const c = [...model.get("contrast")];
      c[k] = Number(input.value);
      if (c[0] < c[1]) { model.set("contrast", c); model.save_changes(); }
    });
    return input;
  });
  const resetZoom = h("button", { textContent: "Reset zoom",
    onclick: () => { model.set("view", []); model.save_changes(); } });
  const display = h("div", { class: "etw-controls" }, [
    h("div", { class: "etw-title", textContent: "Display" }),
    h("label", { class: "etw-field" }, ["Colour map ", cmapSelect]),
    h("label", { class: "etw-field" }, ["Contrast (percentiles) ", contrastInputs[0],
      contrastInputs[1]]), resetZoom,
    h("div", { class: "etw-hint", textContent:
      "Wheel: zoom · Shift-drag: pan · click/drag: move the nearest slice line · ←/→ on the tilt slider" }),
  ]);

  root.append(statusBar,
    h("div", { class: "etw-row" }, [tiltPane, sinoPane, trial]),
    h("div", { class: "etw-row" }, [...slicePanes, h("div", {}, [steps, display])]),
    details);

  // -- painting -------------------------------------------------------------------------
  const cmap = () => model.get("cmap") || "gray";
  const drawOverlay = () => {
    const frame = model.get("tilt_frame"), ov = model.get("overlay");
    if (!frame || !frame.shape || !ov || !ov.axis) return;
    const [h0, w0] = frame.shape;
    const scale = 2; // overlay drawn at twice the image resolution for crisp lines
    tiltOverlay.width = w0 * scale; tiltOverlay.height = h0 * scale;
    const ctx = /** @type {CanvasRenderingContext2D} */ (tiltOverlay.getContext("2d"));
    ctx.clearRect(0, 0, tiltOverlay.width, tiltOverlay.height);
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
  const drawTilt = () => {
    const frame = model.get("tilt_frame");
    if (paint(tiltCanvas, frame, cmap())) {
      stats.tiltDrawn++;
      /** @type {any} */ (window).__etwTiltIndex = frame.index;
    }
    const n = (model.get("stack_shape") || [1])[0];
    tiltSlider.max = n - 1;
    tiltSlider.value = model.get("tilt_index");
    if (frame && frame.angle !== undefined) {
      angle.textContent = ` ${Number(frame.angle).toFixed(1)}° (${frame.index + 1}/${n})`;
    }
    drawOverlay();
    syncNudges();
  };
  const drawSlices = () => {
    const frame = model.get("slices_frame");
    if (!frame || !frame.shape) return;
    let ok = true;
    for (let k = 0; k < 3; k++) {
      ok = paint(sliceCanvases[k], frame, cmap(), k) && ok;
      sliceTitles[k].textContent = `Slice x = ${frame.slices[k]}` +
        (frame.level === "preview" ? " (preview)" : "");
      slicePanes[k].classList.toggle("etw-selected", k === model.get("selected_slice"));
    }
    if (!ok) return;
    stats.slicesDrawn++;
    el.dataset.slicesDrawn = String(stats.slicesDrawn);
    el.dataset.slicesSeq = String(frame.seq);
    el.dataset.slicesShift = String(frame.tilt_shift);
    el.dataset.slicesLevel = frame.level;
    const sent = /** @type {any} */ (window).__etwSent;
    if (sent && (sent.trait === "tilt_shift" || sent.trait === "tilt_rotation") &&
        Number(frame[sent.trait]) === Number(sent.value) && !sent.done) {
      sent.done = true;
      stats.latencies.push(performance.now() - sent.t);
      /** @type {any} */ (window).__etwLatencies = stats.latencies;
    }
  };
  const drawSino = () => {
    const frame = model.get("sino_frame");
    if (paint(sinoCanvas, frame, cmap())) {
      stats.sinoDrawn++;
      sinoTitle.textContent = `Sinogram x = ${frame.slice}`;
    }
  };
  const fillSelect = (/** @type {HTMLSelectElement} */ s, /** @type {string[]} */ items,
    /** @type {string} */ trait) => {
    s.replaceChildren(...(items || []).map((v) => h("option", { value: v, textContent: v })));
    s.value = model.get(trait);
  };
  const drawControls = () => {
    const c = model.get("choices") || {};
    fillSelect(regMethod, c.registration, "reg_method");
    fillSelect(filterMethod, c.filter, "filter_method");
    fillSelect(tiltMethod, c.tilt, "tilt_method");
    fillSelect(recMethod, c.reconstruction, "rec_method");
    fillSelect(sliceMethod, c.slices, "slice_method");
    fillSelect(cmapSelect, c.cmap, "cmap");
  };
  const drawStatus = () => {
    status.textContent = model.get("status");
    error.textContent = model.get("error");
    const busy = model.get("busy"), p = model.get("progress");
    cancel.disabled = !busy;
    progress.style.visibility = busy ? "visible" : "hidden";
    if (p >= 0) progress.value = p; else progress.removeAttribute("value");
    undo.disabled = !model.get("can_undo") || busy;
    redo.disabled = !model.get("can_redo") || busy;
    root.classList.toggle("etw-busy", busy);
  };
  const drawRanges = () => {
    const [, ny] = shape();
    const lim = Math.max(8, Math.round(ny / 4));
    shift.input.min = String(-lim); shift.input.max = String(lim);
    shift.sync();
    const c = model.get("contrast");
    contrastInputs[0].value = c[0]; contrastInputs[1].value = c[1];
  };
  const drawCode = () => { codeBox.textContent = model.get("code"); };
  const redrawAll = () => { drawTilt(); drawSlices(); drawSino(); };

  // -- pointer interaction on the tilt pane ---------------------------------------------
  /** @param {PointerEvent|WheelEvent} ev */
  const toData = (ev) => {
    const frame = model.get("tilt_frame");
    const r = tiltOverlay.getBoundingClientRect();
    const [h0, w0] = frame.shape;
    const fx = (ev.clientX - r.left) / r.width * w0, fy = (ev.clientY - r.top) / r.height * h0;
    return [frame.window[0] + fx * frame.factor, frame.window[1] + fy * frame.factor];
  };
  /** @type {any} */
  let drag = null;
  const moveSlice = (/** @type {number} */ k, /** @type {number} */ x) => {
    const nx = shape()[2];
    const s = [...model.get("slices")];
    s[k] = Math.max(0, Math.min(nx - 1, Math.round(x)));
    model.set("slices", s);
    model.set("selected_slice", k);
    model.save_changes();
  };
  tiltOverlay.addEventListener("pointerdown", (ev) => {
    const frame = model.get("tilt_frame");
    if (!frame || !frame.shape) return;
    tiltOverlay.setPointerCapture(ev.pointerId);
    const [x, y] = toData(ev);
    if (ev.shiftKey) {
      drag = { mode: "pan", x, y, view: frame.window };
      return;
    }
    const s = model.get("slices");
    let k = 0;
    s.forEach((/** @type {number} */ v, /** @type {number} */ i) => {
      if (Math.abs(v - x) < Math.abs(s[k] - x)) k = i;
    });
    drag = { mode: "slice", k };
    model.set("dragging", true);
    moveSlice(k, x);
  });
  tiltOverlay.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const [x, y] = toData(ev);
    if (drag.mode === "slice") moveSlice(drag.k, x);
    else {
      const [x0, y0, x1, y1] = drag.view;
      const dx = drag.x - x, dy = drag.y - y;
      model.set("view", [x0 + dx, y0 + dy, x1 + dx, y1 + dy]);
      model.save_changes();
    }
  });
  const endDrag = () => {
    if (drag && drag.mode === "slice") { model.set("dragging", false); model.save_changes(); }
    drag = null;
  };
  tiltOverlay.addEventListener("pointerup", endDrag);
  tiltOverlay.addEventListener("pointercancel", endDrag);
  tiltOverlay.addEventListener("wheel", (ev) => {
    const frame = model.get("tilt_frame");
    if (!frame || !frame.window) return;
    ev.preventDefault();
    const [x, y] = toData(ev);
    const [x0, y0, x1, y1] = frame.window;
    const z = ev.deltaY > 0 ? 1.25 : 0.8;
    const [, ny, nx] = shape();
    const w = Math.min(nx, Math.max(8, (x1 - x0) * z)), hh = Math.min(ny, Math.max(8, (y1 - y0) * z));
    const nx0 = x - (x - x0) * w / (x1 - x0), ny0 = y - (y - y0) * hh / (y1 - y0);
    model.set("view", w >= nx && hh >= ny ? [] : [nx0, ny0, nx0 + w, ny0 + hh]);
    model.save_changes();
  }, { passive: false });
  tiltOverlay.addEventListener("dblclick", () => { model.set("view", []); model.save_changes(); });

  // -- wiring ------------------------------------------------------------------------------
  const handlers = {
    "change:tilt_frame": drawTilt, "change:overlay": drawOverlay,
    "change:slices_frame": drawSlices, "change:sino_frame": drawSino,
    "change:cmap": redrawAll, "change:choices": drawControls,
    "change:status": drawStatus, "change:error": drawStatus, "change:busy": drawStatus,
    "change:progress": drawStatus, "change:can_undo": drawStatus, "change:can_redo": drawStatus,
    "change:code": drawCode, "change:stack_shape": drawRanges, "change:contrast": drawRanges,
    "change:selected_slice": () => { drawOverlay(); drawSlices(); },
    "change:tilt_index": () => { tiltSlider.value = model.get("tilt_index"); syncNudges(); },
    "change:nudges": syncNudges,
  };
  for (const [event, fn] of Object.entries(handlers)) model.on(event, fn);
  drawControls(); drawStatus(); drawRanges(); drawCode(); redrawAll();
  el.dataset.etwReady = "1";
  /** @type {any} */ (el).__etwStats = stats;
  return () => { for (const [event, fn] of Object.entries(handlers)) model.off(event, fn); };
}

export default { render };
