#!/usr/bin/python3
"""Generate the PyTorch fixtures in models/torch/.

Run with Debian's interpreter only:  /usr/bin/python3 models/make_torch.py
(torch 1.13, numpy 1.24).  Deterministic: fixed seeds, fixed storage keys;
the script re-executes itself with PYTHONHASHSEED=0.

For every fixture file NAME it writes NAME.json (see models/README.md,
"torch/"):

  {"kind": "torch", "file": NAME, "format": "torch-zip" | "torch-legacy" |
   "torch-tar" | "torchscript" | "sharded", "protocol": N (main pickle),
   "byteorder": "little" | "big", "copied": true when records are compressed /
   unaligned (ckpt must copy), "tensors": [
     {"name", "dtype" ("torch.float32"), "shape", "strides" (elements),
      "storage_offset" (elements), "storage_group" (index of the first tensor
      listed with the same storage; shared storages share it), "requires_grad",
      "sum" (float64 sum of the values; complex: of the real parts; bool: count
      of True), "sum_abs", "sum_imag" (complex only), "values" (C order, real
      parts, only up to VALUES_MAX elements), "unavailable": true for tensors
      whose data ckpt cannot hand out (quantized, sparse, meta)}]}

Names are dotted paths found by walking the loaded object depth-first in the
order ckpt's walk uses (dict keys, list/tuple indices, module attributes; a
tensor reached again keeps its first path).  The expected values come from
torch.load of OUR OWN files (never a file we did not make), compared with the
objects that were saved.
"""
import copy
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import zipfile
from collections import OrderedDict

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")
VALUES_MAX = 64
LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


# --------------------------------------------------------------------------
# models

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, x):
        return self.net(x)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(12, 2)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def trained_convnet():
    torch.manual_seed(1)
    m = ConvNet()
    m.train()
    for _ in range(3):  # give BatchNorm running stats and num_batches_tracked
        m(torch.randn(5, 1, 4, 4))
    return m


def dtype_tensors():
    torch.manual_seed(2)
    d = OrderedDict()
    d["f16"] = torch.tensor([0.5, -1.25, 65504.0, 6.1e-5, 3.0], dtype=torch.float16)
    d["bf16"] = torch.tensor([0.5, -1.25, 3.0e38, 1.0e-3, 7.0], dtype=torch.bfloat16)
    d["f32"] = torch.randn(3, 4)
    d["f64"] = torch.randn(2, 3, dtype=torch.float64) * 1e10
    d["i8"] = torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8)
    d["i16"] = torch.tensor([-32768, -300, 0, 300, 32767], dtype=torch.int16)
    d["i32"] = torch.tensor([-2**31, -70000, 0, 70000, 2**31 - 1], dtype=torch.int32)
    d["i64"] = torch.tensor([-2**40, -5, 0, 5, 2**40], dtype=torch.int64)
    d["u8"] = torch.tensor([0, 1, 128, 255], dtype=torch.uint8)
    d["bool"] = torch.tensor([True, False, True, True])
    d["c64"] = torch.tensor([1 + 2j, -0.5j, 3.25], dtype=torch.complex64)
    d["c128"] = torch.tensor([1e200 - 1j, 0j, -2.5 + 0.125j], dtype=torch.complex128)
    d["scalar"] = torch.tensor(2.5)
    d["empty"] = torch.zeros(0, 3)
    d["big"] = torch.arange(3000, dtype=torch.float32).reshape(30, 100) / 7.0
    return d


def view_tensors():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    d = OrderedDict()
    d["base"] = base
    d["rows"] = base[1:3]             # offset 6 elements (24 bytes)
    d["transpose"] = base.t()
    d["strided"] = base[:, ::2]
    d["column"] = base[:, 3]          # offset 3, stride 6
    d["flat_slice"] = base.view(-1)[5:9]
    d["aligned_slice"] = base.view(-1)[4:12]  # offset 16 bytes: still 16-aligned
    d["expanded"] = base[0].expand(3, 6)      # stride 0
    d["reversed_ok"] = base[2]
    other = torch.arange(10, dtype=torch.float64)
    d["other"] = other
    d["other_tail"] = other[8:]
    return d


def training_checkpoint():
    torch.manual_seed(3)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        loss = model(torch.randn(8, 4)).pow(2).mean()
        loss.backward()
        opt.step()
    return {
        "epoch": 2,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "loss": loss.detach(),
        "note": "training checkpoint",
    }


