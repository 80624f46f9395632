#!/usr/bin/env python3
"""PyTorch peer of bench/cnn.ts: the identical small ResNet, optimiser, schedule and augmentation, on CPU.

    /usr/bin/python3 bench/_cnn_torch.py DATA.json --seed S --epochs E --threads T
DATA.json (written by bench/cnn.ts): {"pixels": path of uint8 N x size x size x 3 (HWC), "size", "y", "train", "test",
"channels", "batchSize", "learningRate", "momentum", "weightDecay", "lrStepEpochs", "lrGamma", "cropPadding"}.
Prints one JSON line: {"epochSeconds": [...], "epochCpuSeconds": [... (CPU time of the process: all its threads)],
"testAccuracy": ..., "trainLoss": last epoch's mean batch loss}.

    /usr/bin/python3 bench/_cnn_torch.py DATA.json --seed S --epochs E --ddp R
The same training data-parallel: R processes of 1 thread each (torch.distributed, gloo, on this machine), each
training on its R-th of every batch of batchSize (BN on its own share, DistributedDataParallel without SyncBatchNorm:
the recipe of trainCnn's bnGroupSize = batchSize / R); the gradients averaged across the processes by DDP. Every
process draws the whole batch's order and augmentation from the same seed and crops only its share. Times and test
accuracy from process 0; epochCpuSeconds sums the processes'.

    /usr/bin/python3 bench/_cnn_torch.py PARITY.json --parity
PARITY.json (written by bench/cnn.ts): our initial weights by name, one batch x / y, and what our engine computed
from them (train-mode logits, gradients of the mean BCE loss, running statistics after the step, eval-mode logits).
Prints one JSON line with the largest differences between those and PyTorch's on the same weights and batch.
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class Net(nn.Module):
    def __init__(self, channels, outputs):
        super().__init__()
        c0 = channels[0]
        self.stem = nn.Sequential(nn.Conv2d(3, c0, 3, 1, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU(), nn.MaxPool2d(2))
        blocks, cin = [], c0
        for s, c in enumerate(channels):
            blocks.append(Block(cin, c, 1 if s == 0 else 2))
            cin = c
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1))


def torch_name(n):
    """PyTorch's state_dict name of one of our tensors (src/backbone/cnn/network.ts names)."""
    if n == "stem_conv":
        return "stem.0.weight"
    if n.startswith("stem_bn"):
        return "stem.1." + ("weight" if n.endswith("_g") else "bias")
    if n == "fc_w":
        return "fc.weight"
    if n == "fc_b":
        return "fc.bias"
    stage, rest = n.split("_", 1)
    s = stage[1:]
    if rest in ("conv1", "conv2"):
        return f"blocks.{s}.{rest}.weight"
    if rest == "down":
        return f"blocks.{s}.down.0.weight"
    layer, gb = rest.rsplit("_", 1)
    prefix = f"blocks.{s}.down.1" if layer == "downbn" else f"blocks.{s}.{layer}"
    return prefix + (".weight" if gb == "g" else ".bias")


