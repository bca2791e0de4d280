"""Benchmark of the seed's training loop in PyTorch (float64 MyLinear, SGD, MSELoss, CPU).

--warmup untimed runs of the full loop (default 1), then --runs timed runs (time.perf_counter).
Prints one JSON line: {"impl", "torch", "threads", "steps", "runs_ms", "median_ms", "first_ms"}
(first_ms: the first warm-up run).

Run from the repo root:  /usr/bin/python3 test/bench/seed_torch.py [--steps 300] [--runs 5] [--warmup 1]
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep test/fixtures free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_seed_reference import MyLinear  # noqa: E402  (the seed's LinearF/MyLinear)

warnings.simplefilter("ignore", UserWarning)  # MSELoss broadcast warning, as in the seed


def train(steps, device):
    model = MyLinear(2, 1, dtype=torch.float64).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    criterion = torch.nn.MSELoss()
    for epoch in range(steps):
        inputx = torch.Tensor(np.random.rand(2)).unsqueeze(0).double().to(device)
        lable = torch.Tensor(2 * inputx[:, 0] + 3 * inputx[:, 1] + 4).double().to(device)
        optimizer.zero_grad()
        prob = model(inputx)
        loss = criterion(lable, prob)
        loss.backward()
        optimizer.step()
    return model


def timed(steps, device):
    t0 = time.perf_counter()
    train(steps, device)
    return (time.perf_counter() - t0) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    device = torch.device("cpu")
    first = timed(args.steps, device)
    for _ in range(args.warmup - 1):
        timed(args.steps, device)
    runs = [timed(args.steps, device) for _ in range(args.runs)]
    print(json.dumps({"impl": "torch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "steps": args.steps, "runs_ms": runs, "median_ms": statistics.median(runs),
                      "first_ms": first}))


if __name__ == "__main__":
    main()
