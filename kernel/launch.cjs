// The gradlab kernel: tslab from this checkout (kernel/tslab_kernel.cjs), started where Jupyter
// starts it — the notebook's own folder, as ipykernel runs — so that `./data.json` and a helper
// `./helper.ts` beside the notebook are found.
//
// "gradlab" resolves from any notebook (kernel/resolve_gradlab.cjs) to this checkout's built
// package, dist/. The kernel loads it in the background as soon as it listens, and type-checks
// an import of it once, so that a cell's `import * as gl from "gradlab"` finds both done.
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
if (!built) console.error(`gradlab kernel: ${path.join(root, "dist")} is missing, so \`import … from "gradlab"\` will fail; run \`npm run build\` in ${root}`);

const { installRuntimeFallback, installTypeFallback } = require("./resolve_gradlab.cjs");
const { startKernel } = require("./tslab_kernel.cjs");
installRuntimeFallback(root);
installTypeFallback(require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] })), root);

startKernel({
  tslabDir,
  configPath: path.resolve(connectionFile),
  onReady(_executor, converters) {
    if (!built || process.env.GRADLAB_KERNEL_PRELOAD === "0") return;
    // After the sockets are bound, so Jupyter sees the kernel start; a cell sent meanwhile waits
    // for this turn of the event loop, no longer than it would have taken itself.
    setImmediate(() => {
      try {
        require(distMain);
        converters.node.convert("", 'import * as __gradlab_preload__ from "gradlab";\n');
      } catch (error) {
        console.error(`gradlab kernel: preloading gradlab failed (a cell importing it will say why): ${error && error.message}`);
      }
    });
  },
}).catch((error) => {
  console.error("gradlab kernel: could not start:", error);
  process.exit(1);
});
