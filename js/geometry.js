// The pure geometry of the panes: screen ↔ data pixels, zoom window, nearest slice line,
// nudges. No DOM, no model: unit-tested with `node --test js/`.

/**
 * Where an image of `w × h` pixels lies inside `rect` when drawn with `object-fit:
 * contain` (centred, aspect kept).
 * @param {{left: number, top: number, width: number, height: number}} rect
 * @param {number} w
 * @param {number} h
 * @returns {{left: number, top: number, width: number, height: number}}
 */
export function containRect(rect, w, h) {
  const scale = Math.min(rect.width / w, rect.height / h);
  const width = w * scale, height = h * scale;
  return { left: rect.left + (rect.width - width) / 2, top: rect.top + (rect.height - height) / 2,
    width, height };
}

/**
 * Data pixel `[x, y]` under a pointer, for a frame showing `frame.window` (data pixels
 * `[x0, y0, x1, y1]`) reduced by `frame.factor`, drawn in the box `rect`.
 * @param {{shape: number[], window: number[], factor: number}} frame
 * @param {{left: number, top: number, width: number, height: number}} rect
 * @param {number} clientX
 * @param {number} clientY
 * @returns {number[]}
 */
export function toData(frame, rect, clientX, clientY) {
  const [h0, w0] = frame.shape.slice(-2);
  rect = containRect(rect, w0, h0);
  const fx = (clientX - rect.left) / rect.width * w0;
  const fy = (clientY - rect.top) / rect.height * h0;
  return [frame.window[0] + fx * frame.factor, frame.window[1] + fy * frame.factor];
}

/**
 * The zoom window after one wheel step at data point `[x, y]`: zoom in (deltaY < 0,
 * × 0.8) or out (× 1.25), keeping the point under the pointer; at least 8 pixels,
 * at most the image. `[]` means the whole image.
 * @param {number[]} window  current `[x0, y0, x1, y1]`
 * @param {number[]} point   `[x, y]` in data pixels
 * @param {number} deltaY
 * @param {number[]} size    `[ny, nx]` of the image
 * @returns {number[]}
 */
export function zoomWindow(window, point, deltaY, size) {
  const [x0, y0, x1, y1] = window;
  const [x, y] = point;
  const [ny, nx] = size;
  const z = deltaY > 0 ? 1.25 : 0.8;
  const w = Math.min(nx, Math.max(8, (x1 - x0) * z));
  const hh = Math.min(ny, Math.max(8, (y1 - y0) * z));
  if (w >= nx && hh >= ny) return [];
  const nx0 = x - (x - x0) * w / (x1 - x0), ny0 = y - (y - y0) * hh / (y1 - y0);
  return [nx0, ny0, nx0 + w, ny0 + hh];
}

/**
 * The window moved so that data point `from` comes under `to` (a pan drag).
 * @param {number[]} window
 * @param {number[]} from
 * @param {number[]} to
 * @returns {number[]}
 */
export function panWindow(window, from, to) {
  const [x0, y0, x1, y1] = window;
  const dx = from[0] - to[0], dy = from[1] - to[1];
  return [x0 + dx, y0 + dy, x1 + dx, y1 + dy];
}

/**
 * Index of the slice column nearest to `x` (the first one on ties).
 * @param {number[]} slices
 * @param {number} x
 * @returns {number}
 */
export function nearestSlice(slices, x) {
  let k = 0;
  slices.forEach((v, i) => { if (Math.abs(v - x) < Math.abs(slices[k] - x)) k = i; });
  return k;
}

/**
 * `slices` with column `k` moved to `x` (rounded, clamped to 0..nx-1); a new array.
 * @param {number[]} slices
 * @param {number} k
 * @param {number} x
 * @param {number} nx
 * @returns {number[]}
 */
export function moveSlice(slices, k, x, nx) {
  const out = [...slices];
  out[k] = Math.max(0, Math.min(nx - 1, Math.round(x)));
  return out;
}

/**
 * `nudges` (`{"index": [dy, dx]}`) with `axis` (0: dy, 1: dx) of projection `index` set to
 * `value`; a projection back at [0, 0] is dropped. A new object.
 * @param {Record<string, number[]>} nudges
 * @param {number} index
 * @param {number} axis
 * @param {number} value
 * @returns {Record<string, number[]>}
 */
export function nudgeUpdate(nudges, index, axis, value) {
  const out = { ...(nudges || {}) };
  const key = String(index);
  const cur = out[key] ? [...out[key]] : [0, 0];
  cur[axis] = value;
  if (cur[0] === 0 && cur[1] === 0) delete out[key];
  else out[key] = cur;
  return out;
}
