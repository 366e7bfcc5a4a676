"""State dicts shared by bench_torch_gen.py (zip format) and bench_torch_legacy_gen.py
(legacy format): the same tensors, so the two benchmarks time the same content.

  gpt2_state_dict()  GPT-2-small-shaped state_dict (148 tensors, 124M float32 zeros)
  many_tensors()     20 000 small tensors (float32/int64/float16, 1-64 elements)
Deterministic (fixed seeds); values do not matter to the timings.
"""
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
