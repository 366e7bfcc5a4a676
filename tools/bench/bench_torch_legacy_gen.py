#!/usr/bin/python3
"""Inputs of bench_torch_legacy.sh (PyTorch legacy format, torch 1.13).

  bench_torch_legacy_gen.py OUT_DIR

writes (once; kept when present):
  gpt2_legacy.pt        GPT-2-small-shaped state_dict (124M float32, ~498 MB)
  many_legacy.pt        20 000 small tensors (float32/int64/float16, 1-64 elements)
  gpt2_sharded.index.json + gpt2-0000N-of-00004.bin
                        the GPT-2 state_dict in 4 legacy shards with a weight_map
The state dicts come from bench_torch_common.py (shared with bench_torch_gen.py).
Deterministic (fixed seed); values do not matter to the timings.
"""
import json
import os
import sys
from collections import OrderedDict

import torch

from bench_torch_common import gpt2_state_dict, many_tensors  # same tensors as bench_torch_gen.py


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
