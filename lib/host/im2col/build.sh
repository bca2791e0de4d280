#!/usr/bin/env bash
# Builds im2col.c into WebAssembly and writes im2col_wasm.ts, its bytes as base64, which
# im2col_module.ts imports. Exports: im2col, col2im.
#
#   bash lib/host/im2col/build.sh [OUT_DIR]      (default: beside this script)
#
# How, and what it needs: lib/host/build_embedded_wasm.sh. test/conv_host.test.ts checks the
# committed im2col_wasm.ts is what this builds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rel=lib/host/im2col
module=im2col
constant=IM2COL_WASM_BASE64
sources=(im2col.c)
exports=(im2col col2im)
source "$here/../build_embedded_wasm.sh"
