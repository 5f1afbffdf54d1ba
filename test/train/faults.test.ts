// Training faults (issue 12): a real SIGKILL during a checkpoint write, a real full disk (a 2 MB
// tmpfs), orphaned temporary files, a corrupt latest.json, a corrupt checkpoint (content hash).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runTraining, RunIoError, type LoopOptions } from "../../src/train/loop.js";
import { CheckpointError } from "../../src/engine/errors.js";
import { ArrayTrainer, EXPERIMENT, RECIPE } from "./fixtures/array-trainer.js";
import { tempDir } from "./helpers.js";

const opts = (out: string, extra: Partial<LoopOptions> = {}): LoopOptions => ({ out, recipe: RECIPE, experiment: EXPERIMENT, resume: false, progress: false, log: () => {}, ...extra });
/** w[k] after `steps` steps from zero: 1 + 2 + ... + steps. */
const sumTo = (steps: number) => (steps * (steps + 1)) / 2;

test("checkpoints: orphaned temps removed, a corrupt latest.json falls back to the newest intact checkpoint, a corrupt checkpoint is named", async () => {
  const out = tempDir("faults-ckpt");
  await runTraining(new ArrayTrainer(4, 64), opts(out, { stopAfter: 3 }));
  writeFileSync(join(out, ".checkpoint-00000004.safetensors.123.abcd.tmp"), "half a file");
  writeFileSync(join(out, "latest.json"), '{"step": 3, "fi');
  const notes: string[] = [];
  const t = new ArrayTrainer(4, 64);
  const r = await runTraining(t, opts(out, { resume: true, log: (l) => notes.push(l) }));
  assert.equal(r.resumedFrom, 3);
  assert.equal(t.w[0], sumTo(4));
  assert.ok(notes.some((n) => /removed 1 temporary file/.test(n)), notes.join("\n"));
  assert.ok(notes.some((n) => /latest\.json is unreadable .*resuming from the newest intact checkpoint checkpoint-00000003/.test(n)), notes.join("\n"));
  assert.ok(!readdirSync(out).some((f) => f.endsWith(".tmp")));

  // Flip one byte of the newest checkpoint's data: the hash names it, and the older intact one.
  const newest = join(out, "checkpoint-00000004.safetensors");
  const bytes = readFileSync(newest);
  bytes[bytes.length - 9]! ^= 0x40;
  writeFileSync(newest, bytes);
  const err = await runTraining(new ArrayTrainer(6, 64), opts(out, { resume: true, recipe: RECIPE })).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof CheckpointError, String(err));
  assert.match(err.message, /checkpoint-00000004\.safetensors.*SHA-256.*corrupt.*checkpoint-00000003\.safetensors is intact/s);
});

test("a real SIGKILL while a checkpoint is being written: the run resumes exactly from an intact checkpoint", async () => {
  const out = tempDir("faults-kill");
  // 2M floats = 8 MB per checkpoint, written every step: the kill lands inside a write.
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "fixtures/array-trainer.ts"), out, String(2 ** 21), "400"], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  let sawTemp = false;
  for (let i = 0; i < 20000 && child.exitCode === null; i++) {
    const names = existsSync(out) ? readdirSync(out) : [];
    if (names.some((n) => /^\.checkpoint-.*\.tmp$/.test(n)) && names.includes("latest.json")) {
      child.kill("SIGKILL");
      sawTemp = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await exited;
  assert.ok(sawTemp, "killed during a checkpoint write");
  const notes: string[] = [];
  const t = new ArrayTrainer(400, 2 ** 21);
  const r = await runTraining(t, opts(out, { resume: true, stopAfter: 0, log: (l) => notes.push(l) }));
  assert.ok(r.resumedFrom !== null && r.resumedFrom > 0);
  assert.ok(notes.some((n) => /removed \d+ temporary file/.test(n)), notes.join("\n"));
  // The restored weights are exactly those of the checkpoint's step.
  assert.equal(t.w[0], sumTo(r.resumedFrom!));
  assert.equal(t.w[t.w.length - 1], sumTo(r.resumedFrom!));
});

const MNT = "/tmp/maskbit-full-disk";
function mountSmall(): boolean {
  mkdirSync(MNT, { recursive: true });
  return spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", MNT]).status === 0;
}

test("a real full disk (2 MB tmpfs): the run stops with exit-4 class error naming the last checkpoint, which stays usable; the CLI refuses cleanly", async (t) => {
  if (!mountSmall()) {
    // Needs root and mount(2) (CI runs as root); without them there is no real full disk to test.
    t.diagnostic("mount -t tmpfs is not permitted here; the disk-full test cannot run");
    rmSync(MNT, { recursive: true, force: true });
    assert.notEqual(process.getuid?.(), 0, "root must be able to mount a tmpfs");
    return;
  }
  try {
    const out = join(MNT, "run");
    // 300k floats = 1.2 MB per checkpoint: step 1 fits, step 2 does not.
    const err = await runTraining(new ArrayTrainer(10, 300_000), opts(out)).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RunIoError, String(err));
    assert.match(err.message, /ENOSPC.*last complete checkpoint is .*checkpoint-0000000[12]\.safetensors.*--resume/s);
    assert.ok(!readdirSync(out).some((f) => f.endsWith(".tmp")), "no temporary file left behind");
    const latest = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { step: number };
    const tr = new ArrayTrainer(10, 300_000);
    const r = await runTraining(tr, opts(out, { resume: true, stopAfter: 0 }));
    assert.equal(r.resumedFrom, latest.step);
    assert.equal(tr.w[0], sumTo(latest.step));

    // The CLI on the same full disk: exit 4 and one line, nothing partial at the output path.
    const { runCli } = await import("../../src/cli/main.js");
    const lines: string[] = [];
    const original = console.error;
    console.error = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
    // Fill what is left of the disk.
    try {
      for (let i = 0; i < 64; i++) writeFileSync(join(MNT, `filler-${i}`), new Uint8Array(64 * 1024));
    } catch (e) {
      assert.equal((e as { code?: string }).code, "ENOSPC");
    }
    let code: number;
    try {
      code = await runCli(["generate", "--class", "1", "-n", "2", "--steps", "2", "--quiet", "--threads", "1", "--seed", "1", "--out", join(MNT, "samples.png")]);
    } finally {
      console.error = original;
    }
    assert.equal(code, 4, lines.join("\n"));
    assert.match(lines.join("\n"), /ENOSPC|disk full/);
    assert.ok(!existsSync(join(MNT, "samples.png")));
  } finally {
    spawnSync("umount", [MNT]);
    rmSync(MNT, { recursive: true, force: true });
  }
});
