// Float32 error of the official 10-bit tokenizer encoder (random weights, official YAML): the
// ONNX Runtime float32 graph against a float64 JS interpreter of the same graph (conv2d, groupNorm,
// sigmoid, mul, add). SIZE=256 takes about 30 CPU-minutes; the reference is cached in the temp dir.
// Measured at 256x256: 2.36e-6 relative L2 (fused GroupNormalization before: 1.28e-5; PyTorch 2.1e-6).
// Usage: SIZE=64|256 npx tsx scripts/encoder-precision.ts
import { join } from "node:path";
import { tmpdir } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Graph, type Tensor } from "../src/engine/graph/tensor.js";
import { HostTensor } from "../src/engine/host-tensor.js";
import { CompiledGraph } from "../src/engine/runtime/session.js";
import { Rng } from "../src/engine/rng.js";
import { encoder } from "../src/models/tokenizer/encoder.js";
import { loadTokenizerConfig } from "../src/models/tokenizer/config.js";
import { Tokenizer } from "../src/models/tokenizer/tokenizer.js";

const S = Number(process.env.SIZE ?? 256);
const c = loadTokenizerConfig(join(import.meta.dirname, "../../shared/reference/official-configs/tokenizer/maskbit_tokenizer_10bit.yaml"));
const tok = Tokenizer.random(c, 11);
const rng = new Rng(3);
const x = new Float32Array(3 * S * S);
for (let k = 0; k < 3; k++) for (let i = 0; i < S; i++) for (let j = 0; j < S; j++)
  x[(k * S + i) * S + j] = Math.min(1, Math.max(0, 0.5 + 0.3 * Math.sin((i + 7 * k) / 17) * Math.cos(j / 23) + 0.1 * rng.normal()));
const g = new Graph();
const xin = g.input("x", "float32", [1, 3, S, S]);
const z = encoder(xin, c);
const sess = await CompiledGraph.create(g, { z }, { threads: 1 });
const t0 = performance.now();
const z32 = (await sess.run({ x: new HostTensor("float32", [1, 3, S, S], x) }, tok.params)).z!.data as Float32Array;
console.log(`float32 ORT encoder ${(performance.now() - t0).toFixed(0)} ms`);

