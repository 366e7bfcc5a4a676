#!/usr/bin/python3
"""Inputs of bench_torch.sh (PyTorch zip format, torch 1.13's default torch.save).

  bench_torch_gen.py OUT_DIR

writes (once; kept when present):
  gpt2_zip.pt   GPT-2-small-shaped state_dict (148 tensors, 124M float32, ~498 MB)
  many_zip.pt   20 000 small tensors (float32/int64/float16, 1-64 elements)
The state dicts come from bench_torch_common.py (shared with bench_torch_legacy_gen.py).
Deterministic (fixed seed); values do not matter to the timings.
"""
import os
import sys

import torch

from bench_torch_common import gpt2_state_dict, many_tensors  # shared with bench_torch_legacy_gen.py


def save(make, path):
    if not os.path.exists(path):
        torch.save(make(), path + ".tmp")
        os.replace(path + ".tmp", path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    save(gpt2_state_dict, os.path.join(out, "gpt2_zip.pt"))
    save(many_tensors, os.path.join(out, "many_zip.pt"))


if __name__ == "__main__":
    main()
