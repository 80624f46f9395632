#!/usr/bin/env python3
"""PyTorch peer of bench/cnn.ts: the identical small ResNet, optimiser, schedule and augmentation, on CPU.

    /usr/bin/python3 bench/_cnn_torch.py DATA.json --seed S --epochs E --threads T
DATA.json (written by bench/cnn.ts): {"pixels": path of uint8 N x size x size x 3 (HWC), "size", "y", "train", "test",
"channels", "batchSize", "learningRate", "momentum", "weightDecay", "lrStepEpochs", "lrGamma", "cropPadding"}.
Prints one JSON line: {"epochSeconds": [...], "testAccuracy": ...}.
"""
import argparse
import json
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
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
    opt = torch.optim.SGD(net.parameters(), lr=d["learningRate"], momentum=d["momentum"], weight_decay=d["weightDecay"])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=d["lrStepEpochs"], gamma=d["lrGamma"])
    bs, pad = d["batchSize"], d["cropPadding"]
    zero = (0 - 0.5) / 0.25
    epoch_seconds = []
    for _ in range(a.epochs):
        net.train()
        started = time.perf_counter()
        order = rng.permutation(train)
        for b in range(len(order) // bs):
            idx = order[b * bs:(b + 1) * bs]
            xb = F.pad(x_all[idx], (pad, pad, pad, pad), value=zero)
            out = torch.empty(len(idx), 3, s, s)
            for i in range(len(idx)):
                dy, dx = rng.integers(0, 2 * pad + 1, size=2)
                crop = xb[i, :, dy:dy + s, dx:dx + s]
                out[i] = torch.flip(crop, [2]) if rng.random() < 0.5 else crop
            loss = F.binary_cross_entropy_with_logits(net(out)[:, 0], y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        epoch_seconds.append(time.perf_counter() - started)
    net.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(test), 256):
            idx = test[b:b + 256]
            correct += ((net(x_all[idx])[:, 0] >= 0).float() == y_all[idx]).sum().item()
    print(json.dumps({"epochSeconds": epoch_seconds, "testAccuracy": correct / len(test)}))


if __name__ == "__main__":
    main()