const refPath = join(tmpdir(), `maskbit-encoder-ref-${S}.f64`);
let ref: Float64Array;
if (existsSync(refPath)) { const b = readFileSync(refPath); ref = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); }
else {
  const vals = new Map<Tensor, Float64Array>();
  const val = (t: Tensor): Float64Array => {
    const v = vals.get(t);
    if (v) return v;
    const src = t.source;
    if (src.kind === "param") { const h = tok.params.get(src.key)!; const d = Float64Array.from(h.data as Float32Array); vals.set(t, d); return d; }
    if (src.kind === "input") { const d = Float64Array.from(x); vals.set(t, d); return d; }
    throw new Error(`unexpected source ${src.kind}`);
  };
  const lastUse = new Map<Tensor, number>();
  for (const n of g.nodes) for (const t of n.inputs) lastUse.set(t, n.id);
  const t1 = performance.now();
  for (const n of g.nodes) {
    const ins = n.inputs.map(val), sh = n.inputs.map((t) => t.shape as number[]);
    const oshape = n.outputs[0]!.shape as number[];
    const size = oshape.reduce((a, b) => a * b, 1);
    let out = new Float64Array(size);
    switch (n.op.name) {
      case "conv2d": {
        const a = n.attrs as { strides: number[]; pads: number[]; dilations: number[]; group: number };
        if (a.group !== 1 || a.dilations.some((d) => d !== 1)) throw new Error("conv attrs");
        const [, ci, hi, wi] = sh[0]!, [co, , kh, kw] = sh[1]!, [, , ho, wo] = oshape;
        const [xv, wv] = [ins[0]!, ins[1]!];
        const [st, pt, pl] = [a.strides[0]!, a.pads[0]!, a.pads[1]!];
        // Zero-padded copy of the input, so the inner loop has no bounds tests.
        const hp = hi! + a.pads[0]! + a.pads[2]!, wp = wi! + a.pads[1]! + a.pads[3]!;
        const xp = new Float64Array(ci! * hp * wp);
        for (let cc = 0; cc < ci!; cc++) for (let y = 0; y < hi!; y++) xp.set(xv.subarray((cc * hi! + y) * wi!, (cc * hi! + y + 1) * wi!), (cc * hp + y + pt) * wp + pl);
        const HO = ho!, WO = wo!, CI = ci!, KH = kh!, KW = kw!;
        for (let o = 0; o < co!; o++) {
          const ob = o * HO * WO;
          if (ins[2]) out.fill(ins[2][o]!, ob, ob + HO * WO);
          for (let cc = 0; cc < CI; cc++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
            const wgt = wv[((o * CI + cc) * KH + ky) * KW + kx]!;
            for (let y = 0; y < HO; y++) {
              const ri = (cc * hp + y * st + ky) * wp + kx, ro = ob + y * WO;
              if (st === 1) for (let xo = 0; xo < WO; xo++) out[ro + xo]! += wgt * xp[ri + xo]!;
              else for (let xo = 0; xo < WO; xo++) out[ro + xo]! += wgt * xp[ri + xo * st]!;
            }
          }
        }
        break;
      }
      case "groupNorm": {
        const a = n.attrs as { groups: number; eps: number };
        const [, ch, h, w] = sh[0]!;
        const plane = h! * w!, cg = ch! / a.groups, len = cg * plane;
        const [xv, sv, bv] = ins as [Float64Array, Float64Array, Float64Array];
        for (let gi = 0; gi < a.groups; gi++) {
          const s0 = gi * len;
          let m = 0; for (let i = 0; i < len; i++) m += xv[s0 + i]!; m /= len;
          let v = 0; for (let i = 0; i < len; i++) v += (xv[s0 + i]! - m) ** 2; v /= len;
          const r = 1 / Math.sqrt(v + a.eps);
          for (let i = 0; i < len; i++) { const cc = gi * cg + Math.floor(i / plane); out[s0 + i] = (xv[s0 + i]! - m) * r * sv[cc]! + bv[cc]!; }
        }
        break;
      }
      case "sigmoid": { const xv = ins[0]!; for (let i = 0; i < size; i++) out[i] = 1 / (1 + Math.exp(-xv[i]!)); break; }
      case "mul": case "add": {
        if (ins[0]!.length !== size || ins[1]!.length !== size) throw new Error(`broadcast in ${n.op.name}`);
        const [p, q] = ins as [Float64Array, Float64Array];
        if (n.op.name === "mul") for (let i = 0; i < size; i++) out[i] = p[i]! * q[i]!;
        else for (let i = 0; i < size; i++) out[i] = p[i]! + q[i]!;
        break;
      }
      default: throw new Error(`no float64 rule for ${n.op.name}`);
    }
    vals.set(n.outputs[0]!, out);
    // Free what no later node needs (keeps memory bounded at 256x256).
    for (const t of n.inputs) if (t.source.kind === "node" && lastUse.get(t) === n.id && t !== z) vals.delete(t);
  }
  ref = vals.get(z)!;
  console.log(`float64 JS reference ${((performance.now() - t1) / 1000).toFixed(0)} s`);
  writeFileSync(refPath, new Uint8Array(ref.buffer));
}
let e = 0, r = 0, signFlips = 0;
for (let i = 0; i < ref.length; i++) { e += (z32[i]! - ref[i]!) ** 2; r += ref[i]! ** 2; if ((z32[i]! > 0) !== (ref[i]! > 0)) signFlips++; }
console.log(`encoder z [${z.shape}] relative L2 error float32 vs float64: ${Math.sqrt(e / r).toExponential(2)}; sign flips ${signFlips} of ${ref.length}`);
