// The models that ship inside the package: the one table of their files, which the loaders
// (models/model-source.ts), the Node platform, the CLI defaults and the web app's site build read.

/** The models that ship inside the package, by name, as files under its models/ folder. */
export const SHIPPED_MODELS = {
  fmnist: {
    tokenizer: "fmnist/tokenizer.safetensors",
    generator: "fmnist/generator.safetensors",
    classifier: "fmnist-classifier/classifier.safetensors",
  },
} as const;

export type ShippedModelName = keyof typeof SHIPPED_MODELS;
export type ShippedModelPart = keyof (typeof SHIPPED_MODELS)[ShippedModelName];

