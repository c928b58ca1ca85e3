// Controls bound to traits: sliders, selects, buttons. They write through `sync`
// (transport.js), never `model.save_changes()` directly.

import { h } from "./dom.js";

/**
 * A labelled range slider + number box bound to a float/int trait; flags `dragging`
 * while the thumb is held (the preview runs binned), values coalesced per frame.
 * @param {any} model
 * @param {any} sync
 * @param {string} trait
 * @param {{label: string, min: number, max: number, step: number, unit?: string,
 *   title?: string}} o
 */
export function traitSlider(model, sync, trait, o) {
  const input = h("input", {
    type: "range", min: o.min, max: o.max, step: o.step, value: model.get(trait),
    class: "etw-slider", title: o.title || o.label,
    dataset: { trait, lmSuppressShortcuts: "true" },
  });
  const number = h("input", { type: "number", step: o.step, value: model.get(trait),
    class: "etw-number", title: o.title || o.label, dataset: { trait: trait + "-number" } });
  input.addEventListener("input", () => sync.drag(trait, Number(input.value)));
  number.addEventListener("change", () => sync.now(trait, Number(number.value)));
  const drag = (/** @type {boolean} */ on) => {
    if (model.get("dragging") !== on) sync.now("dragging", on);
  };
  input.addEventListener("pointerdown", () => drag(true));
  input.addEventListener("pointerup", () => drag(false));
  input.addEventListener("change", () => drag(false));
  const update = () => { input.value = model.get(trait); number.value = model.get(trait); };
  model.on(`change:${trait}`, update);
  return { node: h("label", { class: "etw-field" }, [o.label, input, number, o.unit || ""]),
    input, number, update, off: () => model.off(`change:${trait}`, update) };
}

/**
 * A select bound to a string trait (options filled later by `fillSelect`).
 * @param {any} model
 * @param {any} sync
 * @param {string} trait
 * @param {string} title
 */
export function traitSelect(model, sync, trait, title) {
  const s = h("select", { dataset: { trait }, title });
  s.addEventListener("change", () => sync.now(trait, s.value));
  return s;
}

/**
 * Fill a select with `items` and select the trait's value.
 * @param {HTMLSelectElement} s
 * @param {string[]} items
 * @param {string} value
 */
export function fillSelect(s, items, value) {
  s.replaceChildren(...(items || []).map((v) => h("option", { value: v, textContent: v })));
  s.value = value;
}

/**
 * A button that sends `{action, ...extra}` to Python.
 * @param {any} model
 * @param {string} text
 * @param {string} action
 * @param {string} title
 * @param {Record<string, any>} [extra]
 */
export function actionButton(model, text, action, title, extra = {}) {
  return h("button", { textContent: text, title, dataset: { action },
    onclick: () => model.send({ action, ...extra }) });
}
