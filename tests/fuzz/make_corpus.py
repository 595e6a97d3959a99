#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<harness>/ (a few tiny valid
and near-valid inputs per harness). Deterministic; rerun after a format
change:  python3 tests/fuzz/make_corpus.py"""
import gzip
import io
import os
import struct
import tarfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):  # fixed mtime: the same bytes on every run
    return gzip.compress(data, compresslevel=6, mtime=0)


def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_seeds():
    img1 = idx(0x803, [1, 28, 28], bytes(range(256)) * 3 + bytes(16))
    lab1 = idx(0x801, [1], b"\x07")
    small = idx(0x803, [2, 2, 3], bytes(range(12)))
    lab3 = idx(0x801, [3], b"\x00\x05\x09")
    for name, data in [("images-1x28x28", img1), ("labels-1", lab1), ("images-2x2x3", small),
                       ("labels-3", lab3), ("wrap", idx(0x803, [1024, 1 << 26, 1 << 28], b""))]:
        put("fuzz_idx_raw", name, data)
    # gzip harness: mode byte (even: harness compresses), cut byte, labels+images
    both = lab1 + img1
    cut = (len(lab1) * 256 + len(both) - 1) // len(both)
    put("fuzz_idx_gzip", "set-1", bytes([0, cut]) + both)
    put("fuzz_idx_gzip", "images-2x2x3", bytes([0, 0]) + small)
    put("fuzz_idx_gzip", "stream", bytes([1, 0]) + gz(lab3))


def npy(dtype, shape, payload):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, shape)
    total = (10 + len(d) + 1 + 63) // 64 * 64
    hdr = d + " " * (total - 10 - len(d) - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + payload


def npz(members, method):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=method) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = method
            z.writestr(zi, data)
    return b.getvalue()


def npz_seeds():
    x = npy("|u1", "(2, 2, 2)", bytes(range(8)))
    y = npy("<i8", "(2,)", struct.pack("<2q", 3, 9))
    f = npy("<f4", "(3,)", struct.pack("<3f", 0.5, 1.0, 255.0))
    put("fuzz_npz", "stored", npz([("x.npy", x), ("y.npy", y)], zipfile.ZIP_STORED))
    put("fuzz_npz", "deflate", npz([("x.npy", x), ("f.npy", f)], zipfile.ZIP_DEFLATED))
    put("fuzz_npz", "big-endian", npz([("b.npy", npy(">u2", "(2,)", b"\x01\x02\x03\x04"))],
                                      zipfile.ZIP_STORED))


def checkpoint(count=0, tensors=b"", epochs=20, done=3, augment=None):
    version = 2 if augment is not None else 1
    h = b"DACCCKPT" + struct.pack("<I", version) + b"Original".ljust(32, b"\0")
    h += struct.pack("<5I", 1, 0, 0, 1, epochs)            # bn dropout pool lr_decay epochs
    h += struct.pack("<Iff", 64, 1e-3, 0.7)                 # batch lr gamma
    h += struct.pack("<QIIQ", 1, 0, 2, 0)                   # seed paper threads train_limit
    h += struct.pack("<IQ", done, 100)                      # epochs_done adam_step
    if augment is not None:                                 # version 2: augment, scale, model hash
        h += struct.pack("<IdQ", augment, 0.5, 0x73924E7E05CD2C5F)
    h += struct.pack("<I", count) + tensors                 # count
    return h + struct.pack("<I", zlib.crc32(h))


def tensor(name, kind, shape, payload):
    t = struct.pack("<H", len(name)) + name + struct.pack("<BB", kind, len(shape))
    t += b"".join(struct.pack("<Q", s) for s in shape)
    return t + struct.pack("<Q", len(payload) // (8 if kind else 4)) + payload


def checkpoint_seeds():
    put("fuzz_checkpoint", "header-only", checkpoint())
    t = tensor(b"fc3.bias", 0, [10], struct.pack("<10f", *range(10)))
    t += tensor(b"BN32_1.num_batches_tracked", 1, [], struct.pack("<q", 7))
    put("fuzz_checkpoint", "two-tensors", checkpoint(2, t))
    put("fuzz_checkpoint", "imported", checkpoint(epochs=0, done=0))
    put("fuzz_checkpoint", "augmented", checkpoint(2, t, augment=1))


def class_model_bytes(nclasses, magic):
    # [1,1] tessellation without a zero boundary: d = 10; per class the lower
    # triangle of a Cholesky factor (55 values), positive diagonal
    d = 10
    b = magic + struct.pack("<I", 2) + struct.pack("<4I", 28, 28, d, nclasses)
    b += struct.pack("<3IQ5d4I", 1, 1, 8, 1, 5.0, 0.2, 1.0, 0.1, 1e-3, 20, 1, 10, 10)
    b += struct.pack("<2I2d", 0, 0, 10.0, 0.42)  # zero_boundary, prior, its length and ratio
    b += struct.pack("<Q", 0x1234)
    for _ in range(nclasses):
        b += struct.pack("<2i3d", 8, 7, 0.3, 0.2, 0.1)
    for k in range(nclasses):
        for i in range(d):
            b += b"".join(struct.pack("<d", 0.1 + k if j == i else 0.01) for j in range(i + 1))
    return b + struct.pack("<I", zlib.crc32(b))


def tar_seeds():
    def tarball(entries, fmt):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
            for name, data in entries:
                ti = tarfile.TarInfo(name)
                ti.size, ti.mtime = len(data), 0
                t.addfile(ti, io.BytesIO(data))
        body = b.getvalue().rstrip(b"\0")  # drop the 10 KiB record padding
        return body + bytes(-len(body) % 512 + 1024)
    ustar = tarball([("package/package.json", b"{}"),
                     ("package/data/t10k-labels-idx1-ubyte", b"\x00\x00\x08\x01")],
                    tarfile.USTAR_FORMAT)
    pax = tarball([("package/" + "d" * 120 + "/train-images-idx3-ubyte", b"x")],
                  tarfile.PAX_FORMAT)
    gnu = tarball([("package/" + "g" * 120, b"y")], tarfile.GNU_FORMAT)
    put("fuzz_tar", "ustar", b"\x00" + ustar)
    put("fuzz_tar", "pax", b"\x00" + pax)
    put("fuzz_tar", "gnu-longname", b"\x00" + gnu)
    put("fuzz_tar", "gzip-stream", b"\x01" + gz(ustar))


SEP = b"@@@\n"  # the part separator of fuzz_rundir and fuzz_report


def fixture(rel):
    with open(os.path.join(HERE, "../fixtures/run-sample", rel), "rb") as f:
        return f.read()


def predictions(blocks, n, seed):
    b = b"DACCPRED" + struct.pack("<3I", 1, blocks, n)
    labels = bytes((seed + i) % 10 for i in range(n))
    for k in range(blocks):
        b += b"".join(bytes([(labels[i] + (k if i == 0 else 0)) % 10, labels[i]])
                      for i in range(n))
    return b + struct.pack("<I", zlib.crc32(b))


def rundir_seeds():
    t = "tasks/00-Original-s1/"
    study, progress = fixture("study.json"), fixture("progress.json")
    metrics, results = fixture(t + "metrics.jsonl"), fixture(t + "results.json")
    inspect = b'{"rows":28,"cols":28,"blocks":2,"digits":[]}'
    # fuzz_rundir: byte 0 picks the reader (3: a whole run directory); the
    # seeds m1, r1, s1 of the text readers (bytes 0..2) are kept as written
    put("fuzz_rundir", "dir-sample", b"\x03" + SEP.join([study, progress, metrics, results, inspect]))
    put("fuzz_rundir", "dir-metrics-only", b"\x03" + SEP.join([b"", b"", metrics]))
    put("fuzz_rundir", "dir-nested", b'\x03{"a":[[[[{"b":-1e999}]]]],"c":"\\u00e9"}')
    config = fixture(t + "config.json")
    small = (b'{"variant": "Original", "seed": 1, "heldout": {"clean": 0.5, "y": [0.25],'
             b' "xhat": 0.25, "n": 4}, "paper": {"clean": 0.75, "y": [0.5], "n": 4}}')
    put("fuzz_report", "sample", SEP.join([study, small, predictions(2, 4, 1), config,
                                           predictions(2, 4, 3)]))
    put("fuzz_report", "results-only", SEP.join([b"", results]))


def main():
    idx_seeds()
    npz_seeds()
    checkpoint_seeds()
    magic = open(os.path.join(HERE, "../../engine/align/alignclass-4x4.bin"), "rb").read(8)
    put("fuzz_class_model", "one-class", class_model_bytes(1, magic))
    put("fuzz_class_model", "five-classes", class_model_bytes(5, magic))
    tar_seeds()
    rundir_seeds()


if __name__ == "__main__":
    main()
