#!/usr/bin/python3
"""Generate the torch layer-stack fixtures in models/layers/.

Run with Debian's interpreter only:  /usr/bin/python3 models/make_layers.py

For every fixture NAME:
  NAME.pt    torch.save(state_dict)            (zip format)
  NAME.pkl   the same state_dict as an OrderedDict of NumPy arrays (pickle protocol 4;
             bfloat16 has no NumPy dtype, so bf16 fixtures have no .pkl)
  NAME.json  {"kind": "torch_layers", "spec", "dtype", "inputs": rows,
              "outputs": {"predict": rows}}  - PyTorch's forward pass on exactly those
              inputs, as float64: in float64 when any tensor is float64 (the others
              widened), otherwise in float32 (float16/bfloat16 weights widened to
              float32).  "dtype" is the compute dtype's name for mixed stacks.
Fixed seeds: re-running rewrites identical files.
"""
import collections
import json
import os
import pickle

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers")
ACT = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
       "gelu": torch.nn.functional.gelu, "softmax": lambda x: torch.softmax(x, dim=1),
       "identity": lambda x: x}


def make(name, sizes, acts, dtype, prefix="net", bias=True, seed=0, rows=20, dtypes=None):
    """dtypes: one dtype per layer (mixed stacks); the stack is then computed in
    float64 if any layer is float64, else in float32."""
    torch.manual_seed(seed)
    sd = collections.OrderedDict()
    spec = []
    dtypes = dtypes or [dtype] * (len(sizes) - 1)
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = torch.nn.Linear(a, b, bias=bias)
        key = "%s.%d" % (prefix, 2 * i)
        sd[key + ".weight"] = lin.weight.detach().to(dtypes[i])
        if bias:
            sd[key + ".bias"] = lin.bias.detach().to(dtypes[i])
        spec.append(key + (":" + acts[i] if acts[i] else ""))
    spec = ",".join(spec)
    torch.save(sd, os.path.join(OUT, name + ".pt"))
    if torch.bfloat16 not in dtypes:
        npd = collections.OrderedDict((k, v.numpy()) for k, v in sd.items())
        with open(os.path.join(OUT, name + ".pkl"), "wb") as fh:
            pickle.dump(npd, fh, protocol=4)
    gen = torch.Generator().manual_seed(seed + 1)
    X = torch.randn(rows, sizes[0], generator=gen) * 2.0
    wide = torch.float64 if torch.float64 in dtypes else torch.float32
    h = X.to(wide)
    with torch.no_grad():
        for i in range(len(sizes) - 1):
            key = "%s.%d" % (prefix, 2 * i)
            w = sd[key + ".weight"].to(wide)
            b = sd[key + ".bias"].to(wide) if bias else None
            h = torch.nn.functional.linear(h, w, b)
            h = ACT[acts[i] or "identity"](h)
    dname = str(dtype if dtype is not None else wide).replace("torch.", "")
    doc = {"kind": "torch_layers", "spec": spec, "dtype": dname,
           "inputs": X.double().tolist(), "outputs": {"predict": h.double().tolist()}}
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")
    return name


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    names = [
        make("mlp_relu_tanh_f32", [6, 16, 8, 3], ["relu", "tanh", None], torch.float32),
        make("mlp_gelu_softmax_f32", [5, 12, 4], ["gelu", "softmax"], torch.float32, seed=1),
        make("mlp_sigmoid_f16", [4, 10, 2], ["sigmoid", "identity"], torch.float16, seed=2),
        make("mlp_relu_bf16", [7, 9, 9, 1], ["relu", "relu", None], torch.bfloat16, seed=3),
        make("mlp_nobias_f64", [3, 5, 2], ["tanh", None], torch.float64, bias=False, seed=4,
             prefix="model.layers"),
        # wide enough for the two-panel (128 outputs) kernel and a ragged last panel
        # (70 = 64 + 6), a narrow layer with many inputs (70 -> 20: summed in 4
        # interleaved chains by the runtime), every float32 activation
        make("mlp_wide_f32", [24, 200, 70, 20, 5], ["gelu", "tanh", "sigmoid", "softmax"],
             torch.float32, seed=5),
        # relu only (exact activations) with a narrow 96 -> 3 output layer
        make("mlp_narrow_out_f32", [16, 96, 3], ["relu", None], torch.float32, seed=8),
        # a layer wider than the runtime's stack buffers (2048 floats): heap scratch
        make("mlp_tall_f32", [3, 2100, 2], ["relu", None], torch.float32, seed=9),
        # more rows than one batch chunk (1024) of the runtime
        make("mlp_rows_f32", [4, 9, 2], ["relu", None], torch.float32, seed=6, rows=1100),
        # one float64 layer makes the whole stack float64 (float16 weights widened)
        make("mlp_mixed_f64", [5, 7, 3], ["sigmoid", None], None, seed=7,
             dtypes=[torch.float16, torch.float64]),
    ]
    with open(os.path.join(OUT, "INDEX"), "w") as fh:
        fh.write("\n".join(names) + "\n")
    print("%d fixtures in %s" % (len(names), OUT))


if __name__ == "__main__":
    main()
