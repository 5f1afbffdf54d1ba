// Layers: parameters declared under PyTorch's state-dict names, forward as composed ops.

export * from "./init.js";
export * from "./context.js";
export * from "./conv.js";
export * from "./linear.js";
export * from "./norm.js";
export * from "./dropout.js";
export * from "./attention.js";
export * from "./resize.js";
export * from "./pool.js";
export * from "./batch-norm.js";
