import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../src/engine/graph/tensor.js";
import { add, conv2d, convTranspose2d, matmul, silu } from "../../src/engine/ops/index.js";
import { countFlops } from "../../bench/flops.js";

describe("bench FLOP counter", () => {
  test("a strided, padded, grouped conv: 2 x outputs x (C/group) x kH x kW", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3, 8, 9, 7]);
    const w = g.param("w", [6, 4, 3, 2], { kind: "constant", value: 0 });
    const y = conv2d(x, w, { strides: [2, 1], pads: [1, 0, 1, 1], dilations: [1, 1], group: 2 });
    // H: (9 + 2 - 3) / 2 + 1 = 5; W: (7 + 1 - 2) / 1 + 1 = 7
    assert.deepEqual(y.shape, [3, 6, 5, 7]);
    assert.deepEqual(countFlops([y]), { total: 2 * 3 * 6 * 5 * 7 * 4 * 3 * 2, byOp: { conv2d: 2 * 3 * 6 * 5 * 7 * 4 * 3 * 2 } });
  });

  test("a transposed conv counts each input element against O/group x kH x kW outputs", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 4, 5, 5]);
    const w = g.param("w", [4, 3, 3, 3], { kind: "constant", value: 0 });
    const y = convTranspose2d(x, w, { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, outputPadding: [1, 1] });
    assert.equal(countFlops([y]).total, 2 * (2 * 4 * 5 * 5) * 3 * 3 * 3);
  });

  test("batched matmuls with symbolic dims, elementwise ops left out, shared nodes counted once", () => {
    const g = new Graph();
    const a = g.input("a", "float32", ["B", 5, 7]);
    const b = g.input("b", "float32", [7, 3]);
    const p = matmul(a, b); // [B, 5, 3]
    const q = matmul(silu(p), g.input("c", "float32", [3, 11]));
    const perB = 2 * 5 * 3 * 7 + 2 * 5 * 11 * 3;
    assert.equal(countFlops({ q, again: add(p, p) }, { B: 4 }).total, 4 * perB);
    assert.equal(countFlops([q], { B: 1 }).byOp.matmul, perB);
    assert.throws(() => countFlops([q]), /symbolic dimension "B"/);
  });

  test("a product dimension such as the weight-gradient conv's \"B*2\" channels resolves through its symbols", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1, "B*2", 4, 4]);
    const w = g.input("w", "float32", [6, "B", 2, 2]);
    const y = conv2d(x, w, { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 2 });
    assert.equal(countFlops([y], { B: 5 }).total, 2 * (6 * 3 * 3) * 5 * 2 * 2);
  });
});