def special_tensors():
    d = OrderedDict()
    d["dense"] = torch.arange(6, dtype=torch.float32)
    d["quantized"] = torch.quantize_per_tensor(torch.tensor([0.5, 1.0, -1.0]), 0.1, 2, torch.qint8)
    d["sparse"] = torch.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
    d["meta"] = torch.empty(2, 3, device="meta")
    d["after"] = torch.tensor([7, 8, 9], dtype=torch.int32)
    return d


# --------------------------------------------------------------------------
# expected values


def seg(k):
    if isinstance(k, bool):
        return "True" if k else "False"
    if k is None:
        return "None"
    if isinstance(k, (int, str)):
        return str(k)
    raise TypeError(k)


def join(p, s):
    return s if not p else p + "." + s


def walk(obj, path, out, seen):
    """Depth-first like ckpt's walk: first path of a shared object wins."""
    stack = [(obj, path)]
    while stack:
        o, p = stack.pop()
        if isinstance(o, (int, float, str, bytes, bool, type(None), torch.dtype, torch.device, type)):
            continue
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, torch.Tensor):
            out.append((p, o))
            continue
        kids = []
        if isinstance(o, dict):
            for k, v in o.items():
                kids.append((v, join(p, seg(k)), False))
        elif isinstance(o, (list, tuple)):
            for i, v in enumerate(o):
                kids.append((v, join(p, str(i)), False))
        elif isinstance(o, nn.Module):
            for k, v in vars(o).items():
                kids.append((v, join(p, k), False))
        else:
            continue
        for v, q, _ in reversed(kids):
            stack.append((v, q))
    return out


def dtype_name(t):
    return str(t.dtype)


def tensor_record(name, t, groups):
    rec = {"name": name, "dtype": dtype_name(t), "shape": list(t.shape)}
    if t.is_quantized or t.is_sparse or t.device.type == "meta":
        rec["unavailable"] = True
        return rec
    rec["strides"] = list(t.stride())
    rec["storage_offset"] = t.storage_offset()
    ptr = t.storage().data_ptr()
    rec["storage_group"] = groups.setdefault(ptr, len(groups))
    rec["requires_grad"] = bool(t.requires_grad)
    x = t.detach()
    if x.is_complex():
        re = x.real.double()
        rec["sum"] = float(re.sum())
        rec["sum_imag"] = float(x.imag.double().sum())
        rec["sum_abs"] = float(re.abs().sum())
        flat = re.reshape(-1)
    else:
        d = x.double()
        rec["sum"] = float(d.sum())
        rec["sum_abs"] = float(d.abs().sum())
        flat = d.reshape(-1)
    if flat.numel() <= VALUES_MAX:
        rec["values"] = [float(v) for v in flat.tolist()]
    return rec


def expected(obj, loaded):
    """Tensors of `loaded` (torch.load of our file) in walk order, checked
    against `obj` (what was saved) by path."""
    want = dict(walk(obj, "", [], set()))
    got = walk(loaded, "", [], set())
    groups = {}
    recs = []
    for name, t in got:
        if name not in want:
            raise SystemExit("path %r appeared after loading" % name)
        w = want[name]
        if not (t.is_quantized or t.is_sparse or t.device.type == "meta"):
            if t.dtype != w.dtype or t.shape != w.shape or not torch.equal(t, w):
                raise SystemExit("tensor %r changed after loading" % name)
        recs.append(tensor_record(name, t, groups))
    if len(got) != len(want):
        raise SystemExit("tensor count changed: %d vs %d" % (len(got), len(want)))
    return recs


def write_json(name, fmt, protocol, recs, **extra):
    d = {"kind": "torch", "file": name, "format": fmt, "protocol": protocol,
         "byteorder": "little", "copied": False, "tensors": recs}
    d.update(extra)
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(d, fh, indent=1, sort_keys=True)
        fh.write("\n")


def load_ours(path):
    return torch.load(path, map_location="cpu")


def save_zip(name, obj, protocol=2, expect_obj=None):
    path = os.path.join(OUT, name)
    torch.save(obj, path, pickle_protocol=protocol)
    write_json(name, "torch-zip", protocol, expected(expect_obj if expect_obj is not None else obj,
                                                      load_ours(path)))
    return path


# --------------------------------------------------------------------------
# legacy format with deterministic storage keys


class _KeyMap:
    def __init__(self):
        self.m = {}

    def key(self, k):
        return self.m.setdefault(k, str(len(self.m)))


