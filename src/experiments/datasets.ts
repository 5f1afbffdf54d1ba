// The datasets an experiment can run on: Fashion-MNIST (the Debian package dataset-fashion-mnist)
// and, for the cross-dataset runs, the UCI/scikit-learn handwritten digits that the Debian package
// python3-sklearn installs (see digits.ts).

import { loadFashionMnist, DEFAULT_FASHION_MNIST_DIR } from "../data/fashion-mnist.js";
import { openImageFolder } from "../data/image-folder.js";
import { ConfigError } from "../engine/errors.js";
import { DIGITS_CSV, prepareDigitsFolders } from "./digits.js";
import type { DataChoice } from "./runs.js";

export type DatasetName = "fashion-mnist" | "digits";

export const fashionMnist: DataChoice = {
  name: "fashion-mnist",
  params: { dataset: "fashion-mnist", data_dir: DEFAULT_FASHION_MNIST_DIR },
  fit: "pad",
  test: () => loadFashionMnist({ split: "test" }),
  numClasses: 10,
  classifierInDomain: true,
};

/** Digits: class folders written once under `workDir` from the installed CSV. */
export async function digits(workDir: string, csv = DIGITS_CSV): Promise<DataChoice> {
  const { train, test } = await prepareDigitsFolders(csv, workDir);
  return {
    name: "digits",
    params: { dataset: "image-folder", data_dir: train },
    fit: "resize",
    test: () => openImageFolder(test, { channels: 1, cache: true }),
    numClasses: 10,
    classifierInDomain: false,
  };
}

export async function datasetNamed(name: string, workDir: string, digitsCsv = DIGITS_CSV): Promise<DataChoice> {
  if (name === "fashion-mnist") return fashionMnist;
  if (name === "digits") return digits(workDir, digitsCsv);
  throw new ConfigError({ op: "experiment", scope: "--dataset", expected: '"fashion-mnist" or "digits"', got: JSON.stringify(name) });
}
