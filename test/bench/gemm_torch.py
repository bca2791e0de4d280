"""PyTorch's side of test/bench/gemm.ts: float32 matrix products on the CPU, one thread.

For each m x k x n and each transpose combination (NN, NT, TN, TT: op(A) = A or A.T, op(B) = B or
B.T, the transposed operands being views of contiguous storage, as BLAS sees them), the median
time per torch.matmul over batches of calls within --max-seconds.

Prints one JSON line: {"torch", "threads", "rows": [{"size", "combo", "us", "calls"}]}.

  /usr/bin/python3 test/bench/gemm_torch.py --sizes 32x2x16,256x256x256 [--max-seconds 1.5]
"""
import argparse
import json
import statistics
import sys
import time

sys.dont_write_bytecode = True

import torch  # noqa: E402

COMBOS = ("NN", "NT", "TN", "TT")


def parse_size(text):
    parts = [int(p) for p in text.lower().split("x")]
    if len(parts) != 3 or min(parts) < 1:
        raise SystemExit(f"gemm_torch.py: size {text!r} is not MxKxN")
    return parts


def time_calls(run, max_seconds):
    """Median microseconds per call, over batches of about 20 ms after a warm-up (as gemm.ts does)."""
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    if first >= max_seconds:
        return first * 1e6, 1
    warm_until = time.perf_counter() + max_seconds / 4
    calls = 1
    while time.perf_counter() < warm_until:
        run()
        calls += 1
    per_call = (time.perf_counter() - t0) / calls
    batch = max(1, round(0.02 / per_call))
    stop = time.perf_counter() + max_seconds * 3 / 4
    times = []
    while len(times) < 3 or (time.perf_counter() < stop and len(times) < 50):
        t = time.perf_counter()
        for _ in range(batch):
            run()
        times.append((time.perf_counter() - t) / batch)
    return statistics.median(times) * 1e6, batch * len(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--max-seconds", type=float, default=1.5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    rows = []
    for text in args.sizes.split(","):
        m, k, n = parse_size(text)
        for combo in COMBOS:
            a = torch.rand(k, m, generator=g).t() if combo[0] == "T" else torch.rand(m, k, generator=g)
            b = torch.rand(n, k, generator=g).t() if combo[1] == "T" else torch.rand(k, n, generator=g)
            out = torch.empty(m, n)
            us, calls = time_calls(lambda: torch.matmul(a, b, out=out), args.max_seconds)
            rows.append({"size": text, "combo": combo, "us": us, "calls": calls})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
