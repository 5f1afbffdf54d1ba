// A small static file server for the built app: localhost only, with the cross-origin isolation
// headers (COOP same-origin, COEP require-corp) that SharedArrayBuffer, and so onnxruntime-web's
// wasm threads, need. Paths are confined to the site folder.

import { createServer, type Server } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".json": "application/json",
  ".yaml": "text/yaml; charset=utf-8",
  ".safetensors": "application/octet-stream",
  ".bin": "application/octet-stream",
};

export const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
} as const;

export interface StaticServer {
  readonly url: string;
  readonly port: number;
  /** Bytes sent per path since start (what a browser transferred; no compression is applied). */
  readonly sent: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1; the server is for local use only. */
  readonly host?: string;
}

/** Serves `dir` until close(). */
export function serveStatic(dir: string, o: ServeOptions = {}): Promise<StaticServer> {
  const root = resolve(dir);
  const sent = new Map<string, number>();
  const host = o.host ?? "127.0.0.1";
  const server: Server = createServer((req, res) => {
    const headers: Record<string, string> = { ...ISOLATION_HEADERS, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff" };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, headers).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(root, path));
    if (!(file === root || file.startsWith(root + sep)) || path.includes("\0")) {
      res.writeHead(403, headers).end();
      return;
    }
    const size = regularFileSize(file);
    if (size === undefined) {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": String(size) });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    sent.set(path, (sent.get(path) ?? 0) + size);
    createReadStream(file).on("error", () => res.destroy()).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, host, () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      resolvePromise({
        url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/`,
        port,
        sent,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}

/** The size of a regular file, or undefined for anything missing, unreadable or not a file. */
function regularFileSize(file: string): number | undefined {
  try {
    const st = statSync(file);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}
