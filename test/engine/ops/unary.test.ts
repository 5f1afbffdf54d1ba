import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import type { Tensor } from "../../../src/engine/graph/tensor.js";
import { DTypeError } from "../../../src/engine/errors.js";
import {
  abs, bitwiseNot, cos, erf, exp, floor, leakyRelu, log, neg, reciprocal, relu, sigmoid, sign, silu, sin, softplus, sqrt, tanh,
} from "../../../src/engine/ops/index.js";
import {
  Rng, assertClose, assertEqualValues, assertGradients, assertThrowsFields, erfRef, evaluate1, fmt, randAwayFromZero, randn, randShape, randu, symbolic,
} from "../helpers.js";

type Domain = "any" | "positive" | "awayFromZero" | "awayFromIntegers";
interface Case { f: (x: Tensor) => Tensor; ref: (x: number) => number; domain: Domain }

const sigm = (x: number) => 1 / (1 + Math.exp(-x));
const CASES: Record<string, Case> = {
  neg: { f: neg, ref: (x) => -x, domain: "any" },
  exp: { f: exp, ref: Math.exp, domain: "any" },
  log: { f: log, ref: Math.log, domain: "positive" },
  sqrt: { f: sqrt, ref: Math.sqrt, domain: "positive" },
  reciprocal: { f: reciprocal, ref: (x) => 1 / x, domain: "positive" },
  sigmoid: { f: sigmoid, ref: sigm, domain: "any" },
  tanh: { f: tanh, ref: Math.tanh, domain: "any" },
  erf: { f: erf, ref: erfRef, domain: "any" },
  cos: { f: cos, ref: Math.cos, domain: "any" },
  sin: { f: sin, ref: Math.sin, domain: "any" },
  abs: { f: abs, ref: Math.abs, domain: "awayFromZero" },
  relu: { f: relu, ref: (x) => Math.max(x, 0), domain: "awayFromZero" },
  sign: { f: sign, ref: Math.sign, domain: "awayFromZero" },
  floor: { f: floor, ref: Math.floor, domain: "awayFromIntegers" },
  leakyRelu: { f: (x) => leakyRelu(x, 0.2), ref: (x) => (x > 0 ? x : 0.2 * x), domain: "awayFromZero" },
  silu: { f: silu, ref: (x) => x * sigm(x), domain: "any" },
  softplus: { f: softplus, ref: (x) => Math.log1p(Math.exp(x)), domain: "any" },
};

function sample(rng: Rng, shape: number[], domain: Domain): HostTensor {
  switch (domain) {
    case "any": return randn(rng, shape);
    case "positive": return randu(rng, shape, 0.5, 2.5);
    case "awayFromZero": return randAwayFromZero(rng, shape, 0.1);
    case "awayFromIntegers": return HostTensor.f32(randu(rng, shape, 0.2, 0.8).data.map((v) => v + Math.floor(rng.normal() * 2)), shape);
  }
}

describe("unary forward", () => {
  const rng = new Rng(303);
  for (const [name, c] of Object.entries(CASES)) {
    const shape = [2, 3, 4];
    test(`${name} x=${fmt(shape)}`, async () => {
      const x = sample(rng, shape, c.domain);
      assertClose(await evaluate1(c.f, [x]), { shape, data: x.toNumbers().map(c.ref) }, { rtol: 2e-6, atol: 2e-6 });
    });
  }

  test("relu, abs and sign at exactly 0", async () => {
    const x = HostTensor.f32([0, -0, 1, -1]);
    assertClose(await evaluate1(relu, [x]), [0, 0, 1, 0]);
    assertClose(await evaluate1(abs, [x]), [0, 0, 1, 1]);
    assertClose(await evaluate1(sign, [x]), [0, 0, 1, -1]);
  });

  test("neg, abs and sign on int64", async () => {
    const x = HostTensor.i64([-3, 0, 5]);
    assertEqualValues(await evaluate1(neg, [x]), { shape: [3], data: [3, 0, -5] });
    assertEqualValues(await evaluate1(abs, [x]), { shape: [3], data: [3, 0, 5] });
    assertEqualValues(await evaluate1(sign, [x]), { shape: [3], data: [-1, 0, 1] });
  });

  test("bitwiseNot int64 is -x-1", async () => {
    const x = HostTensor.i64([0, 1, -1, 12345, 2 ** 40]);
    const y = await evaluate1(bitwiseNot, [x]);
    assert.equal(y.dtype, "int64");
    assertEqualValues(y, { shape: [5], data: x.toNumbers().map((v) => -v - 1) });
  });

  test("exp and log in float64 keep double precision", async () => {
    const x = HostTensor.f64([1e-10, 1, 2]);
    const y = await evaluate1((t) => log(exp(t)), [x]);
    assert.equal(y.dtype, "float64");
    assertClose(y, [1e-10, 1, 2], { rtol: 1e-12, atol: 1e-15 });
  });
});

describe("unary VJP", () => {
  const rng = new Rng(404);
  for (const [name, c] of Object.entries(CASES)) {
    for (let k = 0; k < 2; k++) {
      const shape = randShape(rng, 1 + rng.int(3), 1, 5);
      test(`${name} VJP x=${fmt(shape)}`, async () => {
        await assertGradients(c.f, [sample(rng, shape, c.domain)]);
      });
    }
  }
});

describe("unary dtype rules", () => {
  test("exp, sqrt, relu on int64 are DTypeErrors", () => {
    const { xs: [i] } = symbolic([{ dtype: "int64", shape: [3] }]);
    assertThrowsFields(() => exp(i!), DTypeError, { op: "exp", got: "int64" });
    assertThrowsFields(() => sqrt(i!), DTypeError, { op: "sqrt", got: "int64" });
    assertThrowsFields(() => relu(i!), DTypeError, { op: "relu", got: "int64" });
  });

  test("bitwiseNot on float32 is a DTypeError", () => {
    const { xs: [f] } = symbolic([{ dtype: "float32", shape: [3] }]);
    assertThrowsFields(() => bitwiseNot(f!), DTypeError, { op: "bitwiseNot", got: "float32" });
  });

  test("unary ops keep symbolic shapes", () => {
    const { xs: [x] } = symbolic([{ dtype: "float32", shape: ["B", 3] }]);
    assert.deepEqual([...tanh(x!).shape], ["B", 3]);
    assert.deepEqual([...leakyRelu(x!, 0.1).shape], ["B", 3]);
  });
});
