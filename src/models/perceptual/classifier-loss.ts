// Training criterion of the small classifier: label-smoothed cross-entropy on its logits, plus the
// batch accuracy for logging. Smoothing (PyTorch's CrossEntropyLoss(label_smoothing=eps) form:
// (1 - eps) * NLL + eps * mean over classes of -log p) keeps the logits from growing without bound
// on the easy classes, which is what a frozen feature network for a Fréchet distance wants.

import type { Tensor } from "../../engine/graph/tensor.js";
import { add, argMax, cast, equal, gatherElements, logSoftmax, mul, neg, reduceMean, unsqueeze } from "../../engine/ops/index.js";
import { ConfigError, ShapeError } from "../../engine/errors.js";

export interface ClassifierLoss {
  /** Scalar mean loss over the batch. */
  readonly loss: Tensor;
  /** Scalar fraction of the batch whose argmax is the label (no gradient). */
  readonly accuracy: Tensor;
}

/** logits [B, K] float32, labels [B] int64 in [0, K). */
export function classifierLoss(logits: Tensor, labels: Tensor, labelSmoothing = 0): ClassifierLoss {
  const scope = logits.graph.scopePath;
  if (logits.rank !== 2 || labels.rank !== 1 || labels.dtype !== "int64" || logits.shape[0] !== labels.shape[0]) {
    throw new ShapeError({ op: "classifierLoss", scope, expected: "logits [B, K] and int64 labels [B]", got: `${logits} and ${labels}` });
  }
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
    throw new ConfigError({ op: "classifierLoss", scope, expected: "labelSmoothing in [0, 1)", got: `${labelSmoothing}` });
  }
  const logp = logSoftmax(logits, -1);
  const nll = neg(reduceMean(gatherElements(logp, unsqueeze(labels, [-1]), -1)));
  const loss = labelSmoothing === 0 ? nll : add(mul(nll, 1 - labelSmoothing), mul(neg(reduceMean(logp)), labelSmoothing));
  return { loss, accuracy: reduceMean(cast(equal(argMax(logits, -1), labels), "float32")) };
}
