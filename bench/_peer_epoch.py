#!/usr/bin/env python3
"""Peer timings for bench/head.ts, reusing peer.py's own code from $FAIRHEAD_PEER (imported, not copied).

    /usr/bin/python3 bench/_peer_epoch.py epoch DIR [--epochs N] [--threads T]
        median seconds of one full-batch epoch (objective, backward, SGD step) of peer.py's LastLayerObjective
        ("fast" impl, EO, alpha 1) on all train rows: the work of one peer epoch without its hold-out forward.
    /usr/bin/python3 bench/_peer_epoch.py llft DIR --seeds 0,1,2 [peer.py options...]
        peer.py's run_llft for each seed with the data loaded once (same as running
        `peer.py DIR --methods llft --seed S ...` once per seed, minus the CSV loading).
Prints one JSON line per result.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.environ["FAIRHEAD_PEER"])
import numpy as np  # noqa: E402
import peer  # noqa: E402


def load(data_dir):
    data = {}
    for s in ("train", "val", "test"):
        X, y, a, _ = peer.load_split(os.path.join(data_dir, f"{s}.csv"))
        data[s] = (X, y, a)
    return data


def epoch(argv):
    import argparse
    import torch
    p = argparse.ArgumentParser()
    p.add_argument("data_dir")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--threads", default="1", help="comma list: one timing per thread count")
    a = p.parse_args(argv)
    X, y, g, _ = peer.load_split(os.path.join(a.data_dir, "train.csv"))
    X, y, g = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(g)
    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        time_epochs(torch, X, y, g, a.epochs, threads)


def time_epochs(torch, X, y, g, epochs, threads):
    torch.manual_seed(0)
    layer = torch.nn.Linear(X.shape[1], 2)
    opt = torch.optim.SGD(layer.parameters(), lr=1e-2, momentum=0.9, weight_decay=5e-4)
    objective = peer.LastLayerObjective(torch, layer, "fast", "eo", 1.0)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        loss = objective(X, y, g, key="fit")[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    times = times[2:]  # warm-up
    print(json.dumps({"what": "peer_epoch", "n": int(X.shape[0]), "d": int(X.shape[1]), "threads": threads,
                      "median_seconds": float(np.median(times)), "min_seconds": float(np.min(times)),
                      "loadavg_1m": os.getloadavg()[0], "torch": torch.__version__}), flush=True)


def llft(argv):
    seeds = None
    if "--seeds" in argv:
        i = argv.index("--seeds")
        seeds = [int(s) for s in argv[i + 1].split(",")]
        argv = argv[:i] + argv[i + 2:]
    args = peer.parse_args(argv + ["--methods", "llft"])
    import torch
    torch.set_num_threads(max(1, args.threads))
    data = load(args.data_dir)
    for seed in seeds if seeds is not None else [args.seed]:
        args.seed = seed
        for which in args.ft_data.split(","):
            for pen in args.ft_penalty.split(","):
                for alpha in [float(v) for v in args.ft_alpha.split(",")]:
                    rec = peer.run_llft(args, data, None, which, pen, alpha)
                    rec["seed"] = seed
                    rec["loadavg_1m"] = os.getloadavg()[0]
                    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    {"epoch": epoch, "llft": llft}[mode](rest)
