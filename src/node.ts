// The Node entry point ("maskbit" under Node): onnxruntime-node, node:fs, sharp for non-PNG
// images and the shipped models beside the package, then the platform-free API.

import "./node/platform.js";

export * from "./index.js";
export { SHIPPED_MODELS_DIR } from "./node/platform.js";
