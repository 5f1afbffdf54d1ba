// `maskbit web`: builds the browser app and serves it on localhost with the headers its wasm
// threads need, or (--build <dir>) writes the static site for any static host.

import type { Command } from "../command.js";
import { intOption, parseCommand } from "../args.js";
import { buildSite } from "../web/site.js";
import { serveStatic } from "../web/server.js";
import { UsageError } from "../errors.js";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const OPTIONS = {
  build: { type: "string" },
  port: { type: "string" },
  host: { type: "string", default: "127.0.0.1" },
} as const;

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

export const web: Command = {
  summary: "Build the browser app and serve it locally (or write the static site with --build <dir>).",
  usage: "maskbit web [--port <n>] [--host 127.0.0.1] | maskbit web --build <dir>",
  async run(argv) {
    const { values, positionals } = parseCommand("web", argv, OPTIONS);
    if (positionals.length) throw new UsageError({ op: "maskbit web", expected: "no positional arguments", got: positionals.join(" ") });
    if (values.build !== undefined) {
      const files = await buildSite(values.build);
      const total = files.reduce((s, f) => s + f.bytes, 0);
      console.log(`wrote ${values.build}: ${files.length} files, ${(total / 1e6).toFixed(1)} MB (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp for wasm threads)`);
      return 0;
    }
    if (!LOCAL_HOSTS.has(values.host)) throw new UsageError({ op: "maskbit web", scope: "--host", expected: "a local address (127.0.0.1, localhost, ::1)", got: values.host, hint: "use --build <dir> and a real web server to publish the app" });
    const port = intOption("web", "port", values.port, 8080);
    const dir = join(tmpdir(), `maskbit-web-${process.pid}`);
    await buildSite(dir);
    const server = await serveStatic(dir, { port, host: values.host });
    console.log(`maskbit web app: ${server.url}  (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    return 0;
  },
};
