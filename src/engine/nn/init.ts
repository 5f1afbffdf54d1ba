// PyTorch's default initialisations, as Init recipes for Graph.param.

import type { Init } from "../graph/tensor.js";

/** nn.Conv2d / nn.Linear default: kaiming_uniform(a=sqrt 5) -> U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias likewise. */
export const torchDefault = (fanIn: number): Init => ({ kind: "uniform", bound: 1 / Math.sqrt(fanIn) });
export const ones: Init = { kind: "constant", value: 1 };
export const zeros: Init = { kind: "constant", value: 0 };
/** trunc_normal_(std) with PyTorch's default absolute cut at +-2. */
export const truncNormal = (std: number): Init => ({ kind: "normal", std, truncate: 2 });
