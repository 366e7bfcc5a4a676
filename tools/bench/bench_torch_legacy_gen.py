#!/usr/bin/python3
"""Inputs of bench_torch_legacy.sh (PyTorch legacy format, torch 1.13).

  bench_torch_legacy_gen.py OUT_DIR

writes (once; kept when present):
  gpt2_legacy.pt        GPT-2-small-shaped state_dict (124M float32, ~498 MB)
  many_legacy.pt        20 000 small tensors (int64/float32/float16, 1-64 elements)
  gpt2_sharded.index.json + gpt2-0000N-of-00004.bin
                        the GPT-2 state_dict in 4 legacy shards with a weight_map
Deterministic (fixed seed); values do not matter to the timings.
"""
import json
import os
import sys
from collections import OrderedDict

import torch


def gpt2_state_dict():
    torch.manual_seed(0)
    sd = OrderedDict()
    d, v, n_ctx, n_layer = 768, 50257, 1024, 12

    def t(*shape):
        return torch.zeros(*shape)
    sd["wte.weight"] = t(v, d)
    sd["wpe.weight"] = t(n_ctx, d)
    for i in range(n_layer):
        p = "h.%d." % i
        sd[p + "ln_1.weight"] = t(d)
        sd[p + "ln_1.bias"] = t(d)
        sd[p + "attn.c_attn.weight"] = t(d, 3 * d)
        sd[p + "attn.c_attn.bias"] = t(3 * d)
        sd[p + "attn.c_proj.weight"] = t(d, d)
        sd[p + "attn.c_proj.bias"] = t(d)
        sd[p + "ln_2.weight"] = t(d)
        sd[p + "ln_2.bias"] = t(d)
        sd[p + "mlp.c_fc.weight"] = t(d, 4 * d)
        sd[p + "mlp.c_fc.bias"] = t(4 * d)
        sd[p + "mlp.c_proj.weight"] = t(4 * d, d)
        sd[p + "mlp.c_proj.bias"] = t(d)
    sd["ln_f.weight"] = t(d)
    sd["ln_f.bias"] = t(d)
    return sd


def many_tensors():
    torch.manual_seed(1)
    sd = OrderedDict()
    dts = (torch.float32, torch.int64, torch.float16)
    for i in range(20000):
        sd["layer%05d.w" % i] = torch.arange(1 + i % 64).to(dts[i % 3])
    return sd


def save(obj, path):
    if not os.path.exists(path):
        torch.save(obj, path + ".tmp", _use_new_zipfile_serialization=False)
        os.replace(path + ".tmp", path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    sd = gpt2_state_dict()
    save(sd, os.path.join(out, "gpt2_legacy.pt"))
    save(many_tensors(), os.path.join(out, "many_legacy.pt"))
    index = os.path.join(out, "gpt2_sharded.index.json")
    if not os.path.exists(index):
        keys = list(sd.keys())
        wm = OrderedDict()
        for s in range(4):
            name = "gpt2-%05d-of-00004.bin" % (s + 1)
            part = OrderedDict((k, sd[k]) for k in keys[s::4])
            save(part, os.path.join(out, name))
            for k in part:
                wm[k] = name
        wm = OrderedDict((k, wm[k]) for k in keys)
        with open(index, "w") as fh:
            json.dump({"metadata": {"total_size": sum(t.numel() * 4 for t in sd.values())},
                       "weight_map": wm}, fh)
    print(out)


if __name__ == "__main__":
    main()
