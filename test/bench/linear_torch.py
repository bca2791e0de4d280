"""PyTorch's side of test/bench/linear.ts: the linear layer's forward + backward per step.

y = x @ W.T + b (torch.nn.functional.linear), then y.backward(dy): dX, dW and db, 6*B*M*N flops
(B x M x N = batch x in_features x out_features). float32; on CUDA with TF32 off (true fp32) and,
with --tf32, a second row with TF32 on. Each step is timed with the device synchronised before
and after; the medians of --steps timed steps after --warmup untimed ones.

Prints one JSON line: {"torch", "device", "threads", "rows": [{"size", "precision", "ms", "steps"}], "notes"}.

  python3 test/bench/linear_torch.py --sizes 256x256x256,1024x1024x1024 [--steps 20] [--warmup 3] [--tf32] [--max-seconds 60]
"""
import argparse
import json
import statistics
import sys
import time

sys.dont_write_bytecode = True

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def parse_size(text):
    parts = [int(p) for p in text.lower().split("x")]
    if len(parts) != 3 or min(parts) < 1:
        raise SystemExit(f"linear_torch.py: size {text!r} is not BxMxN")
    return parts


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_size(size, device, steps, warmup, max_seconds):
    batch, fin, fout = size
    g = torch.Generator(device="cpu").manual_seed(0)
    make = lambda *shape: torch.randn(*shape, generator=g).to(device)  # noqa: E731
    x = make(batch, fin).requires_grad_()
    w = make(fout, fin).requires_grad_()
    b = make(fout).requires_grad_()
    dy = make(batch, fout)

    def step():
        x.grad = w.grad = b.grad = None
        sync(device)
        t0 = time.perf_counter()
        F.linear(x, w, b).backward(dy)
        sync(device)
        return (time.perf_counter() - t0) * 1000

    first = step()
    for _ in range(max(warmup - 1, 0)):
        step()
    # Keep the timed part within max_seconds (at least 3 steps), as the tfjs side does.
    n = max(3, min(steps, int(max_seconds * 1000 / max(first, 1e-3))))
    times = [step() for _ in range(n)]
    return statistics.median(times), n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="256x256x256,1024x1024x1024,4096x1024x1024,8192x4096x4096")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--tf32", action="store_true")
    p.add_argument("--max-seconds", type=float, default=60)
    p.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda where present)")
    a = p.parse_args()
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    rows, notes = [], []
    precisions = ["fp32"] + (["tf32"] if a.tf32 and device.type == "cuda" else [])
    rate = {}  # GFLOP/s at the previous size, per precision: skip a size projected past a quarter of the budget
    for text in a.sizes.split(","):
        size = parse_size(text)
        flops = 6 * size[0] * size[1] * size[2]
        for precision in precisions:
            if precision in rate and flops / (rate[precision] * 1e9) > a.max_seconds / 4:
                notes.append(f"{text} {precision}: skipped, projected {flops / (rate[precision] * 1e9):.0f} s per step")
                continue
            if device.type == "cuda":
                torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
                torch.backends.cudnn.allow_tf32 = precision == "tf32"
            try:
                ms, n = time_size(size, device, a.steps, a.warmup, a.max_seconds)
            except RuntimeError as e:  # e.g. out of memory
                notes.append(f"{text} {precision}: {str(e).splitlines()[0]}")
                continue
            rows.append({"size": text, "precision": precision, "ms": ms, "steps": n})
            rate[precision] = flops / ms / 1e6
    print(json.dumps({"torch": torch.__version__, "device": f"{device.type} ({name})", "threads": torch.get_num_threads(), "rows": rows, "notes": notes}))


if __name__ == "__main__":
    main()
