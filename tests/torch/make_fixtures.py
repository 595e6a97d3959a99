#!/usr/bin/env python3
"""Writes tests/fixtures/torch/<variant>.npz: one PyTorch training step of
each of the six networks of docs/STUDY.md, for tests/unit/test_torch_agreement.c.

Rerun (needs PyTorch and numpy; the build and ctest never do):

    /usr/bin/python3 tests/torch/make_fixtures.py [--mnist DIR] [--out DIR]

(Debian: apt-get install python3-torch python3-numpy.) The output is
deterministic for a given PyTorch build (fixed seed, one thread, fixed zip
timestamps); the committed files were made with PyTorch 1.13.1 / numpy 1.24.

What one file holds (float32 unless noted; names are state_dict keys):
  <name>                     the initial state_dict: weights, biases, BN
                             running_mean/running_var, num_batches_tracked (i8)
  images  (u1, 8x28x28), labels (u1, 8)   the first eight MNIST training
                             images with faint noise (see batch())
  logits                     train-mode forward of the initial model (8x10)
  loss, loss_paper           mean cross-entropy: CE(logits) (default
                             protocol), CE(softmax(logits)) (the notebook's)
  dlogits, dlogits_paper     d loss / d logits for each protocol (8x10)
  grad/<param>               every parameter's gradient, default protocol
  grad_paper/<param>         the same for the paper protocol, for conv32_1
                             and fc only (backward is linear in dlogits, so
                             dlogits_paper plus these end-to-end checks suffice)
  after/<name>               after one Adam step on the default-protocol
                             gradients (lr 1e-3, betas (0.9, 0.999), eps 1e-8):
                             every parameter, and the BN running_mean,
                             running_var (updated by the training forward)
                             and num_batches_tracked. Tensors of more than
                             AFTER_FULL_MAX elements are stored as every
                             after_stride-th element of the flattened
                             PyTorch-order tensor (size budget; the C test
                             also checks every element against Adam's formula)
  after_stride (i8)          that stride
  eval_logits_init           eval-mode logits of the initial model
  eval_logits_stats          eval-mode logits with the initial parameters and
                             the running statistics after the training forward

Every Dropout's p is set to 0 (masks cannot match between frameworks; dacc's
dropout is tested elsewhere), so with one step and the same seed Original,
StepLR and Dropout compute exactly the same numbers and their files are
byte-identical (git stores the blob once). Every variant is built from the
same seed: PyTorch's RNG is consumed by conv/linear initialisation only, so
all variants but ConvPool start from the same weights.
"""
import argparse
import io
import os
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = {
    # name: (batch norm present, dropouts ("all" | "fc"), pooling)
    "Original": (True, "all", "max"),
    "StepLR": (True, "all", "max"),  # differs only in the lr schedule
    "BatchNorm": (False, "all", "max"),
    "Dropout": (True, "fc", "max"),
    "ConvPool": (True, "all", "conv"),
    "AveragePool": (True, "all", "avg"),
}
SEED = 20240229
BATCH = 8
FIRST_IMAGE = 0          # MNIST training images [FIRST_IMAGE, FIRST_IMAGE+BATCH)
NOISE = 8                # plus uniform integer noise 0..NOISE grey levels
KINK_UNITS = 40000       # layers this small are checked for near-kinks...
KINK_MARGIN = 1e-5       # ...which must be this far (x the layer's std) away
AFTER_FULL_MAX = 16384
AFTER_STRIDE = 7         # prime: samples every position modulo any vector width
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
MEAN, STD = 0.1307, 0.3081


