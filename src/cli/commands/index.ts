// Every subcommand, lazily loaded so `maskbit generate` does not import the trainers.

import { registerCommand } from "../main.js";

registerCommand("golden", async () => (await import("./golden.js")).golden);
