// `tsx web/build.ts [outDir]` (default web/dist): writes the static site, as `maskbit web --build`.
import { buildSite } from "../src/cli/web/site.js";

const out = process.argv[2] ?? "web/dist";
const files = await buildSite(out);
for (const f of files) console.log(`${String(f.bytes).padStart(10)}  ${f.path}`);
console.log(`wrote ${out}: ${files.length} files, ${(files.reduce((s, f) => s + f.bytes, 0) / 1e6).toFixed(1)} MB`);