class LeNet(nn.Module):
    """The modern LeNet-5 of STUDY.md: ReLU before BatchNorm, also after
    each pooling; MaxPool2d(5,2,2) / AvgPool2d(5,2,2) / Conv2d(c,c,5,2,2)."""

    def __init__(self, bn=True, dropout="all", pool="max"):
        super().__init__()

        def norm(c):
            return nn.BatchNorm2d(c) if bn else nn.Identity()

        def pooling(c):
            if pool == "max":
                return nn.MaxPool2d(5, stride=2, padding=2)
            if pool == "avg":
                return nn.AvgPool2d(5, stride=2, padding=2, count_include_pad=True)
            return nn.Conv2d(c, c, 5, stride=2, padding=2)

        self.conv32_1 = nn.Conv2d(1, 32, 3)
        self.BN32_1 = norm(32)
        self.conv32_2 = nn.Conv2d(32, 32, 3)
        self.BN32_2 = norm(32)
        self.pool_1 = pooling(32)
        self.BN32_3 = norm(32)
        self.drop_1 = nn.Dropout(0.4) if dropout == "all" else nn.Identity()
        self.conv64_1 = nn.Conv2d(32, 64, 3)
        self.BN64_1 = norm(64)
        self.conv64_2 = nn.Conv2d(64, 64, 3)
        self.BN64_2 = norm(64)
        self.pool_2 = pooling(64)
        self.BN64_3 = norm(64)
        self.drop_2 = nn.Dropout(0.4) if dropout == "all" else nn.Identity()
        self.conv128 = nn.Conv2d(64, 128, 4)
        self.BN128 = norm(128)
        self.drop_3 = nn.Dropout(0.4)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.BN32_1(F.relu(self.conv32_1(x)))
        x = self.BN32_2(F.relu(self.conv32_2(x)))
        x = self.BN32_3(F.relu(self.pool_1(x)))
        x = self.drop_1(x)
        x = self.BN64_1(F.relu(self.conv64_1(x)))
        x = self.BN64_2(F.relu(self.conv64_2(x)))
        x = self.BN64_3(F.relu(self.pool_2(x)))
        x = self.drop_2(x)
        x = self.BN128(F.relu(self.conv128(x)))
        x = torch.flatten(x, 1)
        x = self.drop_3(x)
        return self.fc(x)


def read_idx(path, first, count):
    with open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    per = int(np.prod(dims[1:])) if ndim > 1 else 1
    off = 4 + 4 * ndim + first * per
    arr = np.frombuffer(data[off:off + count * per], dtype=np.uint8)
    return arr.reshape([count] + dims[1:]).copy()


def initial_model(variant, dtype=torch.float32):
    bn, dropout, pool = VARIANTS[variant]
    torch.manual_seed(SEED)
    model = LeNet(bn, dropout, pool).to(dtype)
    for mod in model.modules():
        if isinstance(mod, nn.Dropout):
            mod.p = 0.0
    return model


def normalise(images, dtype=torch.float32):
    x = torch.from_numpy(images.astype(np.float64)).to(dtype).reshape(BATCH, 1, 28, 28)
    return (x / 255.0 - MEAN) / STD


def kink_margin(images):
    """The closest any unit of a small layer comes to a kink of the training
    forward, in float64, over every variant, in units of that layer's std: a
    ReLU input near 0, or a max-pool window whose two largest values nearly
    tie. Exact zeros and exact ties (ReLU'd zeros) are the same in every
    framework and do not count. Near a kink the gradient's route depends on
    rounding, and in a layer of a few thousand units one unit routed the
    other way moves whole gradient tensors by ~1e-2 (seen: ConvPool's pool_2
    ReLU 1.8e-6 std from 0 on the first noise draw)."""
    worst = float("inf")
    relu = F.relu

    def note(a, std):
        nonlocal worst
        a = a[a > 0]
        if a.numel():
            worst = min(worst, (a.min() / std).item())

    def hooked_relu(t):
        if t.numel() <= KINK_UNITS:
            note(t.abs(), t.std())
        return relu(t)

    def pool_input(mod, inp):
        t = inp[0]
        if t.numel() // 4 <= KINK_UNITS:
            u = F.unfold(F.pad(t, (2, 2, 2, 2), value=-1e30), 5, stride=2)
            u = u.view(t.shape[0], t.shape[1], 25, -1).topk(2, dim=2).values
            note(u[:, :, 0] - u[:, :, 1], t.std())

    for v in VARIANTS:
        model = initial_model(v, torch.float64).train()
        hooks = [m.register_forward_pre_hook(pool_input) for m in model.modules()
                 if isinstance(m, nn.MaxPool2d)]
        F.relu = hooked_relu
        try:
            with torch.no_grad():
                model(normalise(images, torch.float64))
        finally:
            F.relu = relu
            for h in hooks:
                h.remove()
    return worst


