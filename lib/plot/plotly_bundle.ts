/**
 * plotly.js from the npm package plotly.js-dist, for pages that must work offline: no CDN is
 * ever named. The package ships only the unminified bundle (11 MB); it is minified once with
 * esbuild (tsx's own dependency, so present wherever the project is installed) and cached in
 * node_modules/.cache/gradlab/. Without esbuild the unminified bundle is used as it is.
 *
 * Found by walking up from this module's folder (so a notebook anywhere finds the one installed
 * beside gradlab) and then from the working directory, or at $GRADLAB_PLOTLY_JS. plotly.js-dist
 * is an optional peer dependency of the package: only figures need it.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../io/atomic_write";

function moduleDir(): string | null {
  try {
    return dirname(fileURLToPath(import.meta.url));
  } catch {
    return null; // not a file: URL (a bundle, a remote import)
  }
}

export interface PlotlyBundle {
  version: string;
  /** The script, safe to put inside <script>…</script>. */
  source: string;
  /** Where it was read from. */
  path: string;
  minified: boolean;
}

let cached: PlotlyBundle | null = null;

export class PlotlyNotFoundError extends Error {
  override name = "PlotlyNotFoundError";
}

export async function plotlyBundle(): Promise<PlotlyBundle> {
  if (cached) return cached;
  const packageDir = findPackageDir();
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string };
  const original = join(packageDir, "plotly.js");
  const cacheFile = join(dirname(packageDir), ".cache", "gradlab", `plotly.js-dist-${version}.min.js`);
  let path = original;
  let minified = false;
  if (existsSync(cacheFile)) {
    path = cacheFile;
    minified = true;
  } else if (await minifyTo(original, cacheFile)) {
    path = cacheFile;
    minified = true;
  }
  cached = { version, source: scriptSafe(readFileSync(path, "utf8")), path, minified };
  return cached;
}

function findPackageDir(): string {
  const override = process.env.GRADLAB_PLOTLY_JS;
  if (override) {
    if (!existsSync(override)) throw new PlotlyNotFoundError(`GRADLAB_PLOTLY_JS=${override} does not exist`);
    return dirname(resolve(override));
  }
  const starts = [moduleDir(), process.cwd()].filter((d): d is string => d !== null);
  for (const start of starts) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", "plotly.js-dist");
      if (existsSync(join(candidate, "plotly.js"))) return candidate;
      if (dirname(dir) === dir) break;
    }
  }
  throw new PlotlyNotFoundError(
    `plotly.js-dist is not installed (looked in node_modules above ${starts.join(" and ")}); figures need it (\`npm install plotly.js-dist\` beside gradlab), or set GRADLAB_PLOTLY_JS to a plotly.js file`,
  );
}

async function minifyTo(source: string, target: string): Promise<boolean> {
  try {
    const name = "esbuild"; // a variable keeps type checkers from requiring the optional package
    const esbuild = (await import(name)) as { transform(code: string, options: object): Promise<{ code: string }> };
    const { code } = await esbuild.transform(readFileSync(source, "utf8"), { minify: true, legalComments: "inline", charset: "utf8" });
    mkdirSync(dirname(target), { recursive: true });
    writeFileAtomic(target, code);
    return true;
  } catch {
    return false;
  }
}

/** A script's text may not contain "</script" (the HTML parser would end the element there). */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1");
}
