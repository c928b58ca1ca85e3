// Unit tests of the front end's pure helpers: `node --test js/` (Node ≥ 18, no packages).
import assert from "node:assert/strict";
import { test } from "node:test";

import { bytesOf, lut } from "./workbench.js";

test("grey colour map is the identity", () => {
  const t = lut("gray");
  for (const i of [0, 1, 127, 255]) assert.deepEqual([...t.slice(3 * i, 3 * i + 3)], [i, i, i]);
});

test("viridis runs from its first to its last anchor colour", () => {
  const t = lut("viridis");
  assert.deepEqual([...t.slice(0, 3)], [0x44, 0x01, 0x54]);
  assert.deepEqual([...t.slice(765, 768)], [0xfd, 0xe7, 0x25]);
});

test("afmhot is black to white through red", () => {
  const t = lut("afmhot");
  assert.deepEqual([...t.slice(0, 3)], [0, 0, 0]);
  assert.deepEqual([...t.slice(765, 768)], [255, 255, 255]);
  assert.ok(t[3 * 100] > t[3 * 100 + 1] && t[3 * 100 + 1] >= t[3 * 100 + 2]);
});

test("bytesOf reads DataView, ArrayBuffer and typed arrays without copying", () => {
  const buf = new Uint8Array([9, 1, 2, 3, 4]).buffer;
  const view = new DataView(buf, 1, 3);
  assert.deepEqual([...bytesOf(view)], [1, 2, 3]);
  assert.equal(bytesOf(view).buffer, buf);
  assert.deepEqual([...bytesOf(buf)], [9, 1, 2, 3, 4]);
  assert.deepEqual([...bytesOf(null)], []);
});
