// The CLI's one error path: every failure becomes one or two lines (what was expected, what was
// found, a hint) and a stable exit code per kind, so scripts can tell a typo from a bad file from
// a full disk. The stack is printed only with MASKBIT_DEBUG=1 or --verbose.

import { ConfigError, MaskbitError, isSystemError } from "../engine/errors.js";

/** Exit codes; documented in `maskbit --help` and the README. */
export const EXIT = {
  ok: 0,
  /** An unexpected internal error (a bug): the message and a request to report it. */
  internal: 1,
  /** Bad command line: unknown command or option, malformed value, refused output path. */
  usage: 2,
  /** Bad input: an unreadable or mismatched model, image, dataset, checkpoint or recipe. */
  input: 3,
  /** The system failed the run: disk full, permission denied, I/O error. */
  runtime: 4,
  /** Stopped by Ctrl-C (SIGINT). */
  interrupted: 130,
} as const;

export const EXIT_CODES_HELP = [
  "exit codes:",
  "  0    success",
  "  1    internal error (a bug; rerun with MASKBIT_DEBUG=1 and report the stack)",
  "  2    usage: unknown command or option, malformed value, refused output path (see --force)",
  "  3    input: unreadable, corrupt or mismatched model, image, data, checkpoint or recipe",
  "  4    runtime: disk full, permission denied or another I/O failure",
  "  130  interrupted (Ctrl-C); training runs save a checkpoint first and say how to --resume",
  "",
  "MASKBIT_DEBUG=1 or --verbose prints the stack trace of an error.",
];

/** A command-line mistake (exit 2): the user fixes the command, not a file. */
export class UsageError extends ConfigError {}

/** A run stopped by SIGINT after cleaning up (exit 130). */
export class InterruptedError extends MaskbitError {}

/** System errors that mean "the machine could not do it" rather than "the input is wrong". */
const RUNTIME_CODES = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "EIO", "EMFILE", "ENFILE", "EBUSY", "ENOMEM"]);

const SYSTEM_TEXT: Readonly<Record<string, { expected: string; got: string; hint: string }>> = {
  ENOENT: { expected: "an existing file or directory", got: "nothing there", hint: "check the path (relative paths start at the current directory)" },
  EISDIR: { expected: "a file", got: "a directory", hint: "name a file inside it" },
  ENOTDIR: { expected: "a path through directories", got: "a file where a directory should be", hint: "check every component of the path" },
  ENOSPC: { expected: "free space on the device", got: "disk full", hint: "free some space or write elsewhere; nothing partial was left in place of the file" },
  EDQUOT: { expected: "free space within the quota", got: "quota exceeded", hint: "free some space or write elsewhere" },
  EACCES: { expected: "permission to access the path", got: "permission denied", hint: "check the file and directory permissions, or write elsewhere" },
  EPERM: { expected: "permission for the operation", got: "operation not permitted", hint: "check the file and directory permissions" },
  EROFS: { expected: "a writable file system", got: "a read-only file system", hint: "write elsewhere" },
  EEXIST: { expected: "a path that does not exist yet", got: "an existing file", hint: "choose another path" },
  EIO: { expected: "a working device", got: "an I/O error", hint: "check the disk" },
};


/** An errno code inside a message (errors that wrapped a system error as text, e.g. writeSafetensors). */
function embeddedCode(message: string): string | undefined {
  return /\b(E[A-Z]{2,})\b:/.exec(message)?.[1];
}

/** At most `max` lines of a (possibly multi-line) message, with a count of the rest. */
function clip(text: string, max: number): string {
  const lines = text.split("\n");
  return lines.length <= max ? text : [...lines.slice(0, max), `  ... and ${lines.length - max} more line(s) (MASKBIT_DEBUG=1 shows everything)`].join("\n");
}

export interface Reported {
  readonly code: number;
  readonly message: string;
}

/** The message and exit code for anything a command threw. */
export function reportError(command: string, e: unknown): Reported {
  const prefix = `maskbit ${command}`;
  const withPrefix = (m: string) => (m.startsWith("maskbit ") ? m : `${prefix}: ${m}`);
  if (e instanceof InterruptedError) return { code: EXIT.interrupted, message: withPrefix(e.message) };
  if (e instanceof UsageError) return { code: EXIT.usage, message: withPrefix(clip(e.message, 6)) };
  if (e instanceof MaskbitError) {
    const sys = embeddedCode(e.message);
    return { code: sys && RUNTIME_CODES.has(sys) ? EXIT.runtime : EXIT.input, message: withPrefix(clip(e.message, 6)) };
  }
  if (isSystemError(e)) {
    const known = SYSTEM_TEXT[e.code];
    const path = e.path ?? "(unknown path)";
    const what = e.syscall ? `${e.syscall} ${path}` : path;
    const text = known
      ? `${what}: expected ${known.expected}, got ${known.got} (${e.code}) (hint: ${known.hint})`
      : `${what}: ${e.message}`;
    const code = RUNTIME_CODES.has(e.code) ? EXIT.runtime : EXIT.input;
    return { code, message: `${prefix}: ${text}` };
  }
  // Parsers of third-party formats (YAML, JSON) that were not wrapped: still bad input, not a bug.
  if (e instanceof Error && (e.name === "YAMLException" || e instanceof SyntaxError)) {
    return { code: EXIT.input, message: `${prefix}: expected well-formed input, got ${e.name}: ${clip(e.message, 2)}` };
  }
  if (e instanceof Error && e.name === "AbortError") return { code: EXIT.interrupted, message: `${prefix}: ${e.message}` };
  if (e instanceof RangeError && /Array buffer allocation failed|Invalid typed array length|Invalid array length/.test(e.message)) {
    return { code: EXIT.runtime, message: `${prefix}: expected enough memory for the request, got "${e.message}" (hint: use a smaller --batch, -n or --size)` };
  }
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { code: EXIT.internal, message: `${prefix}: internal error: ${clip(text, 2)} (hint: rerun with MASKBIT_DEBUG=1 and report the stack)` };
}

export function debugEnabled(argv: readonly string[]): boolean {
  const env = process.env.MASKBIT_DEBUG;
  return (env !== undefined && env !== "" && env !== "0") || argv.includes("--verbose");
}
