// Which python runs the PyTorch side of the benchmarks: the project's .venv-bench if present, else
// python3, whichever can import torch. The project itself never needs Python.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The venv's python if present, else python3; undefined when torch cannot be imported. */
export function findTorchPython(root: string): string | undefined {
  for (const py of [join(root, ".venv-bench/bin/python"), "python3"]) {
    if (py.includes("/") && !existsSync(py)) continue;
    if (spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return py;
  }
  return undefined;
}
