// build.mjs bundles the dashboard into ../../internal/web/dist, which hepd
// embeds: app.js (src/main.ts and everything it imports), app.css and
// index.html. The output is minified and deterministic (the same sources
// give the same bytes), so CI can rebuild and fail when the committed
// files are stale. No inline script or style: hepd's CSP forbids both.
import { build } from "esbuild";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "internal", "web", "dist");

const common = {
  bundle: true,
  minify: true,
  legalComments: "none",
  charset: "utf8",
  sourcemap: false,
  logLevel: "warning",
  absWorkingDir: here,
};

await mkdir(out, { recursive: true });
// Only what this script writes lives in dist.
for (const f of await readdir(out)) {
  if (!["app.js", "app.css", "index.html"].includes(f)) await rm(join(out, f), { recursive: true });
}

await build({
  ...common,
  entryPoints: ["src/main.ts"],
  outfile: join(out, "app.js"),
  format: "esm",
  target: ["es2022"],
  platform: "browser",
});
await build({
  ...common,
  entryPoints: ["src/app.css"],
  outfile: join(out, "app.css"),
  target: ["chrome110", "firefox110", "safari16"],
});

const index = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>hep dashboard</title>
<link rel="stylesheet" href="app.css">
<script type="module" src="app.js"></script>
</head>
<body>
<div id="app"><main id="main"><h1>hep dashboard</h1><p>Loading… This page needs JavaScript.</p></main></div>
</body>
</html>
`;
await writeFile(join(out, "index.html"), index);
