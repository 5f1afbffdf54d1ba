// Compile once, run many times: sessions (or anything holding them) keyed by what they were built
// for (entry point, input shape, options). A failed compile is not cached, so a later call can
// retry; dispose() releases every session, and a disposed cache refuses new work by name.

import { FeedError } from "../errors.js";

export interface Disposable {
  dispose(): Promise<void>;
}

export class SessionCache<T extends Disposable> {
  private readonly entries = new Map<string, Promise<T>>();
  private disposed = false;

  /** `owner` names the object in errors ("Tokenizer", "Generator", ...). */
  constructor(private readonly owner: string) {}

  get(key: string, create: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new FeedError({ op: this.owner, expected: `a live ${this.owner.toLowerCase()}`, got: "one that was disposed", hint: "load it again" });
    let entry = this.entries.get(key);
    if (!entry) {
      entry = create();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
    }
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map(async (e) => (await e.catch(() => undefined))?.dispose()));
  }
}

/** One graph compiled on first use (a cache of one), e.g. an evaluation statistic. */
export class LazySession<T extends Disposable> {
  private readonly cache: SessionCache<T>;

  constructor(owner: string, private readonly create: () => Promise<T>) {
    this.cache = new SessionCache(owner);
  }

  get(): Promise<T> {
    return this.cache.get("", this.create);
  }

  dispose(): Promise<void> {
    return this.cache.dispose();
  }
}

/**
 * Sessions with resident weights (compiled with the values of a ParamStore at some revision).
 * When `revision()` moves on, the next get() starts a fresh cache; the stale sessions are
 * released as soon as no hold() is in flight (a run never loses its session under it).
 */
export class ResidentSessionCache<T extends Disposable> {
  private current: SessionCache<T>;
  private builtAt: number;
  private retired: SessionCache<T>[] = [];
  private busy = 0;

  constructor(private readonly owner: string, private readonly revision: () => number) {
    this.current = new SessionCache(owner);
    this.builtAt = revision();
  }

  get(key: string, create: () => Promise<T>): Promise<T> {
    this.sync();
    return this.current.get(key, create);
  }

  /** Retires the sessions if the weights moved on (get() does this; call it to free them earlier). */
  sync(): void {
    if (this.current.isDisposed || this.revision() === this.builtAt) return;
    this.retired.push(this.current);
    this.current = new SessionCache(this.owner);
    this.builtAt = this.revision();
    if (this.busy === 0) void this.releaseRetired();
  }

  /** Runs `fn` (which uses sessions from get()) with stale sessions kept alive until it settles. */
  async hold<R>(fn: () => Promise<R>): Promise<R> {
    this.busy++;
    try {
      return await fn();
    } finally {
      if (--this.busy === 0) await this.releaseRetired();
    }
  }

  /** Live sessions (the current revision's). */
  get size(): number {
    return this.current.size;
  }

  /** Stale sessions still held by a run in flight. */
  get retiredCount(): number {
    return this.retired.length;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.current.dispose(), this.releaseRetired()]);
  }

  private async releaseRetired(): Promise<void> {
    const old = this.retired;
    this.retired = [];
    await Promise.all(old.map((c) => c.dispose()));
  }
}