def parity(path):
    d = json.load(open(path))
    net = Net(d["channels"], 1)
    params = dict(net.named_parameters())
    with torch.no_grad():
        for n, p in d["params"].items():
            t = params[torch_name(n)]
            t.copy_(torch.tensor(p["value"]).reshape(t.shape))
    s = d["size"]
    x = torch.tensor(d["x"]).reshape(-1, 3, s, s)
    y = torch.tensor(d["y"], dtype=torch.float32)
    net.train()
    z = net(x)[:, 0]
    F.binary_cross_entropy_with_logits(z, y).backward()
    grad, worst = 0.0, ""
    for n, p in d["params"].items():
        g = params[torch_name(n)].grad.reshape(-1)
        rel = ((g - torch.tensor(p["grad"])).norm() / g.norm().clamp_min(1e-12)).item()
        if rel > grad:
            grad, worst = rel, n
    bns = {"stem_bn": net.stem[1]}
    for i, b in enumerate(net.blocks):
        bns[f"s{i}_bn1"], bns[f"s{i}_bn2"] = b.bn1, b.bn2
        if b.down is not None:
            bns[f"s{i}_downbn"] = b.down[1]
    running = 0.0
    for n, r in d["running"].items():
        running = max(running, (bns[n].running_mean - torch.tensor(r["mean"])).abs().max().item(),
                      (bns[n].running_var - torch.tensor(r["var"])).abs().max().item())
    net.eval()
    with torch.no_grad():
        ze = net(x)[:, 0]
    print(json.dumps({
        "trainLogitsMaxAbsDifference": (z.detach() - torch.tensor(d["logits"])).abs().max().item(),
        "gradientMaxRelativeDifference": grad,
        "gradientWorstTensor": worst,
        "runningStatsMaxAbsDifference": running,
        "evalLogitsMaxAbsDifference": (ze - torch.tensor(d["evalLogits"])).abs().max().item(),
    }))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--parity", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ddp", type=int, default=0)
    a = p.parse_args()
    if a.parity:
        parity(a.data)
        return
    if a.ddp > 1:
        import torch.multiprocessing as mp
        with tempfile.TemporaryDirectory() as tmp:
            out = mp.get_context("spawn").SimpleQueue()
            mp.spawn(train, args=(a, a.ddp, os.path.join(tmp, "store"), out), nprocs=a.ddp)
            results = [out.get() for _ in range(a.ddp)]
        first = next(r for r in results if r["rank"] == 0)
        cpu = [sum(r["epochCpuSeconds"][e] for r in results) for e in range(a.epochs)]
        print(json.dumps({**{k: v for k, v in first.items() if k != "rank"}, "epochCpuSeconds": cpu}))
        return
    print(json.dumps(train(0, a, 1, None, None)))


def train(rank, a, world, store, out):
    """One training (one process of `world`); returns, or with `out` puts, its results."""
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
        torch.set_num_threads(1)
    else:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    d = json.load(open(a.data))
    s = d["size"]
    raw = np.fromfile(d["pixels"], dtype=np.uint8).reshape(-1, s, s, 3)
    x_all = torch.from_numpy(((raw.astype(np.float32) / 255 - 0.5) / 0.25).transpose(0, 3, 1, 2).copy())
    y_all = torch.tensor(d["y"], dtype=torch.float32)
    train, test = np.array(d["train"]), np.array(d["test"])
    net = Net(d["channels"], 1)
    model = net
    if world > 1:
        model = nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.SGD(net.parameters(), lr=d["learningRate"], momentum=d["momentum"], weight_decay=d["weightDecay"])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=d["lrStepEpochs"], gamma=d["lrGamma"])
    bs, pad = d["batchSize"], d["cropPadding"]
    zero = (0 - 0.5) / 0.25
    epoch_seconds = []
    epoch_cpu = []
    step_seconds = []
    for _ in range(a.epochs):
        net.train()
        started = time.perf_counter()
        cpu_started = time.process_time()
        order = rng.permutation(train)
        losses = []
        for b in range(len(order) // bs):
            step_started = time.perf_counter()
            idx = order[b * bs:(b + 1) * bs]
            share = bs // world
            lo, hi = rank * share, (rank + 1) * share
            xb = F.pad(x_all[idx[lo:hi]], (pad, pad, pad, pad), value=zero)
            batch = torch.empty(hi - lo, 3, s, s)
            for i in range(len(idx)):
                dy, dx = rng.integers(0, 2 * pad + 1, size=2)
                flip = rng.random() < 0.5
                if lo <= i < hi:
                    crop = xb[i - lo, :, dy:dy + s, dx:dx + s]
                    batch[i - lo] = torch.flip(crop, [2]) if flip else crop
            loss = F.binary_cross_entropy_with_logits(model(batch)[:, 0], y_all[idx[lo:hi]])
            losses.append(loss.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
            step_seconds.append(time.perf_counter() - step_started)
        sched.step()
        epoch_seconds.append(time.perf_counter() - started)
        epoch_cpu.append(time.process_time() - cpu_started)
    net.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(test), 256):
            idx = test[b:b + 256]
            correct += ((net(x_all[idx])[:, 0] >= 0).float() == y_all[idx]).sum().item()
    result = {"epochSeconds": epoch_seconds, "epochCpuSeconds": epoch_cpu, "stepSeconds": step_seconds, "testAccuracy": correct / len(test), "trainLoss": float(np.mean(losses))}
    if out is None:
        return result
    out.put({**result, "rank": rank})
    import torch.distributed as dist
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
