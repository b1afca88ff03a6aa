// Builds the web UI into dist/: app.js (src/main.jsx and everything it
// imports, Preact included), app.css (the CSS it imports) and index.html.
// index.html names both files with a content hash in the query string, so
// a browser never pairs a new page with a cached old bundle (kore's
// filemap sends no cache headers of its own).
//
//   node build.mjs        one minified build (what `make` runs)
//   node build.mjs --dev  unminified, with inline source maps
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import * as esbuild from "esbuild";

// The quality bar: the first load stays under 200 KB of JavaScript.
const JS_BUDGET = 200 * 1024;
const dev = process.argv.includes("--dev");

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });
await esbuild.build({
  entryPoints: { app: "src/main.jsx" },
  outdir: "dist",
  bundle: true,
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  jsx: "automatic",
  jsxImportSource: "preact",
  // Browsers of the last few years; nothing needs transpiling further.
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  legalComments: "eof",
  logLevel: "warning",
});

const hash = (buf) => createHash("sha256").update(buf).digest("hex").slice(0, 12);
const js = await readFile("dist/app.js");
const css = await readFile("dist/app.css");
if (js.length > JS_BUDGET) {
  console.error(`dist/app.js is ${js.length} bytes, over the ${JS_BUDGET} byte budget`);
  process.exit(1);
}
const html = (await readFile("index.html", "utf8"))
  .replace("__APP_JS__", `/app.js?v=${hash(js)}`)
  .replace("__APP_CSS__", `/app.css?v=${hash(css)}`);
await writeFile("dist/index.html", html);
console.log(`assets/dist: app.js ${js.length} B, app.css ${css.length} B`);
