// Ctrl-C during training: the first SIGINT lets the current step finish, writes a checkpoint and
// ends the run with a message saying how to resume; a second SIGINT exits at once (exit 130; the
// previous checkpoint is intact because every write is atomic).

import { EXIT } from "./errors.js";

export interface Interrupt {
  readonly signal: AbortSignal;
  /** Removes the handlers (call when the run ends). */
  release(): void;
}

export function interruptOnSigint(what: string): Interrupt {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${what}: second interrupt, exiting now (the last complete checkpoint is intact; --resume continues from it)\n`);
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(`\n${what}: interrupt received; finishing the current step and writing a checkpoint (Ctrl-C again to exit at once)\n`);
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, release: () => void process.off("SIGINT", onSigint) };
}

/** The command line that continues a run: the same arguments plus --resume. */
export function resumeCommand(command: string, argv: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  return ["maskbit", command, ...argv.filter((a) => a !== "--resume"), "--resume"].map(quote).join(" ");
}