class DeterministicPickleModule:
    """Passed as torch.save(pickle_module=...): renames the legacy storage
    keys (str(storage._cdata), an address) to "0", "1", ... in order."""

    __name__ = "deterministic_pickle"

    def __init__(self):
        km = self.km = _KeyMap()

        class P(pickle.Pickler):
            def __setattr__(self, n, v):
                if n == "persistent_id":
                    inner = v

                    def pid(obj):
                        r = inner(obj)
                        if isinstance(r, tuple) and r and r[0] == "storage":
                            r = (r[0], r[1], km.key(r[2])) + tuple(r[3:])
                        return r
                    v = pid
                object.__setattr__(self, n, v)

        self.Pickler = P
        self.Unpickler = pickle.Unpickler

    def dump(self, obj, f, protocol=2):
        if isinstance(obj, list) and obj and all(isinstance(k, str) for k in obj):
            obj = [self.km.key(k) for k in obj]
        pickle.dump(obj, f, protocol=protocol)

    def load(self, f, **kw):
        return pickle.load(f, **kw)


ELEMENT_SIZE = {
    "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
    "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
    "ByteStorage": 1, "BoolStorage": 1, "ComplexFloatStorage": 8,
    "ComplexDoubleStorage": 16, "UntypedStorage": 1}


def canonical_legacy(path, protocol):
    """torch writes the storages sorted by their original keys (addresses):
    rewrite the key list and the raw storages in numeric key order."""
    with open(path, "rb") as fh:
        raw = fh.read()
    f = io.BytesIO(raw)
    sizes = {}

    class Dummy(dict):
        def __init__(self, *a, **k):
            pass

        def __setstate__(self, s):
            pass

    class U(pickle.Unpickler):
        def find_class(self, mod, name):
            return name if name.endswith("Storage") else Dummy

        def persistent_load(self, pid):
            if pid[0] == "storage":
                sizes[pid[2]] = ELEMENT_SIZE[pid[1]]
            return None
    for _ in range(4):
        U(f).load()
    head = raw[:f.tell()]
    keys = pickle.load(f)
    blobs = {}
    for k in keys:
        n = struct.unpack("<q", f.read(8))[0]
        blobs[k] = struct.pack("<q", n) + f.read(n * sizes[k])
    assert f.read() == b""
    order = sorted(keys, key=int)
    out = head + pickle.dumps(order, protocol=protocol) + b"".join(blobs[k] for k in order)
    with open(path, "wb") as fh:
        fh.write(out)


def save_legacy(name, obj, protocol=2):
    path = os.path.join(OUT, name)
    with open(path, "wb") as fh:
        torch.save(obj, fh, pickle_module=DeterministicPickleModule(), pickle_protocol=protocol,
                   _use_new_zipfile_serialization=False)
    canonical_legacy(path, protocol)
    write_json(name, "torch-legacy", protocol, expected(obj, load_ours(path)))


# --------------------------------------------------------------------------
# re-zipped copies (another tool's layout: compressed or unaligned records)


