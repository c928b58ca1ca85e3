// The panes that judge the alignment: the quality strip (under the tilt slider), the
// alignment curves (shifts per tilt), the tilt-axis scan, the volume's orthoslices.

import { actionButton } from "./controls.js";
import { h } from "./dom.js";
import { containRect } from "./geometry.js";
import { paint } from "./paint.js";
import { FLAG_COLOURS, drawStrip, flagColour, linePlot, nearestIndex, plotX, stripIndex,
  themeColours } from "./plots.js";

/**
 * Residual per projection, coloured by flag reason; a click goes to that tilt.
 * @param {{model: any, sync: any}} ctx
 */
export function qualityStrip({ model, sync }) {
  const canvas = h("canvas", { class: "etw-plot", dataset: { pane: "quality" } });
  const box = h("div", { class: "etw-strip", title: "Quality per projection (bar: residual, " +
    "colour: flag reason); click a bar to show that projection" }, [canvas]);
  const legend = h("div", { class: "etw-legend" });
  const note = h("span", { class: "etw-hint", dataset: { role: "quality-note" } });
  const remove = actionButton(model, "Remove flagged", "remove_flagged",
    "Remove every flagged projection (one logged step)");
  const node = h("div", { class: "etw-pane etw-hidden", dataset: { role: "quality" } },
    [box, h("div", { class: "etw-field" }, [legend, remove, note])]);
  const draw = () => {
    const q = model.get("quality") || {};
    const on = Boolean(q.residual && q.residual.length);
    note.textContent = model.get("quality_note") || "";
    node.classList.toggle("etw-hidden", !on && !note.textContent);
    box.classList.toggle("etw-hidden", !on);
    if (!on) { legend.replaceChildren(); remove.disabled = true; return; }
    drawStrip(canvas, q.residual, q.flag.map(flagColour), model.get("tilt_index"),
      themeColours(canvas));
    const reasons = [...new Set(q.flag.filter(Boolean))];
    legend.replaceChildren(h("span", {}, [h("span", { class: "etw-swatch",
      style: `background:${FLAG_COLOURS[""]}` }), "ok"]),
    ...reasons.map((r) => h("span", {}, [h("span", { class: "etw-swatch",
      style: `background:${flagColour(r)}` }), r])),
    h("span", { textContent: `${q.flagged.length} flagged` }));
    remove.disabled = !q.flagged.length || model.get("busy");
  };
  canvas.addEventListener("click", (/** @type {MouseEvent} */ ev) => {
    const q = model.get("quality") || {};
    if (!q.residual) return;
    const r = canvas.getBoundingClientRect();
    sync.now("tilt_index", stripIndex(ev.clientX - r.left, r.width, q.residual.length));
  });
  return { node, draw };
}

/**
 * Shifts (dy, dx) per tilt: applied (solid) and measured (dashed); the current tilt
 * marked; a click goes to the nearest tilt.
 * @param {{model: any, sync: any}} ctx
 */
export function curvesPane({ model, sync }) {
  const canvas = h("canvas", { class: "etw-plot", dataset: { pane: "curves" } });
  const node = h("div", { class: "etw-pane", title: "Shifts per tilt: dy (blue), dx (orange), " +
    "applied (solid) and measured by the quality report (dashed); click to go to a tilt" }, [
    h("div", { class: "etw-title", textContent: "Alignment: shifts per tilt (px)" }),
    h("div", { class: "etw-plotbox" }, [canvas]),
    h("div", { class: "etw-legend" }, [
      h("span", {}, [h("span", { class: "etw-swatch", style: "background:#1f77b4" }), "dy"]),
      h("span", {}, [h("span", { class: "etw-swatch", style: "background:#ff7f0e" }), "dx"]),
      h("span", { textContent: "solid: applied, dashed: measured" })])]);
  /** @type {any} */
  let layout = null;
  const draw = () => {
    const c = model.get("curves") || {};
    if (!c.tilts || !c.tilts.length) return;
    const series = [{ y: c.dy, color: "#1f77b4" }, { y: c.dx, color: "#ff7f0e" }];
    if (c.measured_dy) {
      series.push({ y: c.measured_dy, color: "#1f77b4", dash: [4, 3] },
        { y: c.measured_dx, color: "#ff7f0e", dash: [4, 3] });
    }
    layout = linePlot(canvas, { x: c.tilts, series, marker: c.tilts[model.get("tilt_index")],
      colours: themeColours(canvas), xlabel: "tilt (°)" });
  };
  canvas.addEventListener("click", (/** @type {MouseEvent} */ ev) => {
    const c = model.get("curves") || {};
    if (!layout || !c.tilts) return;
    const r = canvas.getBoundingClientRect();
    sync.now("tilt_index", nearestIndex(c.tilts, plotX(layout, ev.clientX - r.left)));
  });
  return { node, draw };
}

