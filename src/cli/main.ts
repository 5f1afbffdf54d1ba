// The maskbit command line: dispatch over the table of subcommands in commands/index.ts, and the
// one place errors become messages and exit codes (errors.ts).
import "../node/platform.js";

import { COMMANDS } from "./commands/index.js";
import { EXIT, EXIT_CODES_HELP, debugEnabled, reportError } from "./errors.js";

export type { Command } from "./command.js";

function help(): string {
  const names = Object.keys(COMMANDS).sort();
  return [
    "usage: maskbit <command> [options] [--verbose]",
    "",
    "commands:",
    ...names.map((n) => `  ${n}`),
    "",
    "run `maskbit <command> --help` for a command's options",
    "outputs: an existing output file is refused unless --force; inputs and shipped models are never overwritten",
    "",
    ...EXIT_CODES_HELP,
  ].join("\n");
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const debug = debugEnabled(argv);
  const [name, ...rest] = argv.filter((a) => a !== "--verbose");
  if (!name || name === "--help" || name === "-h") {
    console.log(help());
    return name ? EXIT.ok : EXIT.usage;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`maskbit: expected a command, one of [${Object.keys(COMMANDS).sort().join(", ")}], got "${name}" (hint: maskbit --help)`);
    return EXIT.usage;
  }
  const command = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`${command.summary}\n\nusage: ${command.usage}\n\nexit codes: 0 ok, 2 usage, 3 input, 4 runtime (disk, permissions), 130 interrupted; see maskbit --help`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const { code, message } = reportError(name, e);
    console.error(message);
    if (debug && e instanceof Error && e.stack) console.error(e.stack);
    return code;
  }
}
