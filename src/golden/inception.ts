// Golden kind "inception": the FID Inception-v3 with the case's formula weights on its uint8
// images, in the dtype the reference ran in (config.internal_dtype; float64 for inception_fid,
// whose tolerance is sized for it): the resized network input of image 0, the intermediate feature
// means, the 2048-d FID feature and both logit vectors.

import { HostTensor } from "../engine/host-tensor.js";
import { ConfigError } from "../engine/errors.js";
import { formulaWeights, type GoldenCase } from "../io/golden.js";
import { InceptionExtractor, INCEPTION_OUTPUTS, type InceptionOutput } from "../eval/inception.js";
import { inceptionWeightsFrom } from "../eval/inception-weights.js";
import { checkOutputs, type Check } from "./report.js";

/** Fixture tensor names of the extractor's outputs ("resized" is compared for image 0 only). */
export const INCEPTION_GOLDEN_NAMES: Readonly<Record<InceptionOutput, string>> = {
  resized: "resized_299_0", feat64: "feat_64", feat192: "feat_192", feat768: "feat_768",
  pool2048: "pool_2048", logitsUnbiased: "logits_unbiased", logits: "logits",
};

function firstImage(t: HostTensor): HostTensor {
  const per = t.size / t.shape[0]!;
  return new HostTensor(t.dtype, t.shape.slice(1), t.data.slice(0, per));
}

export async function runInceptionCase(c: GoldenCase): Promise<Check[]> {
  const dtype = c.config.internal_dtype ?? "float64";
  if (dtype !== "float64" && dtype !== "float32") {
    throw new ConfigError({ op: "golden inception", scope: `${c.name} config.internal_dtype`, expected: '"float64" or "float32"', got: JSON.stringify(dtype) });
  }
  const images = c.tensors.get("images_u8");
  if (!images || images.dtype !== "uint8" || images.shape.length !== 4) {
    throw new ConfigError({ op: "golden inception", scope: c.name, expected: "uint8 images_u8 [B, 3, H, W]", got: images ? `${images.dtype}[${images.shape.join(", ")}]` : "nothing" });
  }
  const weights = inceptionWeightsFrom(formulaWeights(c.raw), `${c.name} formula weights`);
  const ex = await InceptionExtractor.create(weights, { dtype, height: images.shape[2]!, width: images.shape[3]!, input: "uint8", outputs: INCEPTION_OUTPUTS });
  let out: Partial<Record<InceptionOutput, HostTensor>>;
  try {
    out = await ex.run(images);
  } finally {
    await ex.dispose();
  }
  const got: Record<string, HostTensor> = {};
  for (const k of INCEPTION_OUTPUTS) {
    const t = out[k];
    if (t) got[INCEPTION_GOLDEN_NAMES[k]] = k === "resized" ? firstImage(t) : t;
  }
  const checks = checkOutputs(c, Object.fromEntries(Object.entries(got).filter(([k]) => c.outputs.includes(k))));
  const missing = c.outputs.filter((n) => !(n in got)).map((n): Check => ({ tensor: n, ok: false, worst: Infinity, detail: "not produced by maskbit" }));
  return [...checks, ...missing];
}
