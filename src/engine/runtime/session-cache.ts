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
    if (entry) this.entries.delete(key); // re-inserted last: Map order is then least recently used first
    else {
      entry = create();
      const created = entry;
      entry.catch(() => this.entries.get(key) === created && this.entries.delete(key));
    }
    this.entries.set(key, entry);
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Keys from least to most recently used (get() moves a key to the end). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Removes one entry without releasing it: the caller now owns the session. */
  take(key: string): Promise<T> | undefined {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    return entry;
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

/** Sessions a model keeps per cache by default (e.g. encode and decode at two shapes each). */
export const DEFAULT_MAX_SESSIONS = 4;

/**
 * Sessions with resident weights (compiled with the values of a ParamStore at some revision), at
 * most `maxSessions` of them (least recently used go first: every session holds its own weights
 * and memory arena). When `revision()` moves on, the next get() starts a fresh cache. Stale and
 * evicted sessions are released as soon as no hold() is in flight (a run never loses its session).
 */
export class ResidentSessionCache<T extends Disposable> {
  private current: SessionCache<T>;
  private builtAt: number;
  private retired: Promise<T>[] = [];
  private busy = 0;

  constructor(private readonly owner: string, private readonly revision: () => number, private readonly maxSessions = DEFAULT_MAX_SESSIONS) {
    this.current = new SessionCache(owner);
    this.builtAt = revision();
  }

  get(key: string, create: () => Promise<T>): Promise<T> {
    this.sync();
    const entry = this.current.get(key, create);
    const keys = this.current.keys();
    for (const old of keys.slice(0, Math.max(0, keys.length - Math.max(1, this.maxSessions)))) this.retired.push(this.current.take(old)!);
    if (this.busy === 0 && this.retired.length) void this.releaseRetired();
    return entry;
  }

  /** Retires the sessions if the weights moved on (get() does this; call it to free them earlier). */
  sync(): void {
    if (this.current.isDisposed || this.revision() === this.builtAt) return;
    for (const key of this.current.keys()) this.retired.push(this.current.take(key)!);
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
    await Promise.all(old.map(async (e) => (await e.catch(() => undefined))?.dispose()));
  }
}
