// The page's side of the worker protocol: one promise per request, events (progress, steps)
// delivered to a callback while it runs. A crashed worker rejects everything in flight with a
// message instead of leaving the page waiting.

import type { Reply, Request } from "./protocol.js";

export class WorkerError extends Error {
  constructor(message: string, readonly kind: string) {
    super(message);
    this.name = kind;
  }
}

type Pending = { resolve(v: unknown): void; reject(e: Error): void; onEvent?: (r: Reply) => void };

export class WorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 1;

  constructor(url: URL) {
    this.worker = new Worker(url, { type: "module" });
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const r = e.data, p = this.pending.get(r.id);
      if (!p) return;
      if (r.kind === "result") {
        this.pending.delete(r.id);
        p.resolve(r.value);
      } else if (r.kind === "error") {
        this.pending.delete(r.id);
        p.reject(new WorkerError(r.message, r.name));
      } else p.onEvent?.(r);
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      const err = new WorkerError(`the inference worker failed: ${e.message || "unknown error"}`, "WorkerCrash");
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  /** Sends a request; `transfer` moves buffers (e.g. an uploaded file) instead of copying them. */
  request<T>(request: Request, onEvent?: (r: Reply) => void, transfer: Transferable[] = []): { id: number; done: Promise<T> } {
    const id = this.next++;
    const done = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(onEvent ? { onEvent } : {}) });
    });
    this.worker.postMessage({ id, request }, transfer);
    return { id, done };
  }
}
