"""PyTorch's side of test/bench/train_step.ts: one training step (zero_grad, forward, loss,
backward, Adam step) of the same models, float32, CPU, timed with time.perf_counter.

Prints one JSON line: {"torch", "threads", "results": {name: {"us_per_step": [per run], "median_us"}}}.

Run from the repo root:  /usr/bin/python3 test/bench/train_step_torch.py [--steps 200] [--runs 5] [--warmup 50] [--only name,name]
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


# name: (model, input shape, loss, classes or None)
CASES = {
    "mlp-2-16-1 b32": (lambda: nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1)), [32, 2], "mse"),
    "mlp-64-256-256-10 b32": (lambda: nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)), [32, 64], "ce"),
    "mlp-64-256-256-10 b256": (lambda: nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)), [256, 64], "ce"),
    "lenet b32": (lenet, [32, 1, 28, 28], "ce"),
}


def run(name, steps, runs, warmup):
    make, shape, loss_kind = CASES[name]
    torch.manual_seed(0)
    model = make()
    x = torch.randn(*shape)
    if loss_kind == "mse":
        y = torch.randn(shape[0], 1)
        loss_fn = nn.MSELoss()
    else:
        y = torch.randint(0, 10, (shape[0],))
        loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - t0) / steps * 1e6)
    return {"us_per_step": times, "median_us": statistics.median(times)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    names = [n for n in CASES if not a.only or n in a.only.split(",")]
    results = {n: run(n, a.steps, a.runs, a.warmup) for n in names}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
