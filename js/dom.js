// DOM helpers of the workbench front end (no data, no model).

/**
 * An element with properties, attributes, listeners (`on…`) and children.
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {(Node|string)[]} [children]
 * @returns {any}
 */
export function h(tag, props = {}, children = []) {
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
  const app = /** @type {any} */ (globalThis).jupyterapp;
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
export async function copyText(text) {
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
