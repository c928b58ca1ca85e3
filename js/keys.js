// Keyboard shortcuts of the workbench (active whenever the widget has focus, outside text
// fields). One table: the handler and the `?` help overlay both read it.

/** @typedef {{key: string, shiftKey?: boolean, ctrlKey?: boolean, metaKey?: boolean,
 *   altKey?: boolean}} KeyLike */

/** [keys shown in the help, what it does] */
export const SHORTCUTS = [
  ["← / →", "previous / next projection (Shift: 10)"],
  ["Home / End", "first / last projection"],
  ["1 / 2 / 3", "select slice line 1, 2 or 3"],
  ["↑ / ↓", "move the selected slice line by 1 px (Shift: 10)"],
  [", / .", "tilt-axis shift −/+ 0.1 px (Shift: 1 px)"],
  ["[ / ]", "tilt-axis rotation −/+ 0.05° (Shift: 0.5°)"],
  ["Alt + arrows", "nudge this projection by 0.25 px (dy: ↑↓, dx: ←→)"],
  ["Ctrl/⌘ + Z", "undo"],
  ["Ctrl/⌘ + Y, Ctrl/⌘ + Shift + Z", "redo"],
  ["?", "show / hide this help"],
  ["Esc", "close the help"],
];

/**
 * What a key press asks for, or null: `{step: trait, by}` (add `by` to a number trait),
 * `{set: trait, value}` (`value` may be "last"), `{slice: by}` (move the selected line),
 * `{nudge: axis, by}`, `{action: name}`, `{help: true|false|"toggle"}`.
 * @param {KeyLike} ev
 * @returns {any}
 */
export function keyAction(ev) {
  const mod = ev.ctrlKey || ev.metaKey;
  const k = ev.key;
  if (mod && !ev.altKey) {
    if (k.toLowerCase() === "z") return { action: ev.shiftKey ? "redo" : "undo" };
    if (k.toLowerCase() === "y") return { action: "redo" };
    return null;
  }
  if (mod) return null;
  if (ev.altKey) {
    const nudge = { ArrowUp: [0, -0.25], ArrowDown: [0, 0.25], ArrowLeft: [1, -0.25],
      ArrowRight: [1, 0.25] }[k];
    return nudge ? { nudge: nudge[0], by: nudge[1] } : null;
  }
  const big = ev.shiftKey;
  switch (k) {
    case "ArrowLeft": return { step: "tilt_index", by: big ? -10 : -1 };
    case "ArrowRight": return { step: "tilt_index", by: big ? 10 : 1 };
    case "Home": return { set: "tilt_index", value: 0 };
    case "End": return { set: "tilt_index", value: "last" };
    case "ArrowUp": return { slice: big ? 10 : 1 };
    case "ArrowDown": return { slice: big ? -10 : -1 };
    case "1": case "2": case "3": return { set: "selected_slice", value: Number(k) - 1 };
    case ",": case "<": return { step: "tilt_shift", by: big ? -1 : -0.1 };
    case ".": case ">": return { step: "tilt_shift", by: big ? 1 : 0.1 };
    case "[": case "{": return { step: "tilt_rotation", by: big ? -0.5 : -0.05 };
    case "]": case "}": return { step: "tilt_rotation", by: big ? 0.5 : 0.05 };
    case "?": return { help: "toggle" };
    case "Escape": return { help: false };
    default: return null;
  }
}

/**
 * The new value of a number trait after a step, clamped to `[lo, hi]` and rounded to
 * 6 decimals (0.1 + 0.2 must show as 0.3).
 * @param {number} value
 * @param {number} by
 * @param {number} lo
 * @param {number} hi
 */
export function stepValue(value, by, lo = -Infinity, hi = Infinity) {
  return Math.min(hi, Math.max(lo, Math.round((value + by) * 1e6) / 1e6));
}