def batch(mnist_dir):
    imgs = os.path.join(mnist_dir, "train-images-idx3-ubyte")
    labs = os.path.join(mnist_dir, "train-labels-idx1-ubyte")
    if os.path.exists(imgs) and os.path.exists(labs):
        x = read_idx(imgs, FIRST_IMAGE, BATCH).astype(np.int64)
        # MNIST's background is exactly 0, so whole max-pool windows hold
        # values that are equal in exact arithmetic and differ only by
        # rounding: the argmax (and so the gradient's route) would depend on
        # each framework's summation order. Faint sensor-like noise breaks
        # those ties (measured: PyTorch float32 against float64 gradients
        # agree to ~1e-3 without it, ~2e-5 with it). The first noise draw
        # that keeps every small layer KINK_MARGIN away from a kink is used
        # (kink_margin), so that float32 rounding of either side cannot
        # reroute a gradient.
        for draw in range(1000):
            noise = np.random.default_rng([SEED, draw]).integers(0, NOISE + 1, size=x.shape)
            images = np.clip(x + noise, 0, 255).astype(np.uint8)
            margin = kink_margin(images)
            if margin >= KINK_MARGIN:
                print("noise draw %d: kinks >= %.2g std away" % (draw, margin), file=sys.stderr)
                return images, read_idx(labs, FIRST_IMAGE, BATCH)
        sys.exit("no noise draw keeps the small layers %g std from a kink" % KINK_MARGIN)
    # No MNIST: blurred random strokes, so the fixture is still regenerable.
    print("MNIST not found in %s: using synthetic strokes" % mnist_dir, file=sys.stderr)
    rng = np.random.default_rng(SEED)
    x = np.zeros((BATCH, 28, 28))
    for i in range(BATCH):
        p = rng.uniform(6, 22, size=2)
        for _ in range(60):
            p = np.clip(p + rng.normal(0, 1.2, size=2), 4, 23)
            r, c = int(p[0]), int(p[1])
            x[i, r - 1:r + 2, c - 1:c + 2] += 0.6
    x = np.clip(x * 255, 0, 255).astype(np.uint8)
    return x, rng.integers(0, 10, size=BATCH).astype(np.uint8)


def f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def sample(a):
    a = np.ascontiguousarray(a).reshape(-1)
    return a if a.size <= AFTER_FULL_MAX else a[::AFTER_STRIDE].copy()


def write_npz(path, arrays):
    """Like np.savez_compressed, but with fixed timestamps and order, so the
    same numbers give the same bytes."""
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            z.writestr(info, buf.getvalue())
    os.replace(tmp, path)


def make(variant, images, labels):
    model = initial_model(variant)
    out = {}
    for k, v in model.state_dict().items():
        out[k] = v.cpu().numpy().copy()
    out["images"] = images
    out["labels"] = labels

    x = normalise(images)
    y = torch.from_numpy(labels.astype(np.int64))

    model.eval()
    with torch.no_grad():
        out["eval_logits_init"] = f32(model(x))

    model.train()
    params = dict(model.named_parameters())
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss_paper = F.cross_entropy(F.softmax(logits, dim=1), y)
    out["logits"] = f32(logits)
    out["loss"] = np.float32(loss.item())
    out["loss_paper"] = np.float32(loss_paper.item())
    names = list(params)
    g_paper = torch.autograd.grad(loss_paper, [logits] + [params[n] for n in names],
                                  retain_graph=True)
    out["dlogits_paper"] = f32(g_paper[0])
    for n, g in zip(names, g_paper[1:]):
        if n.split(".")[0] in ("conv32_1", "fc"):
            out["grad_paper/" + n] = f32(g)
    dlogits = torch.autograd.grad(loss, logits, retain_graph=True)[0]
    out["dlogits"] = f32(dlogits)
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    opt.zero_grad()
    loss.backward()
    for n in names:
        out["grad/" + n] = f32(params[n].grad)

    # eval with the initial parameters and the updated running statistics
    model.eval()
    with torch.no_grad():
        out["eval_logits_stats"] = f32(model(x))

    opt.step()
    out["after_stride"] = np.int64(AFTER_STRIDE)
    for k, v in model.state_dict().items():
        a = v.cpu().numpy()
        out["after/" + k] = a.copy() if a.dtype == np.int64 else sample(a)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--mnist", default=os.path.expanduser("~/.cache/dacc/mnist"))
    ap.add_argument("--out", default=os.path.join(here, "..", "fixtures", "torch"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    images, labels = batch(args.mnist)
    for v in VARIANTS:
        out = make(v, images, labels)
        path = os.path.join(args.out, v + ".npz")
        write_npz(path, out)
        print("%-12s %8d bytes  loss %.6f  paper %.6f" %
              (v, os.path.getsize(path), out["loss"], out["loss_paper"]))


if __name__ == "__main__":
    main()
