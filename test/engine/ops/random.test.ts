import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostTensor } from "../../../src/engine/host-tensor.js";
import { Graph } from "../../../src/engine/graph/tensor.js";
import { ShapeError } from "../../../src/engine/errors.js";
import { grad } from "../../../src/engine/autodiff/grad.js";
import { mul, randomUniform, reduceSum } from "../../../src/engine/ops/index.js";
import { CompiledGraph } from "../../../src/engine/runtime/session.js";
import { assertClose, assertThrowsFields, runGraph, symbolic } from "../helpers.js";

// --- a plain-JS model of the in-graph hash -------------------------------------------------

const MIX = 0x45d9f3b;
function mix32(x: number): number {
  let h = x >>> 0;
  for (let r = 0; r < 2; r++) {
    h = (h ^ (h >>> 16)) >>> 0;
    h = Math.imul(h, MIX) >>> 0;
  }
  return (h ^ (h >>> 16)) >>> 0;
}
/** mix32 is a bijection on uint32: xor-shift by 16 is its own inverse, MIX is odd. */
function mix32Inverse(y: number): number {
  let inv = MIX;
  for (let k = 0; k < 5; k++) inv = Math.imul(inv, 2 - Math.imul(MIX, inv)) >>> 0;
  let h = (y ^ (y >>> 16)) >>> 0;
  for (let r = 0; r < 2; r++) {
    h = Math.imul(h, inv) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}
/** The hash of each flat index, as a uint32. */
function refHash(n: number, seed: bigint, salt: number): number[] {
  const seedMixed = Number(((seed & 0x7fffffffn) * 0x9e3779b1n + BigInt(salt >>> 0)) & 0xffffffffn);
  const key = mix32(seedMixed);
  return Array.from({ length: n }, (_, i) => mix32((i + key) >>> 0));
}
/** Uniform value of a hash: the midpoint of its bin among 2^23 equal bins, exact in float32. */
const toUnit = (h: number) => (2 * (h >>> 9) + 1) / 2 ** 24;

async function draw(shape: readonly (number | string)[], concrete: readonly number[], seed: number | bigint, salt: number): Promise<HostTensor> {
  const g = new Graph();
  const like = g.input("like", "float32", shape);
  const s = g.input("seed", "int64", []);
  const r = await runGraph(g, { u: randomUniform(like, s, salt) }, { like: HostTensor.zeros("float32", concrete), seed: HostTensor.i64([seed], []) });
  return r.u!;
}

describe("randomUniform", () => {
  test("randomUniform like=[3,5] seed=42 salt=7 matches a JS model of the hash exactly", async () => {
    const u = await draw([3, 5], [3, 5], 42, 7);
    assert.equal(u.dtype, "float32");
    assert.deepEqual([...u.shape], [3, 5]);
    assertClose(u, refHash(15, 42n, 7).map(toUnit), { rtol: 0, atol: 0 });
  });

  test("randomUniform like=[100,100]: values in (0,1), mean ~ 1/2, variance ~ 1/12", async () => {
    const u = (await draw([100, 100], [100, 100], 1234, 3)).toNumbers();
    assert.ok(u.every((v) => v > 0 && v < 1), "all values strictly inside (0, 1)");
    const mean = u.reduce((a, b) => a + b, 0) / u.length;
    const variance = u.reduce((a, b) => a + (b - mean) ** 2, 0) / u.length;
    assert.ok(Math.abs(mean - 0.5) < 0.015, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 0.005, `variance ${variance}`);
    // Every decile is populated about equally.
    const bins = new Array<number>(10).fill(0);
    for (const v of u) bins[Math.floor(v * 10)]! += 1;
    assert.ok(bins.every((b) => Math.abs(b - 1000) < 150), `deciles ${bins}`);
  });

  test("randomUniform never returns 1.0: the largest hash maps below 1", async () => {
    // Seed 0 makes the key mix32(salt); pick the salt whose key sends index 0 to hash 0xffffffff.
    const salt = mix32Inverse(mix32Inverse(0xffffffff));
    assert.equal(refHash(1, 0n, salt)[0], 0xffffffff);
    const u = await draw([2], [2], 0, salt);
    assert.ok(u.at(0) < 1, `got ${u.at(0)}`);
    assert.equal(u.at(0), toUnit(0xffffffff));
  });

  test("randomUniform: the smallest hash maps above 0", async () => {
    const salt = mix32Inverse(mix32Inverse(0));
    const u = await draw([1], [1], 0, salt);
    assert.ok(u.at(0) > 0, `got ${u.at(0)}`);
    assert.equal(u.at(0), toUnit(0));
  });

  test("randomUniform: the same seed reproduces, in one session and across sessions", async () => {
    const g = new Graph();
    const like = g.input("like", "float32", [4, 4]);
    const seed = g.input("seed", "int64", []);
    const u = randomUniform(like, seed, 11);
    const s1 = await CompiledGraph.create(g, { u }, { threads: 1 });
    const feeds = { like: HostTensor.zeros("float32", [4, 4]), seed: HostTensor.i64([99], []) };
    const a = (await s1.run(feeds)).u!, b = (await s1.run(feeds)).u!;
    await s1.dispose();
    assert.deepEqual(a.toNumbers(), b.toNumbers());
    assert.deepEqual((await draw([4, 4], [4, 4], 99, 11)).toNumbers(), a.toNumbers());
  });

  test("randomUniform: different seeds and different salts give different streams", async () => {
    const base = (await draw([64], [64], 5, 1)).toNumbers();
    for (const [seed, salt] of [[6, 1], [5, 2], [1 << 20, 1]] as const) {
      const other = (await draw([64], [64], seed, salt)).toNumbers();
      const same = other.filter((v, i) => v === base[i]).length;
      assert.ok(same < 4, `seed ${seed} salt ${salt}: ${same} of 64 values coincide with seed 5 salt 1`);
    }
  });

  test("randomUniform keys on the low 31 bits of the seed", async () => {
    const a = (await draw([8], [8], 17n, 4)).toNumbers();
    const b = (await draw([8], [8], 17n + (1n << 31n), 4)).toNumbers();
    assert.deepEqual(a, b);
  });

  test("randomUniform values depend only on the flat index: like=[2,3] and like=[6]", async () => {
    const a = (await draw([2, 3], [2, 3], 8, 8)).toNumbers();
    const b = (await draw([6], [6], 8, 8)).toNumbers();
    assert.deepEqual(a, b);
  });

  test("randomUniform like=[B,4] with B=3 equals the static draw", async () => {
    const u = await draw(["B", 4], [3, 4], 77, 5);
    assert.deepEqual([...u.shape], [3, 4]);
    assert.deepEqual(u.toNumbers(), (await draw([3, 4], [3, 4], 77, 5)).toNumbers());
  });

  test("randomUniform has no gradient: d/dx sum(x * u(x)) = u", async () => {
    const g = new Graph();
    const x = g.input("x", "float32", [5]);
    const seed = g.input("seed", "int64", []);
    const u = randomUniform(x, seed, 9);
    const [gx] = grad(reduceSum(mul(x, u)), [x]);
    const r = await runGraph(g, { u, gx: gx! }, { x: HostTensor.f32([1, 2, 3, 4, 5]), seed: HostTensor.i64([3], []) });
    assertClose(r.gx!, r.u!, { rtol: 0, atol: 0 });
  });

  test("randomUniform with a float or non-scalar seed is a ShapeError", () => {
    const { xs: [like, fseed, vseed] } = symbolic([{ dtype: "float32", shape: [3] }, { dtype: "float32", shape: [] }, { dtype: "int64", shape: [1] }]);
    assertThrowsFields(() => randomUniform(like!, fseed!, 1), ShapeError, { op: "randomUniform", expected: "int64 scalar" });
    assertThrowsFields(() => randomUniform(like!, vseed!, 1), ShapeError, { op: "randomUniform", expected: "int64 scalar" });
  });
});
