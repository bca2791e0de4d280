#!/usr/bin/env bash
# Builds sgemm.c, optim.c (the optimizers' steps), pool.c (max_pool2d), activations.c (relu),
# im2col.c and conv.c (conv2d) into one WebAssembly module and writes sgemm_wasm.ts, its bytes as
# base64, which sgemm_module.ts imports. Exports: those marked export_name in the C.
#
#   bash lib/host/gemm/build.sh [OUT_DIR]      (default: beside this script)
#
# How, and what it needs: lib/host/build_embedded_wasm.sh. test/host_gemm.test.ts checks the
# committed sgemm_wasm.ts is what this builds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rel=lib/host/gemm
module=sgemm
constant=SGEMM_WASM_BASE64
sources=(sgemm.c optim.c pool.c activations.c im2col.c conv.c)
exports=()
source "$here/../build_embedded_wasm.sh"
