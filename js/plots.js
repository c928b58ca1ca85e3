// Small canvas plots: the contrast histogram, line plots (alignment curves, tilt-axis
// scan), the per-tilt quality strip. The mapping functions are pure and unit-tested.

/**
 * Pixel position of `value` on an axis of `length` pixels showing `range`.
 * @param {number} value
 * @param {number[]} range
 * @param {number} length
 */
export function pxOf(value, range, length) {
  return (value - range[0]) / (range[1] - range[0]) * length;
}

/**
 * Value at pixel `px` of an axis of `length` pixels showing `range` (clamped to it).
 * @param {number} px
 * @param {number[]} range
 * @param {number} length
 */
export function valueAt(px, range, length) {
  const f = Math.min(1, Math.max(0, px / length));
  return range[0] + f * (range[1] - range[0]);
}

/**
 * Index of the element of `xs` nearest to `x`.
 * @param {number[]} xs
 * @param {number} x
 */
export function nearestIndex(xs, x) {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (Math.abs(xs[i] - x) < Math.abs(xs[best] - x)) best = i;
  return best;
}

/**
 * `[min, max]` of every finite value of the arrays, padded by 5 % (never empty).
 * @param {number[][]} arrays
 */
export function paddedRange(arrays) {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) for (const v of a || []) {
    if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const pad = 0.05 * (hi - lo);
  return [lo - pad, hi + pad];
}

/**
 * New contrast limits after dragging the handle nearest to `value`: `[lo, hi]`, kept
 * apart by at least 1/1000 of the range.
 * @param {number[]} limits
 * @param {number} value
 * @param {number[]} range
 * @param {number} [which] 0 or 1 (default: the nearest handle)
 */
export function dragLimits(limits, value, range, which) {
  const k = which === undefined ? (Math.abs(value - limits[0]) <= Math.abs(value - limits[1])
    ? 0 : 1) : which;
  const gap = (range[1] - range[0]) / 1000;
  const out = [...limits];
  out[k] = k === 0 ? Math.min(value, limits[1] - gap) : Math.max(value, limits[0] + gap);
  return { limits: out, which: k };
}

/** Flag reason → colour of the quality strip ("" is a good projection). */
export const FLAG_COLOURS = { "": "#4caf50", residual: "#f44336", ncc: "#ff9800",
  shift: "#9c27b0", other: "#795548" };

/**
 * @param {string} reason
 */
export function flagColour(reason) {
  if (!reason) return FLAG_COLOURS[""];
  for (const [k, c] of Object.entries(FLAG_COLOURS)) if (k && reason.toLowerCase().includes(k)) return c;
  return FLAG_COLOURS.other;
}

/**
 * The canvas sized to its box (device pixels) and a 2D context in CSS pixels.
 * @param {HTMLCanvasElement} canvas
 */
function prepare(canvas) {
  const ratio = (globalThis.devicePixelRatio || 1);
  const w = Math.max(1, canvas.clientWidth), h = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(w * ratio)) canvas.width = Math.round(w * ratio);
  if (canvas.height !== Math.round(h * ratio)) canvas.height = Math.round(h * ratio);
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

/**
 * Theme colours of the widget (CSS variables of `.etw-root`).
 * @param {HTMLElement} node
 */
export function themeColours(node) {
  const s = getComputedStyle(node);
  const get = (/** @type {string} */ k, /** @type {string} */ d) =>
    (s.getPropertyValue(k) || "").trim() || d;
  return { fg: get("--etw-fg", "#222"), fg2: get("--etw-fg2", "#666"),
    accent: get("--etw-accent", "#1976d2"), border: get("--etw-border", "#ccc") };
}

/**
 * The histogram of a frame with its two contrast limits.
 * @param {HTMLCanvasElement} canvas
 * @param {{counts: number[], range: number[]}} hist
 * @param {number[]} limits
 * @param {any} colours
 */
export function drawHistogram(canvas, hist, limits, colours) {
  const { ctx, w, h } = prepare(canvas);
  if (!hist || !hist.counts) return;
  const n = hist.counts.length;
  const top = Math.log1p(Math.max(...hist.counts));
  ctx.fillStyle = colours.fg2;
  for (let i = 0; i < n; i++) {
    const bh = top > 0 ? Math.log1p(hist.counts[i]) / top * (h - 4) : 0;
    ctx.fillRect(i * w / n, h - bh, Math.max(1, w / n - 1), bh);
  }
  ctx.strokeStyle = colours.accent; ctx.lineWidth = 2;
  for (const v of limits || []) {
    const x = pxOf(v, hist.range, w);
    ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, h); ctx.stroke();
  }
}

