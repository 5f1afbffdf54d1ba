// The op registry: importing this module defines every primitive. Models import from here.

export * from "./binary.js";
export * from "./unary.js";
export * from "./compare.js";
export * from "./cast.js";
export * from "./reduce.js";
export * from "./shape-ops.js";
export * from "./matmul.js";
export * from "./conv.js";
export * from "./norm.js";
export * from "./activation.js";
export * from "./gather.js";
export * from "./upsample.js";
export * from "./pool.js";
export * from "./select.js";
export * from "./random.js";
export * from "./reduced-matmul.js";
export { registeredOps, type OpDef } from "./define-op.js";
export type { Operand } from "./operand.js";
