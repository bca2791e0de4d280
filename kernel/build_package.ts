/**
 * `npm run build`: lib/ → dist/, the JavaScript that the npm package ships and that the gradlab
 * kernel imports. Every lib/**\/*.ts is compiled (no list to keep up to date) into ESM JavaScript,
 * .d.ts and source maps (sources inlined, so the package needs no lib/).
 *
 * The sources keep extensionless relative imports (tsx and Deno with sloppy imports accept them,
 * and other engineers' files arrive written so); Node's ESM loader, Deno without sloppy imports and
 * TypeScript's nodenext resolution do not. So the emit rewrites every relative specifier, in the
 * JavaScript and in the declarations, to the file it names (`./function` → `./function.js`,
 * `./dir` → `./dir/index.js`). The gradlab kernel imports this build too: tslab no longer
 * compiles the library, only the cells.
 *
 * "@tensorflow/tfjs" becomes dist/tfjs.js, written here: tfjs-core, its gradients and chained ops
 * (which only the full tfjs bundle registers in Node; bundled here from tfjs-core's own ES
 * modules, sharing core's engine through its globals) and the cpu backend. The library needs
 * tfjs's ops, not its layers, converter, data or WebGL backend (about 200 MB of install). The type
 * check runs against that same surface, so a source that uses what only the full tfjs has fails
 * the build, by name.
 *
 *   npx tsx kernel/build_package.ts [--force]     (skips the work when dist/ was built from the same lib/)
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import ts from "typescript";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const LIB = join(ROOT, "lib");
export const DIST = join(ROOT, "dist");
const STAMP = join(DIST, ".build-stamp");

/** The package the sources import as tfjs, and the module of dist/ that stands in for it. */
export const TFJS = "@tensorflow/tfjs";
const TFJS_FACADE = "tfjs";
const CORE = "@tensorflow/tfjs-core";
/** What @tensorflow/tfjs registers on top of tfjs-core (its index imports exactly these). */
const CORE_SIDE_EFFECTS = [`${CORE}/dist/register_all_gradients`, `${CORE}/dist/public/chained_ops/register_all_chained_ops`];

export class BuildError extends Error {
  override name = "BuildError";
}

/** Every TypeScript source under lib/, tests and declarations excepted, sorted. */
export function librarySources(dir = LIB): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...librarySources(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") && !entry.name.endsWith(".test.ts")) found.push(path);
  }
  return found.sort();
}

/** What dist/ was built from: every source's path and content, and this script's own. */
function sourceFingerprint(sources: readonly string[]): string {
  const hash = createHash("sha256");
  for (const file of [...sources, fileURLToPath(import.meta.url)]) hash.update(`${relative(ROOT, file)}\0`).update(readFileSync(file)).update("\0");
  return hash.digest("hex");
}

/** The specifier as the built package must write it, or undefined to leave it as it is. */
export function rewriteSpecifier(specifier: string, fromFile: string): string | undefined {
  if (specifier === TFJS) {
    const facade = relative(dirname(fromFile), join(LIB, `${TFJS_FACADE}.js`));
    return facade.startsWith(".") ? facade : `./${facade}`;
  }
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return undefined;
  if (/\.(m?js|json)$/.test(specifier)) return undefined;
  const target = resolve(dirname(fromFile), specifier);
  if (existsSync(`${target}.ts`)) return `${specifier}.js`;
  if (existsSync(join(target, "index.ts"))) return `${specifier.replace(/\/$/, "")}/index.js`;
  throw new BuildError(`${relative(ROOT, fromFile)}: import "${specifier}" names neither ${relative(ROOT, target)}.ts nor ${relative(ROOT, target)}/index.ts`);
}

function specifierRewriter(context: ts.TransformationContext, fileOf: (node: ts.Node) => string): (node: ts.Node) => ts.Node {
  const f = context.factory;
  const literal = (node: ts.Expression | undefined, from: string): ts.StringLiteral | undefined => {
    if (!node || !ts.isStringLiteral(node)) return undefined;
    const rewritten = rewriteSpecifier(node.text, from);
    return rewritten === undefined ? undefined : f.createStringLiteral(rewritten);
  };
  const visit = (node: ts.Node): ts.Node => {
    const from = fileOf(node);
    if (ts.isImportDeclaration(node)) {
      const s = literal(node.moduleSpecifier, from);
      if (s) return f.updateImportDeclaration(node, node.modifiers, node.importClause, s, node.attributes);
    } else if (ts.isExportDeclaration(node)) {
      const s = literal(node.moduleSpecifier, from);
      if (s) return f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, s, node.attributes);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const s = literal(node.argument.literal as ts.Expression, from);
      if (s) return f.updateImportTypeNode(node, f.createLiteralTypeNode(s), node.attributes, node.qualifier, node.typeArguments, node.isTypeOf);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const s = literal(node.arguments[0], from);
      if (s) return f.updateCallExpression(node, node.expression, node.typeArguments, [s, ...node.arguments.slice(1)]);
    }
    return ts.visitEachChild(node, visit, context);
  };
  return visit;
}