/**
 * The tilt-axis scan: score per rotation tried (least over the offsets) and, for the
 * engine's scan, per offset at the best rotation; the best (dot) and the slider's value
 * (line) marked; a click on a curve sets its slider (rotation or shift) to the value there.
 * @param {{model: any, sync: any}} ctx
 */
export function scanPane({ model, sync }) {
  const title = h("div", { class: "etw-title etw-wrap", textContent: "Tilt-axis scan" });
  const note = h("div", { class: "etw-hint", dataset: { role: "scan-note" } });
  const plots = ["rotation", "offset"].map((which) => {
    const canvas = h("canvas", { class: "etw-plot", dataset: { pane: which === "rotation" ?
      "scan" : "scan-offset" } });
    const box = h("div", { class: "etw-plotbox", title: which === "rotation"
      ? "Score against the tilt-axis rotation; click to set the rotation slider"
      : "Score against the tilt-axis offset (at the best rotation); click to set the shift " +
        "slider" }, [canvas]);
    return { which, canvas, box, layout: /** @type {any} */ (null) };
  });
  const node = h("div", { class: "etw-pane etw-hidden", title: "Score of each tilt-axis value " +
    "tried (dot: the best); the line is the slider's value; click to set it",
  dataset: { role: "scan" } }, [title, note, ...plots.map((p) => p.box)]);
  /** the curve of a plot: [x, y, trait, best, unit] or null */
  const curve = (/** @type {any} */ s, /** @type {string} */ which) => {
    if (which === "rotation") {
      const trait = s.kind === "offset" ? "tilt_shift" : "tilt_rotation";
      return [s.x, s.y, trait, s.kind === "offset" ? s.offset : s.rotation,
        s.kind === "offset" ? "px" : "°"];
    }
    return s.offset_x ? [s.offset_x, s.offset_y, "tilt_shift", s.offset, "px"] : null;
  };
  const draw = () => {
    const s = model.get("scan") || {};
    note.textContent = model.get("scan_note") || "";
    node.classList.toggle("etw-hidden", !s.x && !note.textContent);
    if (!s.x) { plots.forEach((p) => p.box.classList.add("etw-hidden")); return; }
    const u = s.uncertainty || [];
    title.textContent = s.kind === "offset"
      ? `Tilt-axis scan: best offset ${s.offset.toFixed(2)} px`
      : `Tilt-axis scan: best ${s.rotation.toFixed(2)}°` +
        (u.length ? ` ± ${Number(u[0]).toFixed(2)}` : "") +
        (s.offset_x ? `, ${s.offset.toFixed(2)} px` + (u.length > 1 ?
          ` ± ${Number(u[1]).toFixed(2)}` : "") : "");
    for (const p of plots) {
      const c = curve(s, p.which);
      p.box.classList.toggle("etw-hidden", !c);
      if (!c) continue;
      const [x, y, trait, best, unit] = c;
      const k = nearestIndex(x, best);
      p.layout = linePlot(p.canvas, { x, series: [{ y, color: "#2ca02c" }],
        marker: model.get(trait), point: { x: x[k], y: y[k] }, colours: themeColours(p.canvas),
        xlabel: trait === "tilt_shift" ? `shift (${unit})` : `rotation (${unit})` });
    }
  };
  for (const p of plots) {
    p.canvas.addEventListener("click", (/** @type {MouseEvent} */ ev) => {
      const s = model.get("scan") || {};
      const c = s.x ? curve(s, p.which) : null;
      if (!p.layout || !c) return;
      const r = p.canvas.getBoundingClientRect();
      sync.now(c[2], Math.round(plotX(p.layout, ev.clientX - r.left) * 100) / 100);
    });
  }
  return { node, draw };
}

