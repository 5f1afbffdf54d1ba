// The maskbit command line: dispatch over the table of subcommands in commands/index.ts.
import "../node/platform.js";

import { MaskbitError } from "../engine/errors.js";
import { COMMANDS } from "./commands/index.js";

export type { Command } from "./command.js";

function help(): string {
  const names = Object.keys(COMMANDS).sort();
  return [
    "usage: maskbit <command> [options]",
    "",
    "commands:",
    ...names.map((n) => `  ${n}`),
    "",
    "run `maskbit <command> --help` for a command's options",
  ].join("\n");
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(help());
    return name ? 0 : 1;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`maskbit: unknown command "${name}". Must be one of [${Object.keys(COMMANDS).sort().join(", ")}].`);
    return 2;
  }
  const command = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`${command.summary}\n\nusage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof MaskbitError || (e instanceof Error && e.name === "AbortError")) {
      console.error(e.message.startsWith(`maskbit ${name}`) ? e.message : `maskbit ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