/** Rewrites module specifiers in a source file (JavaScript emit) or a declaration bundle (.d.ts emit). */
function rewriteTransformer<T extends ts.SourceFile | ts.Bundle>(context: ts.TransformationContext): (node: T) => T {
  return (node) => {
    if (!ts.isSourceFile(node)) return node;
    // Declaration emit hands over synthesized nodes; the file they belong to is the one being transformed.
    const file = node.fileName;
    return ts.visitEachChild(node, specifierRewriter(context, () => file), context) as T;
  };
}

/**
 * Each module's JavaScript names its declarations (`@ts-self-types`) on a first line of its own:
 * Deno, importing dist/ through deno.json's exports rather than package.json's, finds the types
 * only so. The source map moves down by that line (one more ";" before its mappings).
 */
function writeWithSelfTypes(fileName: string, text: string): void {
  if (fileName.endsWith(".js")) {
    text = `/* @ts-self-types="./${basename(fileName, ".js")}.d.ts" */\n${text}`;
  } else if (fileName.endsWith(".js.map")) {
    const map = JSON.parse(text) as { mappings: string };
    map.mappings = `;${map.mappings}`;
    text = JSON.stringify(map);
  }
  mkdirSync(dirname(fileName), { recursive: true });
  writeFileSync(fileName, text);
}

export const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
  types: ["node", "@webgpu/types"],
  strict: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  skipLibCheck: true,
  declaration: true,
  sourceMap: true,
  inlineSources: true,
  rootDir: LIB,
  outDir: DIST,
  newLine: ts.NewLineKind.LineFeed,
  // Type-check against what dist/tfjs.js offers.
  paths: { [TFJS]: [join(ROOT, "node_modules", CORE)] },
};

/** dist/tfjs.js and .d.ts: tfjs-core with gradients, chained ops and the cpu backend. */
function writeTfjsFacade(): void {
  const sideEffects = join(DIST, `${TFJS_FACADE}_side_effects.js`);
  buildSync({
    stdin: { contents: CORE_SIDE_EFFECTS.map((m) => `import "${m}";`).join("\n"), resolveDir: ROOT, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "node",
    minify: true,
    legalComments: "inline",
    outfile: sideEffects,
    logLevel: "silent",
  });
  const header = `// Generated by kernel/build_package.ts: what gradlab uses of @tensorflow/tfjs (see there for why).\n`;
  writeFileSync(join(DIST, `${TFJS_FACADE}.js`), `${header}/* @ts-self-types="./${TFJS_FACADE}.d.ts" */\nexport * from "${CORE}";\nimport "./${TFJS_FACADE}_side_effects.js";\nimport "@tensorflow/tfjs-backend-cpu";\n`);
  writeFileSync(
    join(DIST, `${TFJS_FACADE}.d.ts`),
    `${header}export * from "${CORE}";\nimport "${CORE_SIDE_EFFECTS[1]}.js";\n`,
  );
}

export interface BuildResult {
  built: boolean;
  files: number;
  seconds: number;
}

export function buildPackage(options: { force?: boolean } = {}): BuildResult {
  const start = performance.now();
  const sources = librarySources();
  if (existsSync(join(LIB, `${TFJS_FACADE}.ts`))) throw new BuildError(`lib/${TFJS_FACADE}.ts would collide with the generated dist/${TFJS_FACADE}.js; rename it`);
  const fingerprint = sourceFingerprint(sources);
  if (!options.force && existsSync(STAMP) && readFileSync(STAMP, "utf8") === fingerprint) {
    // Sources touched but not changed: the kernel compares times (it cannot hash lib/ at every start).
    const now = new Date();
    utimesSync(STAMP, now, now);
    return { built: false, files: sources.length, seconds: (performance.now() - start) / 1000 };
  }
  rmSync(DIST, { recursive: true, force: true });
  // Its real path: the one module resolution arrives at, so that the augmentation applies.
  const chainedOpTypes = realpathSync(join(ROOT, "node_modules", `${CORE_SIDE_EFFECTS[1]}.d.ts`));
  const program = ts.createProgram([...sources, chainedOpTypes], COMPILER_OPTIONS);
  const emitted = program.emit(undefined, writeWithSelfTypes, undefined, undefined, {
    before: [rewriteTransformer],
    afterDeclarations: [rewriteTransformer],
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0) {
    rmSync(DIST, { recursive: true, force: true });
    const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => "\n" };
    throw new BuildError(`the build of lib/ into dist/ failed:\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
  mkdirSync(DIST, { recursive: true });
  writeTfjsFacade();
  writeFileSync(STAMP, fingerprint);
  return { built: true, files: sources.length, seconds: (performance.now() - start) / 1000 };
}

/** Whether dist/ holds a build of the current lib/. */
export function distIsCurrent(): boolean {
  return existsSync(STAMP) && readFileSync(STAMP, "utf8") === sourceFingerprint(librarySources()) && statSync(join(DIST, "mod.js")).isFile();
}

function main(args: string[]): number {
  const unknown = args.filter((a) => a !== "--force");
  if (unknown.length > 0) {
    console.error(`unknown argument ${JSON.stringify(unknown[0])}; usage: kernel/build_package.ts [--force]`);
    return 2;
  }
  try {
    const r = buildPackage({ force: args.includes("--force") });
    console.log(r.built ? `built ${r.files} modules of lib/ into dist/ in ${r.seconds.toFixed(1)} s` : `dist/ is up to date with lib/ (${r.files} modules)`);
    return 0;
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    console.error(`gradlab build: ${error.message}`);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
