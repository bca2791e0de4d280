// The gradlab kernel: tslab from this checkout (kernel/tslab_kernel.cjs), started where Jupyter
// starts it — the notebook's own folder, as ipykernel runs — so that `./data.json` and a helper
// `./helper.ts` beside the notebook are found.
//
// "gradlab" resolves from any notebook (kernel/resolve_gradlab.cjs) to this checkout's built
// package, dist/. As soon as the kernel listens it loads gradlab, gradlab/notebook and
// gradlab/plot and type-checks an import of each once (about 3.5 s, mostly tfjs-core's
// declarations), so that a cell importing them finds both done.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tslabDir = path.join(root, "node_modules", "tslab");
const flag = process.argv.indexOf("--config-path");
const connectionFile = flag >= 0 ? process.argv[flag + 1] : undefined;
if (connectionFile === undefined) {
  console.error("gradlab kernel: usage: launch.cjs --config-path CONNECTION_FILE (Jupyter passes it)");
  process.exit(2);
}
if (!fs.existsSync(path.join(tslabDir, "dist", "main.js"))) {
  console.error(`gradlab kernel: ${tslabDir} is missing; run \`npm ci\` in ${root}`);
  process.exit(1);
}
const distMain = path.join(root, "dist", "mod.js");
const built = fs.existsSync(distMain);

/** A lib/ source changed after the build (`npm start` and `npm test` build first; Jupyter does not). */
function changedSince(dir, time) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = changedSince(p, time);
      if (found) return found;
    } else if (entry.name.endsWith(".ts") && fs.statSync(p).mtimeMs > time) return p;
  }
  return null;
}

// Said in the first cell's output, where the user looks (the kernel's own stderr goes to the server's log).
let notice = null;
if (!built) notice = `gradlab kernel: ${path.join(root, "dist")} is missing, so \`import … from "gradlab"\` fails here; run \`npm run build\` in ${root}, then restart the kernel\n`;
else {
  const changed = changedSince(path.join(root, "lib"), fs.statSync(path.join(root, "dist", ".build-stamp"), { throwIfNoEntry: false })?.mtimeMs ?? 0);
  if (changed) notice = `gradlab kernel: ${path.relative(root, changed)} changed after dist/ was built, so "gradlab" here is the older build; run \`npm run build\` in ${root}, then restart the kernel\n`;
}
if (notice) console.error(notice.trimEnd());

const { installRuntimeFallback, installTypeFallback } = require("./resolve_gradlab.cjs");
const { startKernel } = require("./tslab_kernel.cjs");
installRuntimeFallback(root);
installTypeFallback(require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] })), root);

startKernel({
  tslabDir,
  configPath: path.resolve(connectionFile),
  notice,
  onReady(_executor, converters) {
    if (!built || process.env.GRADLAB_KERNEL_PRELOAD === "0") return;
    // After the sockets are bound, so Jupyter sees the kernel start; a cell sent meanwhile waits
    // for this turn of the event loop, no longer than it would have taken itself.
    setImmediate(() => {
      try {
        const entries = ["gradlab", "gradlab/notebook", "gradlab/plot"];
        for (const entry of entries) require(entry);
        converters.node.convert("", entries.map((e, i) => `import * as __gradlab_preload_${i}__ from "${e}";\n`).join(""));
      } catch (error) {
        console.error(`gradlab kernel: preloading gradlab failed (a cell importing it will say why): ${error && error.message}`);
      }
    });
  },
}).catch((error) => {
  console.error("gradlab kernel: could not start:", error);
  process.exit(1);
});
