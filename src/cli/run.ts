// Entry point for running the CLI from source (`tsx src/cli/run.ts <command>`), as npm scripts do.
import { runCli } from "./main.js";

process.exitCode = await runCli(process.argv.slice(2));
