// Every subcommand, lazily loaded so `maskbit generate` does not import the trainers.

import { registerCommand } from "../main.js";

registerCommand("golden", async () => (await import("./golden.js")).golden);
registerCommand("tokenize", async () => (await import("./tokenize.js")).tokenize);
registerCommand("reconstruct", async () => (await import("./reconstruct.js")).reconstruct);
