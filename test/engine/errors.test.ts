import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CheckpointError, ConfigError, DTypeError, FeedError, MaskbitError, MissingRuleError, ShapeError, fmtShape,
} from "../../src/engine/errors.js";
import { Graph } from "../../src/engine/graph/tensor.js";
import { HostTensor } from "../../src/engine/host-tensor.js";
import { grad } from "../../src/engine/autodiff/grad.js";
import { add, conv2d, matmul, mul, reduceSum } from "../../src/engine/ops/index.js";
import { assertThrowsFields } from "./helpers.js";

describe("MaskbitError", () => {
  test("message reads 'op (scope): expected E, got G (hint: H)' and fields are kept", () => {
    const e = new ShapeError({ op: "conv2d", scope: "encoder.0", expected: "x with 3 channels", got: "x [1, 4, 8, 8]", hint: "check in_channels" });
    assert.equal(e.message, "conv2d (encoder.0): expected x with 3 channels, got x [1, 4, 8, 8] (hint: check in_channels)");
    assert.equal(e.op, "conv2d");
    assert.equal(e.scope, "encoder.0");
    assert.equal(e.expected, "x with 3 channels");
    assert.equal(e.got, "x [1, 4, 8, 8]");
    assert.equal(e.hint, "check in_channels");
  });

  test("without scope or hint the message is 'op: expected E, got G'", () => {
    const e = new FeedError({ op: "CompiledGraph.run", expected: "x", got: "nothing" });
    assert.equal(e.message, "CompiledGraph.run: expected x, got nothing");
    assert.equal(e.scope, undefined);
    assert.equal(e.hint, undefined);
  });

  test("each subclass names itself and is a MaskbitError and an Error", () => {
    for (const cls of [ShapeError, DTypeError, MissingRuleError, FeedError, CheckpointError, ConfigError]) {
      const e = new cls({ op: "op", expected: "a", got: "b" });
      assert.equal(e.name, cls.name);
      assert.ok(e instanceof MaskbitError);
      assert.ok(e instanceof Error);
      assert.ok(e.stack?.includes(cls.name));
    }
  });

  test("fmtShape writes symbols and scalars", () => {
    assert.equal(fmtShape([2, "B", 3]), "[2, B, 3]");
    assert.equal(fmtShape([]), "[]");
  });
});

describe("shape-rule errors", () => {
  test("conv2d channel mismatch: ShapeError naming conv2d, the expected channels and both shapes", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1, 4, 8, 8]);
    const w = g.input("w", "float32", [8, 3, 3, 3]);
    assertThrowsFields(() => conv2d(x, w, { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 }), ShapeError, {
      op: "conv2d", expected: ["3 channels", "[8, 3, 3, 3]"], got: "[1, 4, 8, 8]",
    });
  });

  test("matmul inner-dim mismatch: ShapeError naming matmul and both shapes", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [2, 5]);
    const b = g.input("b", "float32", [4, 3]);
    assertThrowsFields(() => matmul(a, b), ShapeError, { op: "matmul", expected: "inner dimensions to match", got: ["[2, 5]", "[4, 3]"] });
  });

  test("broadcasting failure: ShapeError naming the op, both shapes and the axis", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [2, 3]);
    const b = g.input("b", "float32", [3, 2]);
    assertThrowsFields(() => add(a, b), ShapeError, { op: "add", expected: "broadcast", got: ["[2, 3]", "[3, 2]", "axis 0"] });
  });

  test("add(float32, int64): DTypeError naming add and both dtypes", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [2]);
    const b = g.input("b", "int64", [2]);
    assertThrowsFields(() => add(a, b), DTypeError, { op: "add", expected: "one dtype", got: "float32 and int64" });
  });

  test("errors carry the graph scope where the op was recorded", () => {
    const g = new Graph();
    const a = g.input("a", "float32", [2, 3]);
    const b = g.input("b", "float32", [4]);
    const err = g.scope("decoder", () => g.scope(2, () => {
      try {
        mul(a, b);
      } catch (e) {
        return e;
      }
      return undefined;
    }));
    assert.ok(err instanceof ShapeError);
    assert.equal(err.scope, "decoder.2");
    assert.ok(err.message.startsWith("mul (decoder.2): "), err.message);
  });

  test("operands from two graphs: ShapeError", () => {
    const a = new Graph().input("a", "float32", [2]);
    const b = new Graph().input("b", "float32", [2]);
    assertThrowsFields(() => add(a, b), ShapeError, { op: "add", expected: "one graph" });
  });

  test("grad of a non-scalar without a seed, and of an int64 output: ShapeError naming grad", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [3]);
    const i = g.input("i", "int64", []);
    assertThrowsFields(() => grad(mul(x, 2), [x]), ShapeError, { op: "grad", expected: "scalar loss", got: "float32[3]" });
    assertThrowsFields(() => grad(i, [x]), ShapeError, { op: "grad", expected: "floating-point", got: "int64" });
    const other = new Graph().input("y", "float32", [3]);
    assertThrowsFields(() => grad(reduceSum(x), [other]), ShapeError, { op: "grad", got: "another graph" });
  });
});

describe("graph and host-tensor errors", () => {
  test("HostTensor with the wrong element count: FeedError", () => {
    assertThrowsFields(() => HostTensor.f32([1, 2, 3], [2, 2]), FeedError, { op: "HostTensor", expected: "4 elements", got: "3" });
  });

  test("a duplicate graph input name: FeedError", () => {
    const g = new Graph();
    g.input("x", "float32", [2]);
    assertThrowsFields(() => g.input("x", "float32", [2]), FeedError, { op: "Graph.input", got: "x" });
  });

  test("a parameter redeclared with another shape: ShapeError; the same shape shares the tensor", () => {
    const g = new Graph();
    const w = g.scope("lin", () => g.param("weight", [2, 3], { kind: "constant", value: 0 }));
    assert.equal(g.scope("lin", () => g.param("weight", [2, 3], { kind: "constant", value: 0 })), w);
    assertThrowsFields(() => g.scope("lin", () => g.param("weight", [3, 3], { kind: "constant", value: 0 })), ShapeError, {
      op: "Graph.param", scope: "lin.weight", expected: "[2, 3]", got: "[3, 3]",
    });
  });

  test("a static shape asked of a symbolic tensor: ShapeError", () => {
    const x = new Graph().input("x", "float32", ["B", 3]);
    assertThrowsFields(() => x.staticShape("loss"), ShapeError, { op: "loss", got: "[B, 3]" });
  });
});
