// Makes `import … from "gradlab"` (and "gradlab/notebook", "gradlab/plot", …) work in any notebook
// the gradlab kernel runs, wherever the notebook's folder is: at run time through Node's resolver,
// and for tslab's type checker through the TypeScript it compiles cells with.
//
// Both act only where ordinary resolution finds no gradlab: a project that installed its own
// (node_modules/gradlab above the notebook) keeps it. The fallback is this checkout's package, its
// built dist/ (`npm run build`), never its TypeScript sources: a cell then loads compiled
// JavaScript instead of type-checking and compiling the library on every import.
"use strict";
const Module = require("node:module");
const fs = require("node:fs");
const path = require("node:path");

const NAME = "gradlab";

function isGradlab(request) {
  return request === NAME || request.startsWith(`${NAME}/`);
}

/** Node: a "gradlab" nobody else provides resolves as a self-reference of the package at `root`. */
function installRuntimeFallback(root) {
  const fromRoot = Module.createRequire(path.join(root, "package.json"));
  const original = Module._resolveFilename;
  Module._resolveFilename = function resolveWithGradlabFallback(request, parent, isMain, options) {
    try {
      return original.call(this, request, parent, isMain, options);
    } catch (error) {
      if (error && error.code === "MODULE_NOT_FOUND" && typeof request === "string" && isGradlab(request)) return fromRoot.resolve(request);
      throw error;
    }
  };
}

/**
 * TypeScript (tslab's copy): module resolution walks up from the notebook's folder through every
 * node_modules to /node_modules. There, as the last place it looks, /node_modules/gradlab shows
 * the package at `root`; realpath sends it back to `root`, so gradlab's own imports (tfjs-core)
 * resolve from the checkout's node_modules.
 */
function installTypeFallback(ts, root) {
  const virtualModules = path.join(path.parse(process.cwd()).root, "node_modules");
  const virtual = path.join(virtualModules, NAME);
  const realVirtual = fs.existsSync(virtual);
  const map = (p) => {
    if (realVirtual || typeof p !== "string") return p;
    if (p === virtual) return root;
    if (p.startsWith(`${virtual}/`)) return path.join(root, p.slice(virtual.length + 1));
    return p;
  };
  const sys = ts.sys;
  const wrap = (name, fallback) => {
    const original = sys[name].bind(sys);
    sys[name] = (p, ...rest) => {
      const mapped = map(p);
      const result = original(mapped, ...rest);
      return fallback ? fallback(p, result) : result;
    };
  };
  wrap("fileExists");
  wrap("readFile");
  wrap("directoryExists", (p, result) => result || p === virtualModules);
  wrap("getDirectories");
  if (sys.realpath) wrap("realpath");
}

module.exports = { installRuntimeFallback, installTypeFallback, isGradlab };