/**
 * An axis label of at most 3 significant digits and 7 characters: 23.8, -0.0123, 8.84e+5.
 * @param {number} v
 */
export function tickLabel(v) {
  if (!Number.isFinite(v)) return "";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return Number(v.toExponential(2)).toExponential().replace("e+", "e");
  return String(Number(v.toPrecision(3)));
}

/**
 * A line plot: `series` of `{y, color, label, dash?}` against `x`, a vertical marker at
 * `marker` (an x value), optional points `{x, y}` marked.
 * @param {HTMLCanvasElement} canvas
 * @param {{x: number[], series: any[], marker?: number, point?: any, colours: any,
 *   xlabel?: string}} o
 * @returns {{xRange: number[], yRange: number[], w: number, h: number, pad: number}}
 */
export function linePlot(canvas, o) {
  const { ctx, w, h } = prepare(canvas);
  const pad = 22;
  const xRange = paddedRange([o.x]);
  const yRange = paddedRange(o.series.map((s) => s.y));
  const X = (/** @type {number} */ v) => pad + pxOf(v, xRange, w - pad - 4);
  const Y = (/** @type {number} */ v) => h - 14 - pxOf(v, yRange, h - 18);
  ctx.strokeStyle = o.colours.border; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(pad, 2); ctx.lineTo(pad, h - 14); ctx.lineTo(w - 2, h - 14);
  ctx.stroke();
  ctx.fillStyle = o.colours.fg2; ctx.font = "10px sans-serif";
  ctx.fillText(tickLabel(yRange[1]), 1, 10);
  ctx.fillText(tickLabel(yRange[0]), 1, h - 16);
  ctx.fillText(o.xlabel || "", w / 2 - 20, h - 2);
  if (yRange[0] < 0 && yRange[1] > 0) {
    ctx.setLineDash([2, 3]);
    ctx.beginPath(); ctx.moveTo(pad, Y(0)); ctx.lineTo(w - 2, Y(0)); ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const s of o.series) {
    ctx.strokeStyle = s.color; ctx.lineWidth = 1.5; ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    s.y.forEach((/** @type {number} */ v, /** @type {number} */ i) => {
      if (!Number.isFinite(v)) return;
      if (i === 0) ctx.moveTo(X(o.x[i]), Y(v)); else ctx.lineTo(X(o.x[i]), Y(v));
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
  if (o.marker !== undefined && Number.isFinite(o.marker)) {
    ctx.strokeStyle = o.colours.accent; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(X(o.marker), 2); ctx.lineTo(X(o.marker), h - 14); ctx.stroke();
  }
  if (o.point) {
    ctx.fillStyle = o.colours.accent;
    ctx.beginPath(); ctx.arc(X(o.point.x), Y(o.point.y), 4, 0, 2 * Math.PI); ctx.fill();
  }
  return { xRange, yRange, w, h, pad };
}

/**
 * The x value under a pointer at `px` (CSS pixels from the canvas' left) on a plot drawn
 * by `linePlot` (its returned layout).
 * @param {{xRange: number[], w: number, pad: number}} layout
 * @param {number} px
 */
export function plotX(layout, px) {
  return valueAt(px - layout.pad, layout.xRange, layout.w - layout.pad - 4);
}

/**
 * Per-tilt bars: height `values[i]` (scaled to the largest), colour `colours[i]`, the
 * current tilt outlined.
 * @param {HTMLCanvasElement} canvas
 * @param {number[]} values
 * @param {string[]} colours
 * @param {number} current
 * @param {any} theme
 */
export function drawStrip(canvas, values, colours, current, theme) {
  const { ctx, w, h } = prepare(canvas);
  const n = values.length;
  if (!n) return;
  const top = Math.max(...values.filter(Number.isFinite), 1e-12);
  const bw = w / n;
  for (let i = 0; i < n; i++) {
    const v = Number.isFinite(values[i]) ? values[i] : 0;
    const bh = Math.max(2, v / top * (h - 4));
    ctx.fillStyle = colours[i];
    ctx.fillRect(i * bw, h - bh, Math.max(1, bw - 1), bh);
  }
  ctx.strokeStyle = theme.fg; ctx.lineWidth = 2;
  ctx.strokeRect(current * bw + 1, 1, Math.max(2, bw - 2), h - 2);
}

/**
 * Index of the bar under `px` in a strip of `n` bars over `width` pixels.
 * @param {number} px
 * @param {number} width
 * @param {number} n
 */
export function stripIndex(px, width, n) {
  return Math.max(0, Math.min(n - 1, Math.floor(px / width * n)));
}
