// The gradlab kernel: the project's own tslab, started at the project root.
//
// Jupyter starts a kernel in the notebook's folder, but tslab compiles local modules only below
// its working directory (its TypeScript rootDir), so a notebook in notebooks/ or out/ could not
// import ../lib. Starting at the root makes `import … from "./lib/mod"` work from any notebook.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tslab = path.join(root, "node_modules", "tslab", "dist", "main.js");
const flag = process.argv.indexOf("--config-path");
const connectionFile = flag >= 0 ? process.argv[flag + 1] : undefined;
if (connectionFile === undefined) {
  console.error("gradlab kernel: usage: launch.cjs --config-path CONNECTION_FILE (Jupyter passes it)");
  process.exit(2);
}
if (!fs.existsSync(tslab)) {
  console.error(`gradlab kernel: ${tslab} is missing; run \`npm ci\` in ${root}`);
  process.exit(1);
}
const configPath = path.resolve(connectionFile);
process.chdir(root);
const { startKernel } = require(tslab);
const { getVersion } = require(path.join(root, "node_modules", "tslab", "dist", "util.js"));
startKernel({ configPath, enableFindLocal: false, jsKernel: false, globalVersion: getVersion() });
