// Colour maps and painting uint8 frames onto canvases.

const LUT_ANCHORS = {
  viridis: ["440154", "48186a", "472d7b", "424086", "3b528b", "33638d", "2c728e", "26828e",
    "21918c", "1fa088", "28ae80", "3fbc73", "5ec962", "84d44b", "addc30", "d8e219", "fde725"],
  magma: ["000004", "0a0822", "1d1147", "36106b", "51127c", "6a1c81", "832681", "9c2e7f",
    "b73779", "d0416f", "e75263", "f56b5c", "fc8961", "fea772", "fec488", "fde2a3", "fcfdbf"],
  inferno: ["000004", "0b0724", "210c4a", "3d0965", "57106e", "71196e", "8a226a", "a32c61",
    "bc3754", "d24644", "e45a31", "f1731d", "f98e09", "fcac11", "f9cb35", "f2ea69", "fcffa4"],
};

/** The colour maps `lut` knows (Python's COLORMAPS must be this list: a test checks). */
export const COLORMAPS = ["gray", "viridis", "magma", "afmhot", "inferno"];

/** @type {Map<string, Uint8ClampedArray>} */
const LUTS = new Map();

/**
 * A 256 × RGB lookup table for a colour map name (unknown names are grey).
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
