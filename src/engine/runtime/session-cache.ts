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
