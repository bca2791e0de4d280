"""PyTorch's side of test/bench/gemm.ts: float32 matrix products on the CPU, one thread.

For each m x k x n and each transpose combination (NN, NT, TN, TT: op(A) = A or A.T, op(B) = B or
B.T, the transposed operands being views of contiguous storage, as BLAS sees them), the median
time per torch.matmul over batches of calls within --max-seconds per combination, the four
combinations taking turns (as gemm.ts times its cells).

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


def time_calls(runs, max_seconds):
    """Median microseconds per call of each run, and calls timed: as gemm.ts's timeCalls (interleaved batches)."""
    budget = max_seconds / len(runs)
    batches, firsts = [], []
    for run in runs:
        t0 = time.perf_counter()
        run()
        if time.perf_counter() - t0 >= budget:
            t = time.perf_counter()
            run()
            batches.append(0)
            firsts.append(time.perf_counter() - t)
            continue
        calls = 1
        while time.perf_counter() - t0 < budget / 4:
            run()
            calls += 1
        batches.append(max(1, round(0.02 / ((time.perf_counter() - t0) / calls))))
        firsts.append(0.0)
    times = [[] for _ in runs]
    stop = time.perf_counter() + max_seconds * 3 / 4
    rounds = 0
    while any(batches) and (rounds < 3 or (time.perf_counter() < stop and rounds < 50)):
        for i, run in enumerate(runs):
            if batches[i] == 0:
                continue
            t = time.perf_counter()
            for _ in range(batches[i]):
                run()
            times[i].append((time.perf_counter() - t) / batches[i])
        rounds += 1
    return [
        (statistics.median(times[i]) * 1e6, batches[i] * len(times[i])) if batches[i] else (firsts[i] * 1e6, 1)
        for i in range(len(runs))
    ]


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
        runs = []
        for combo in COMBOS:
            a = torch.rand(k, m, generator=g).t() if combo[0] == "T" else torch.rand(m, k, generator=g)
            b = torch.rand(n, k, generator=g).t() if combo[1] == "T" else torch.rand(k, n, generator=g)
            out = torch.empty(m, n)
            runs.append(lambda a=a, b=b, out=out: torch.matmul(a, b, out=out))
        for combo, (us, calls) in zip(COMBOS, time_calls(runs, args.max_seconds * len(COMBOS))):
            rows.append({"size": text, "combo": combo, "us": us, "calls": calls})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