/** [plane, title, which position axes the pane's (column, row) set] */
const PLANES = [["xy", "Volume XY (beam view)", [0, 1]], ["xz", "Volume XZ", [0, 2]],
  ["yz", "Volume YZ", [1, 2]]];

/**
 * Orthoslices of the reconstruction; click or drag on one moves the other two planes.
 * @param {{model: any, sync: any, cmap: () => string, frames: any}} ctx
 */
export function volumePanes({ model, sync, cmap, frames }) {
  const panes = PLANES.map(([plane, label, axes]) => {
    const canvas = h("canvas", { class: "etw-image", dataset: { pane: `ortho-${plane}` } });
    const title = h("div", { class: "etw-title", textContent: label });
    const box = h("div", { class: "etw-canvasbox" }, [canvas]);
    const node = h("div", { class: "etw-pane", title: `${label}: click or drag to move the ` +
      "other planes" }, [title, box]);
    const move = (/** @type {PointerEvent} */ ev) => {
      const f = frames[`ortho_${plane}`];
      if (!f) return;
      const [hh, ww] = f.shape;
      const r = containRect(canvas.getBoundingClientRect(), ww, hh);
      const col = Math.floor((ev.clientX - r.left) / r.width * ww) * f.factor;
      const row = Math.floor((ev.clientY - r.top) / r.height * hh) * f.factor;
      const pos = [...model.get("ortho")];
      const size = f.size;
      pos[axes[0]] = Math.max(0, Math.min(size[axes[0]] - 1, col));
      pos[axes[1]] = Math.max(0, Math.min(size[axes[1]] - 1, row));
      sync.drag("ortho", pos);
    };
    let held = false;
    canvas.addEventListener("pointerdown", (/** @type {PointerEvent} */ ev) => {
      held = true; canvas.setPointerCapture(ev.pointerId); move(ev);
    });
    canvas.addEventListener("pointermove", (/** @type {PointerEvent} */ ev) => { if (held) move(ev); });
    canvas.addEventListener("pointerup", (/** @type {PointerEvent} */ ev) => {
      if (held) move(ev); held = false; sync.flush();
    });
    const draw = () => {
      const f = frames[`ortho_${plane}`];
      if (!f) return;
      paint(canvas, f, cmap());
      const p = f.position;
      title.textContent = `${label} at ${plane === "xy" ? `z = ${p[2]}` :
        plane === "xz" ? `y = ${p[1]}` : `x = ${p[0]}`}`;
    };
    return { node, draw, plane };
  });
  const open = actionButton(model, "Open 3D view", "volume",
    "Show the reconstruction in 3D (VolumeView, ipyvolume) in a new cell below");
  const group = h("div", { class: "etw-grid etw-hidden", dataset: { role: "volume" } },
    [...panes.map((p) => p.node), h("div", { class: "etw-pane" }, [
      h("div", { class: "etw-title", textContent: "Reconstruction" }), open,
      h("div", { class: "etw-hint", textContent: "Click or drag on a plane to move the others." })])]);
  const show = () => group.classList.toggle("etw-hidden", !model.get("has_volume"));
  return { node: group, panes, show, draw: () => panes.forEach((p) => p.draw()) };
}
