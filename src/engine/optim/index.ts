// Optimisation: AdamW + clipping + EMA compiled into the training step, and the scalar schedules.
export * from "./adamw.js";
export * from "./schedule.js";
export * from "./train-step.js";
