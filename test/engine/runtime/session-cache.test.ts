import { test } from "node:test";
import assert from "node:assert/strict";
import { FeedError } from "../../../src/engine/errors.js";
import { LazySession, ResidentSessionCache, SessionCache } from "../../../src/engine/runtime/session-cache.js";

/** A stand-in session that records whether it was released. */
class Fake {
  disposed = false;
  constructor(readonly id: number) {}
  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

test("SessionCache: one create per key, a failed create is retried, dispose releases all and refuses new work", async () => {
  let made = 0;
  const cache = new SessionCache<Fake>("Thing");
  const a = await cache.get("a", async () => new Fake(made++));
  assert.equal(await cache.get("a", async () => new Fake(made++)), a);
  await assert.rejects(cache.get("b", async () => { throw new Error("compile failed"); }));
  const b = await cache.get("b", async () => new Fake(made++));
  assert.equal(cache.size, 2);
  await cache.dispose();
  assert.ok(a.disposed && b.disposed);
  assert.throws(() => cache.get("a", async () => new Fake(made++)), (e: unknown) => e instanceof FeedError && e.op === "Thing");
  const lazy = new LazySession("Lazy", async () => new Fake(made++));
  const l = await lazy.get();
  assert.equal(await lazy.get(), l);
  await lazy.dispose();
  assert.ok(l.disposed);
});

test("ResidentSessionCache: a new revision recompiles; stale sessions live until the hold using them settles", async () => {
  let revision = 0, made = 0;
  const cache = new ResidentSessionCache<Fake>("Model", () => revision, 4);
  const create = async () => new Fake(made++);
  const first = await cache.get("k", create);
  assert.equal(await cache.get("k", create), first, "same revision: cached");

  let finish!: () => void;
  const gate = new Promise<void>((r) => (finish = r));
  const running = cache.hold(async () => {
    const s = await cache.get("k", create);
    await gate;
    return s;
  });
  await new Promise((r) => setImmediate(r));
  revision = 1;
  const second = await cache.get("k", create);
  assert.notEqual(second, first);
  assert.equal(first.disposed, false, "a run in flight keeps its session");
  assert.equal(cache.retiredCount, 1);
  finish();
  assert.equal(await running, first);
  assert.equal(first.disposed, true, "released once the run settled");
  assert.equal(cache.retiredCount, 0);

  revision = 2;
  cache.sync();
  await new Promise((r) => setImmediate(r));
  assert.equal(second.disposed, true, "nothing in flight: released at once");
  assert.equal(cache.size, 0);
  const third = await cache.get("k", create);
  await cache.dispose();
  assert.ok(third.disposed);
});

test("ResidentSessionCache: beyond maxSessions the least recently used session is released, not one in use", async () => {
  let made = 0;
  const cache = new ResidentSessionCache<Fake>("Model", () => 0, 2);
  const create = async () => new Fake(made++);
  const a = await cache.get("a", create);
  const b = await cache.get("b", create);
  assert.equal(await cache.get("a", create), a, "a is now the most recently used");
  let finish!: () => void;
  const gate = new Promise<void>((r) => (finish = r));
  const running = cache.hold(async () => {
    await cache.get("c", create);
    await gate;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(b.disposed, false, "evicted while a hold is in flight: kept until it settles");
  assert.equal(cache.size, 2);
  finish();
  await running;
  assert.equal(b.disposed, true);
  assert.equal(a.disposed, false);
  await cache.dispose();
  assert.ok(a.disposed);
});
