// Outpainting: extend a token grid by whole tokens on any side. The generator only sees its own
// G x G grid, so a larger canvas is completed window by window (as MaskGIT extends images): among
// G x G windows at a coarse set of offsets, the one holding the most known tokens that still has
// unknown ones is completed (its known tokens fixed, class as given), written back, and the search
// repeats until nothing is unknown. Every window therefore conditions on as much of the original and
// of the already generated border as it can. Platform-free.

import { HostTensor } from "../../engine/host-tensor.js";
import { FeedError, fmtShape } from "../../engine/errors.js";
import type { CompleteOptions, CompletionResult } from "./edit.js";

export interface OutpaintPadding {
  readonly left?: number;
  readonly right?: number;
  readonly top?: number;
  readonly bottom?: number;
}

export interface OutpaintOptions extends Omit<CompleteOptions, "ids" | "mask" | "onStep" | "tokenizer" | "random"> {
  /** Known ids int64 [B or 1, h, w] (any size of at least the window in the padded canvas). */
  readonly ids: HostTensor;
  readonly pad: OutpaintPadding;
  /** Called after each completed window (its top-left offset in tokens, counting from 0). */
  readonly onWindow?: (w: { readonly index: number; readonly x: number; readonly y: number; readonly unknownLeft: number }) => void | Promise<void>;
}

export interface OutpaintResult {
  /** The padded canvas, int64 [B, h + top + bottom, w + left + right]. */
  readonly ids: HostTensor;
  /** bool [1, H, W]: the tokens that were generated. */
  readonly generated: HostTensor<Uint8Array>;
  readonly windows: number;
  readonly seed?: number;
}

const OP = "outpaint";
/** Largest padding per side, in windows: keeps the number of windows (each a full sampling run) bounded. */
const MAX_PAD_WINDOWS = 4;

/** Offsets of a G-window along an axis of length n: 0, every G/2, and n - G. */
function offsets(n: number, g: number): number[] {
  const step = Math.max(1, Math.floor(g / 2)), out = new Set<number>([0, n - g]);
  for (let p = step; p < n - g; p += step) out.add(p);
  return [...out].sort((a, b) => a - b);
}

/** Extends `o.ids` by `o.pad` tokens and fills the new tokens window by window with `complete`. */
export async function outpaintTokens(complete: (o: CompleteOptions) => Promise<CompletionResult>, grid: number, o: OutpaintOptions): Promise<OutpaintResult> {
  const { left = 0, right = 0, top = 0, bottom = 0 } = o.pad;
  const sides = [left, right, top, bottom];
  if (!sides.every((p) => Number.isInteger(p) && p >= 0 && p <= MAX_PAD_WINDOWS * grid) || sides.every((p) => p === 0)) {
    throw new FeedError({ op: OP, expected: `whole-token padding in [0, ${MAX_PAD_WINDOWS * grid}] per side, not all 0`, got: `left ${left}, right ${right}, top ${top}, bottom ${bottom}` });
  }
  const s = o.ids.shape, batch = o.labels.length;
  if (o.ids.dtype !== "int64" || s.length !== 3 || (s[0] !== 1 && s[0] !== batch) || batch < 1) {
    throw new FeedError({ op: OP, expected: `int64 ids [${batch} or 1, h, w] and at least one label`, got: `${o.ids.dtype}${fmtShape(s)}, ${batch} labels` });
  }
  const h = s[1]!, w = s[2]!, H = h + top + bottom, W = w + left + right;
  if (H < grid || W < grid) throw new FeedError({ op: OP, expected: `a padded canvas of at least ${grid}x${grid} tokens (the generator's window)`, got: `${W}x${H}` });
  const canvas = new BigInt64Array(batch * H * W), known = new Uint8Array(H * W), src = o.ids.data as BigInt64Array;
  for (let b = 0; b < batch; b++) {
    const row = s[0] === 1 ? 0 : b;
    for (let y = 0; y < h; y++) canvas.set(src.subarray((row * h + y) * w, (row * h + y + 1) * w), (b * H + y + top) * W + left);
  }
  for (let y = 0; y < h; y++) known.fill(1, (y + top) * W + left, (y + top) * W + left + w);
  const count = (x0: number, y0: number, value: number) => {
    let n = 0;
    for (let y = y0; y < y0 + grid; y++) for (let x = x0; x < x0 + grid; x++) n += known[y * W + x] === value ? 1 : 0;
    return n;
  };
  const candidates = offsets(H, grid).flatMap((y) => offsets(W, grid).map((x) => ({ x, y })));
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  let windows = 0;
  for (;;) {
    let best: { x: number; y: number; known: number } | undefined;
    for (const c of candidates) {
      const k = count(c.x, c.y, 1);
      if (count(c.x, c.y, 0) > 0 && (!best || k > best.known)) best = { ...c, known: k };
    }
    if (!best) break;
    const { x: x0, y: y0 } = best;
    const ids = new BigInt64Array(batch * grid * grid), mask = new Uint8Array(grid * grid);
    for (let b = 0; b < batch; b++) for (let y = 0; y < grid; y++) ids.set(canvas.subarray((b * H + y0 + y) * W + x0, (b * H + y0 + y) * W + x0 + grid), (b * grid + y) * grid);
    for (let y = 0; y < grid; y++) for (let x = 0; x < grid; x++) mask[y * grid + x] = known[(y0 + y) * W + x0 + x] ? 0 : 1;
    const { pad: _pad, onWindow: _onWindow, ...rest } = o;
    const out = await complete({
      ...rest, ids: new HostTensor("int64", [batch, grid, grid], ids), mask: new HostTensor("bool", [1, grid, grid], mask), seed: seed + windows,
    });
    const got = out.ids.data as BigInt64Array;
    for (let b = 0; b < batch; b++) for (let y = 0; y < grid; y++) canvas.set(got.subarray((b * grid + y) * grid, (b * grid + y + 1) * grid), (b * H + y0 + y) * W + x0);
    for (let y = 0; y < grid; y++) known.fill(1, (y0 + y) * W + x0, (y0 + y) * W + x0 + grid);
    windows++;
    await o.onWindow?.({ index: windows - 1, x: x0, y: y0, unknownLeft: known.reduce((n, v) => n + (v ? 0 : 1), 0) });
  }
  const generated = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) generated[y * W + x] = y >= top && y < top + h && x >= left && x < left + w ? 0 : 1;
  return { ids: new HostTensor("int64", [batch, H, W], canvas), generated: new HostTensor("bool", [1, H, W], generated), windows, seed };
}
