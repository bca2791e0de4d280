#!/usr/bin/env bash
# The linear benchmark on a lent GPU machine (../shared/gpu/README.md), in two halves:
#
#   test/bench/gpu_run.sh prepare   here, from the project root: packs Node, Dawn and the Vulkan
#                                   loader (and Deno) into .gpu/ with ../shared/gpu/pack.sh, and
#                                   bundles test/bench/linear.ts with esbuild into .gpu/bundle/
#                                   (linear.cjs for Node + Dawn, linear.mjs for Deno; minified,
#                                   xz-compressed, so all fits the 64 MiB a run carries). .gpu/ is
#                                   git-ignored; the run tool carries it with carry: [".gpu"].
#   test/bench/gpu_run.sh run       there: checks gradlab's kernels against the cpu backend, then
#                                   times every size for gradlab, tfjs's own ops, autodiff and each
#                                   tile, PyTorch fp32 and TF32 beside them; Node + Dawn first, then
#                                   Deno. Tables go to stdout, JSON and logs to $OUT (or ./gpu-out).
#
# The GPU machine has no node_modules: everything the bench imports is in the bundles, and Dawn's
# dawn.node is found through DAWN_NODE, which .gpu/env.sh sets.
set -uo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-}
case "$mode" in
  prepare)
    set -e
    [ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "gpu_run.sh: the npm package webgpu (Dawn) is not installed; add it as a devDependency and npm ci" >&2; exit 2; }
    ../shared/gpu/pack.sh .gpu --deno
    rm -rf .gpu/bundle && mkdir -p .gpu/bundle
    common=(test/bench/linear.ts --bundle --minify --platform=node --main-fields=module,main --external:webgpu --log-level=warning)
    npx esbuild "${common[@]}" --format=cjs --log-override:empty-import-meta=silent --outfile=.gpu/bundle/linear.cjs
    # ESM for Deno; tfjs-core's Node platform calls require(), which an ESM bundle must be given.
    npx esbuild "${common[@]}" --format=esm \
      "--banner:js=import { createRequire as __gradlabRequire } from 'node:module'; const require = __gradlabRequire(import.meta.url);" \
      --outfile=.gpu/bundle/linear.mjs
    # A run carries 64 MiB at most: Node, Deno and Dawn take about 60 of them.
    xz -T2 -6 .gpu/bundle/linear.cjs .gpu/bundle/linear.mjs
    bytes=$(du -sb .gpu | cut -f1)
    echo "gpu_run.sh: .gpu holds $((bytes / 1048576)) MiB (a run carries 64 MiB at most)"
    [ "$bytes" -lt 67108864 ] || { echo "gpu_run.sh: .gpu is over 64 MiB" >&2; exit 2; }
    ;;
  run)
    out=${OUT:-gpu-out}
    mkdir -p "$out"
    # shellcheck disable=SC1091
    source .gpu/env.sh
    xz -dc .gpu/bundle/linear.cjs.xz > /tmp/gpu-bin/linear.cjs
    xz -dc .gpu/bundle/linear.mjs.xz > /tmp/gpu-bin/linear.mjs
    (nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true) | tee "$out/gpu.txt"
    sizes=${GRADLAB_BENCH_SIZES:-256x256x256,1024x1024x1024,4096x1024x1024,8192x4096x4096}
    echo "== Node + Dawn"
    timeout 330 node /tmp/gpu-bin/linear.cjs --backends webgpu --sizes "$sizes" --check --tune --torch --tf32 \
      --steps 20 --warmup 3 --max-seconds 20 --json-out "$out/node.json" 2>&1 | tee "$out/node.txt"
    echo "== Node + Dawn, robustness off (Dawn toggle; unsafe, for the record only)"
    GRADLAB_DAWN_FLAGS="enable-dawn-features=allow_unsafe_apis,disable_robustness" \
      timeout 90 node /tmp/gpu-bin/linear.cjs --backends webgpu --sizes 8192x4096x4096 --impls gradlab \
      --steps 10 --warmup 3 --json-out "$out/node_unsafe.json" 2>&1 | tee "$out/node_unsafe.txt"
    if command -v deno >/dev/null; then
      echo "== Deno (wgpu)"
      timeout 150 deno run -A /tmp/gpu-bin/linear.mjs --backends webgpu --sizes "$sizes" --check \
        --steps 10 --warmup 2 --max-seconds 15 --json-out "$out/deno.json" 2>&1 | tee "$out/deno.txt"
    fi
    ;;
  *)
    echo "usage: test/bench/gpu_run.sh prepare|run" >&2
    exit 2
    ;;
esac
