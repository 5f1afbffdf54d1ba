// Evaluation math as small graphs run by ONNX Runtime: a graph is built and compiled on first
// use, then reused; the owner releases the session with dispose().

import { Graph, type Tensor } from "../engine/graph/tensor.js";
import type { HostTensor } from "../engine/host-tensor.js";
import { CompiledGraph, type ParamSource, type SessionOptions } from "../engine/runtime/session.js";
import { LazySession } from "../engine/runtime/session-cache.js";

export type GraphBuilder = (g: Graph) => Readonly<Record<string, Tensor>>;

export class LazyGraph {
  private session: LazySession<CompiledGraph>;

  constructor(
    private readonly build: GraphBuilder,
    private readonly opts: SessionOptions = {},
  ) {
    this.session = this.fresh();
  }

  private fresh(): LazySession<CompiledGraph> {
    return new LazySession("LazyGraph", () => {
      const g = new Graph();
      return CompiledGraph.create(g, this.build(g), this.opts);
    });
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, params?: ParamSource): Promise<Record<string, HostTensor>> {
    return (await this.session.get()).run(feeds, params);
  }

  /** Releases the session; a later run compiles again. */
  async dispose(): Promise<void> {
    const old = this.session;
    this.session = this.fresh();
    await old.dispose();
  }
}

/** Builds, runs once and releases a graph. */
export async function runGraphOnce(build: GraphBuilder, feeds: Readonly<Record<string, HostTensor>>, opts: SessionOptions = {}): Promise<Record<string, HostTensor>> {
  const lazy = new LazyGraph(build, opts);
  try {
    return await lazy.run(feeds);
  } finally {
    await lazy.dispose();
  }
}
