/**
 * The toolchain the host WebAssembly module is built with (lib/host/gemm/build.sh): Debian's
 * clang-14 and lld-14. The drift test rebuilds the module and
 * compare it with the committed bytes; as root (CI) the toolchain is installed first, so the check
 * runs there rather than being skipped.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { aptInstall, mayInstall } from "../../kernel/system_deps";

const PACKAGES = ["clang-14", "lld-14"];

/** Why build.sh cannot run here (after installing what is missing, where allowed), or undefined when it can. */
export function wasmBuildToolsMissing(): string | undefined {
  let missing = probe();
  if (missing !== undefined && mayInstall()) {
    aptInstall(PACKAGES, (line) => console.log(line));
    missing = probe();
  }
  return missing;
}

function probe(): string | undefined {
  const r = spawnSync("clang-14", ["-print-prog-name=wasm-ld"], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) return `clang-14 is not installed (apt-get install -y --no-install-recommends ${PACKAGES.join(" ")})`;
  const linker = r.stdout.trim();
  if (!linker.startsWith("/") || !existsSync(linker)) return "lld-14's wasm-ld is not installed (apt-get install -y --no-install-recommends lld-14)";
  return undefined;
}