def rezip(src, dst, method, force_zip64=False, rename_top=None, stored_pickle=False):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            fn = info.filename
            if rename_top:
                fn = rename_top + fn[fn.index("/"):]
            zi = zipfile.ZipInfo(fn, date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = method
            if stored_pickle and not fn.split("/", 1)[1].startswith("data/"):
                zi.compress_type = zipfile.ZIP_STORED
            with zout.open(zi, "w", force_zip64=force_zip64) as w:
                w.write(data)


# --------------------------------------------------------------------------
# big-endian archive: records byte-swapped, byteorder "big"


def make_big_endian(src, dst, name_to_itemsize):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        names = zin.namelist()
        top = names[0][:names[0].index("/")]
        if top + "/byteorder" not in names:  # torch 1.13 writes none: add it
            zi = zipfile.ZipInfo(top + "/byteorder", date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_STORED
            zout.writestr(zi, b"big")
        for info in zin.infolist():
            data = zin.read(info.filename)
            rel = info.filename[info.filename.index("/") + 1:]
            if rel == "byteorder":
                data = b"big"
            elif rel.startswith("data/"):
                isz = name_to_itemsize[rel[5:]]
                if isz > 1:
                    a = np.frombuffer(data, dtype="u%d" % isz).byteswap()
                    data = a.tobytes()
            zi = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_STORED
            zout.writestr(zi, data)


def storage_itemsizes(obj):
    """Storage key -> element size, by saving once more with a spy."""
    sizes = {}
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as z:
        pk = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        raw = z.read(pk)

    class Dummy(dict):
        def __init__(self, *a, **k):
            pass

        def __setstate__(self, s):
            pass

    class U(pickle.Unpickler):
        def find_class(self, mod, name):
            return name if name.endswith("Storage") else Dummy

        def persistent_load(self, pid):
            _, stype, key, _loc, _numel = pid
            sizes[key] = {"ComplexFloatStorage": 4, "ComplexDoubleStorage": 8}.get(
                stype, ELEMENT_SIZE[stype])
            return None

    U(io.BytesIO(raw)).load()
    return sizes


# --------------------------------------------------------------------------
# hand-made data.pkl: _rebuild_tensor_v3 with UntypedStorage (torch >= 2),
# _rebuild_parameter_with_state, _rebuild_from_type_v2.  torch 1.13 cannot
# load these; the expected values come from NumPy over the same bytes.


class _G:
    """A global written as GLOBAL module name (never imported)."""
    def __init__(self, mod, name):
        self.mod, self.name = mod, name

    def __call__(self, *a):
        raise TypeError("inert")


class _Storage:
    def __init__(self, stype, key, numel):
        self.stype, self.key, self.numel = stype, key, numel


class _Call:
    def __init__(self, fn, args, state=None):
        self.fn, self.args, self.state = fn, args, state

    def __reduce__(self):
        if self.state is None:
            return (self.fn, self.args)
        return (self.fn, self.args, self.state)


class HandPickler(pickle._Pickler):
    dispatch = pickle._Pickler.dispatch.copy()

    def save_g(self, obj):
        self.write(pickle.GLOBAL + ("%s\n%s\n" % (obj.mod, obj.name)).encode())
        self.memoize(obj)
    dispatch[_G] = save_g

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", obj.stype, obj.key, "cpu", obj.numel)
        return None


def hand_global(mod, name):
    return _G(mod, name)


def write_hand_v3(name):
    rng = np.random.RandomState(4)
    a = rng.standard_normal((3, 4)).astype("<f4")
    b = rng.standard_normal(5).astype("<f8")
    c = np.arange(6, dtype="<i2")
    # fake globals, pickled by name only
    FloatStorage_u = hand_global("torch.storage", "UntypedStorage")
    v3 = hand_global("torch._utils", "_rebuild_tensor_v3")
    v2 = hand_global("torch._utils", "_rebuild_tensor_v2")
    pws = hand_global("torch._utils", "_rebuild_parameter_with_state")
    rft = hand_global("torch._tensor", "_rebuild_from_type_v2")
    f32 = hand_global("torch", "float32")
    f64 = hand_global("torch", "float64")
    i16 = hand_global("torch", "int16")
    Tensor = hand_global("torch", "Tensor")
    Short = hand_global("torch", "ShortStorage")
    od = OrderedDict()
    sa = _Storage(FloatStorage_u, "0", a.nbytes)   # UntypedStorage: numel in bytes
    sb = _Storage(FloatStorage_u, "1", b.nbytes)
    sc = _Storage(Short, "2", c.size)
    od["a"] = _Call(v3, (sa, 0, (3, 4), (4, 1), False, OrderedDict(), f32))
    od["a_t"] = _Call(v3, (sa, 0, (4, 3), (1, 4), False, OrderedDict(), f32))
    od["b_param"] = _Call(pws, (_Call(v3, (sb, 1, (4,), (1,), False, OrderedDict(), f64)), True,
                                OrderedDict(), {"extra": 1}))
    od["c_sub"] = _Call(rft, (v2, Tensor, (sc, 2, (2, 2), (2, 1), False, OrderedDict()), {}))
    buf = io.BytesIO()
    HandPickler(buf, protocol=2).dump(od)
    # write the archive with torch's own writer (aligned records)
    path = os.path.join(OUT, name)
    w = torch._C.PyTorchFileWriter(path)
    w.write_record("data.pkl", buf.getvalue(), len(buf.getvalue()))
    w.write_record("data/0", a.tobytes(), a.nbytes)
    w.write_record("data/1", b.tobytes(), b.nbytes)
    w.write_record("data/2", c.tobytes(), c.nbytes)
    w.write_record("byteorder", b"little", 6)
    w.write_end_of_file()
    del w
    def rec(nm, dt, arr, group, off, shape, strides, grad):
        flat = np.lib.stride_tricks.as_strided(arr.reshape(-1)[off:], shape=shape,
                                               strides=[s * arr.itemsize for s in strides])
        d = flat.astype("f8")
        r = {"name": nm, "dtype": dt, "shape": list(shape), "strides": list(strides),
             "storage_offset": off, "storage_group": group, "requires_grad": grad,
             "sum": float(d.sum()), "sum_abs": float(np.abs(d).sum())}
        r["values"] = [float(v) for v in d.reshape(-1)]
        return r
    recs = [rec("a", "torch.float32", a, 0, 0, (3, 4), (4, 1), False),
            rec("a_t", "torch.float32", a, 0, 0, (4, 3), (1, 4), False),
            rec("b_param", "torch.float64", b, 1, 1, (4,), (1,), True),
            rec("c_sub", "torch.int16", c, 2, 2, (2, 2), (2, 1), False)]
    write_json(name, "torch-zip", 2, recs, oracle="numpy over the bytes written")


# --------------------------------------------------------------------------
# old tar format (torch < 0.4), written by hand and checked with torch.load


def write_tar(name):
    torch.manual_seed(5)
    w = torch.randn(3, 4)
    bias = torch.arange(3, dtype=torch.float64)
    storages = [(0, w, "FloatStorage"), (1, bias, "DoubleStorage")]

    def P(o):
        return pickle.dumps(o, protocol=2)

    FloatStorage = torch.FloatStorage
    DoubleStorage = torch.DoubleStorage
    st = io.BytesIO()
    st.write(P(len(storages)))
    for key, t, tn in storages:
        st.write(P((key, "cpu", {"FloatStorage": FloatStorage, "DoubleStorage": DoubleStorage}[tn])))
        raw = t.contiguous().numpy().tobytes()
        st.write(struct.pack("<q", t.numel()))
        st.write(raw)
    st.write(P([]))  # no storage views
    te = io.BytesIO()
    tw = w.t()
    specs = [(10, 0, w), (11, 1, bias), (12, 0, tw)]
    te.write(P(len(specs)))
    for key, sid, t in specs:
        te.write(P((key, sid, torch.FloatTensor if t.dtype == torch.float32 else torch.DoubleTensor)))
        te.write(struct.pack("<i", t.dim()))
        te.write(b"\0\0\0\0")
        te.write(struct.pack("<%dq" % t.dim(), *t.shape))
        te.write(struct.pack("<%dq" % t.dim(), *t.stride()))
        te.write(struct.pack("<q", t.storage_offset()))

    class PP(pickle.Pickler):
        def persistent_id(self, obj):
            for key, _s, t in specs:
                if obj is t:
                    return str(key)
            return None
    pk = io.BytesIO()
    obj = OrderedDict([("weight", w), ("bias", bias), ("weight_t", tw)])
    PP(pk, protocol=2).dump(obj)
    path = os.path.join(OUT, name)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for mname, data in (("sys_info", P({"protocol_version": 1001, "little_endian": True,
                                             "type_sizes": {"short": 2, "int": 4, "long": 4}})),
                            ("storages", st.getvalue()), ("tensors", te.getvalue()),
                            ("pickle", pk.getvalue())):
            ti = tarfile.TarInfo(mname)
            ti.size = len(data)
            ti.mtime = 0
            tar.addfile(ti, io.BytesIO(data))
    loaded = load_ours(path)
    write_json(name, "torch-tar", 2, expected(obj, loaded))


# --------------------------------------------------------------------------


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        os.remove(os.path.join(OUT, fn))
    torch.manual_seed(0)
    net = Net()
    sd = net.state_dict()
    save_zip("sd_linear.pt", sd)
    save_zip("sd_linear_p4.pt", sd, protocol=4)
    conv = trained_convnet()
    save_zip("sd_conv.pt", conv.state_dict())
    save_zip("dtypes.pt", dtype_tensors())
    save_zip("views.pt", view_tensors())
    save_zip("train_ckpt.pt", training_checkpoint())
    save_zip("whole_module.pt", conv)
    save_zip("special.pt", special_tensors())
    # torch.save into a buffer: top folder "archive/"
    buf = io.BytesIO()
    torch.save(sd, buf)
    with open(os.path.join(OUT, "sd_archive.pt"), "wb") as fh:
        fh.write(buf.getvalue())
    write_json("sd_archive.pt", "torch-zip", 2, expected(sd, load_ours(os.path.join(OUT, "sd_archive.pt"))))

    # legacy
    save_legacy("legacy_sd.pt", conv.state_dict())
    save_legacy("legacy_views.pt", view_tensors())
    save_legacy("legacy_dtypes.pt", dtype_tensors())
    save_legacy("legacy_p4.pt", sd, protocol=4)

    # re-zipped copies of views.pt
    src = os.path.join(OUT, "views.pt")
    for nm, method, z64 in (("views_deflated.pt", zipfile.ZIP_DEFLATED, False),
                            ("views_stored_unaligned.pt", zipfile.ZIP_STORED, False),
                            ("views_zip64.pt", zipfile.ZIP_DEFLATED, True)):
        dst = os.path.join(OUT, nm)
        rezip(src, dst, method, force_zip64=z64)
        write_json(nm, "torch-zip", 2, expected(view_tensors(), load_ours(dst)), copied=True)
    # pickle and small members stored, only the records deflated: the open needs no inflating,
    # the first use of a tensor does (tests/test_zip_lib.c: libzip loaded only then)
    dst = os.path.join(OUT, "views_deflated_records.pt")
    rezip(src, dst, zipfile.ZIP_DEFLATED, stored_pickle=True)
    write_json("views_deflated_records.pt", "torch-zip", 2, expected(view_tensors(), load_ours(dst)),
               copied=True)
    dtypes_src = os.path.join(OUT, "dtypes.pt")
    dst = os.path.join(OUT, "dtypes_deflated.pt")
    rezip(dtypes_src, dst, zipfile.ZIP_DEFLATED, rename_top="renamed")
    write_json("dtypes_deflated.pt", "torch-zip", 2, expected(dtype_tensors(), load_ours(dst)),
               copied=True)

    # big-endian
    for base, objf in (("views.pt", view_tensors), ("dtypes.pt", dtype_tensors)):
        dst = os.path.join(OUT, "be_" + base)
        make_big_endian(os.path.join(OUT, base), dst, storage_itemsizes(objf()))
        # torch 1.13 ignores "byteorder" (2.x swaps): the oracle is the saved objects
        write_json("be_" + base, "torch-zip", 2, expected(objf(), objf()),
                   byteorder="big", copied=True,
                   oracle="the saved tensors (torch 1.13 does not read byteorder)")

    # TorchScript
    torch.manual_seed(6)
    scripted = torch.jit.script(Net())
    ts_path = os.path.join(OUT, "script_net.pt")
    scripted.save(ts_path)
    # keep_vars: the archive's parameters require grad (state_dict() would detach them)
    ts_sd = OrderedDict((k, v) for k, v in scripted.state_dict(keep_vars=True).items())
    recs = []
    groups = {}
    for k, v in ts_sd.items():
        recs.append(tensor_record(k, v, groups))
    write_json("script_net.pt", "torchscript", 2, recs,
               oracle="torch.jit.script(...).state_dict() of the saved module")

    # sharded: two shard files and an index
    torch.manual_seed(7)
    big = Net()
    full = big.state_dict()
    keys = list(full.keys())
    shard_a = OrderedDict((k, full[k]) for k in keys[:2])
    shard_b = OrderedDict((k, full[k]) for k in keys[2:])
    fa, fb = "shard-00001-of-00002.bin", "shard-00002-of-00002.bin"
    torch.save(shard_a, os.path.join(OUT, fa))
    torch.save(shard_b, os.path.join(OUT, fb))
    wm = OrderedDict()
    for k in keys:
        wm[k] = fa if k in shard_a else fb
    total = sum(t.numel() * t.element_size() for t in full.values())
    with open(os.path.join(OUT, "sharded.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, fh, indent=2)
        fh.write("\n")
    recs = []
    groups = {}
    for k in keys:
        shard = load_ours(os.path.join(OUT, wm[k]))
        r = tensor_record(k, shard[k], groups)
        r["storage_group"] = keys.index(k)  # different files: never shared
        recs.append(r)
    write_json("sharded.index.json", "sharded", 2, recs)

    # hand-made v3 / UntypedStorage / parameter-with-state / from_type
    write_hand_v3("hand_v3.pt")
    # old tar format
    write_tar("tar_format.pt")

    names = sorted(n for n in os.listdir(OUT) if n.endswith(".json") and n != "sharded.index.json"
                   or n == "sharded.index.json.json")
    with open(os.path.join(OUT, "INDEX"), "w") as fh:
        for n in names:
            fh.write(n[:-5] + "\n")
    print("wrote", len(names), "fixtures to", OUT)


if __name__ == "__main__":
    main()
