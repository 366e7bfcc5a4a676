#!/usr/bin/python3
"""Extra PyTorch legacy-format fixtures in models/torch_legacy/ (torch 1.13).

Run with Debian's interpreter only:  /usr/bin/python3 models/make_torch_legacy.py
Deterministic (fixed seeds, storage keys renamed "0", "1", ... and records in
key order, like models/make_torch.py, whose helpers it reuses).  Each NAME
gets NAME.json in the format described in make_torch.py; expected values come
from torch.load of these files (our own), checked against the saved objects.

  legacy_p1.pt              protocol 1 (no PROTO, magic number as LONG text)
  legacy_module.pt          a whole nn.Module ('module' persistent ids)
  legacy_train.pt           training checkpoint with Adam state
  legacy_special.pt         dense + quantized + sparse + meta tensors: storages
                            of element sizes 1/4/8 interleaved in the records
  legacy_storage_views.pt   hand-written pre-1.0 storage views
                            (view_metadata = (view key, offset, numel));
                            storage_offset/storage_group are left out of its
                            JSON: torch reports them relative to the view,
                            ckpt relative to the root storage it shares
  legacy_sharded.index.json two legacy shards + index (weight_map)
  legacy_cuda.pt            storages torch.cuda.FloatStorage at 'cuda:0' (as saved
                            from a GPU; loaded with map_location='cpu')
  tar_pax.pt, tar_gnu.pt    torch/tar_format.pt re-packed with PAX headers /
                            in GNU format with a long-named member first
"""
import io
import json
import os
import pickle
import struct
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_torch as mt  # noqa: E402  (re-executes with PYTHONHASHSEED=0)
import torch  # noqa: E402

OUT = os.path.join(HERE, "torch_legacy")


def write_json(name, fmt, protocol, recs, **extra):
    d = {"kind": "torch", "file": name, "format": fmt, "protocol": protocol,
         "byteorder": "little", "copied": False, "tensors": recs}
    d.update(extra)
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(d, fh, indent=1, sort_keys=True)
        fh.write("\n")


def canonical_legacy(path, protocol):
    """make_torch.canonical_legacy, also for pickled modules ('module' ids)."""
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
                sizes[pid[2]] = dict(mt.ELEMENT_SIZE, QInt8Storage=1, QUInt8Storage=1,
                                     QInt32Storage=4)[pid[1]]
                return None
            return Dummy
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


def save_legacy(name, obj, protocol=2, **extra):
    path = os.path.join(OUT, name)
    with open(path, "wb") as fh:
        torch.save(obj, fh, pickle_module=mt.DeterministicPickleModule(), pickle_protocol=protocol,
                   _use_new_zipfile_serialization=False)
    canonical_legacy(path, protocol)
    write_json(name, "torch-legacy", protocol, mt.expected(obj, mt.load_ours(path)), **extra)


class _Marker:
    def __init__(self, pid):
        self.pid = pid


class _Rebuild:
    def __init__(self, args):
        self.args = args

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def write_storage_views(name):
    """One float storage 'root' of 12 elements; tensors over two views of it."""
    root = torch.arange(12, dtype=torch.float32) * 0.5 - 1.0
    v1 = ("storage", torch.FloatStorage, "0", "cpu", 12, ("v1", 2, 6))   # elements 2..7
    v2 = ("storage", torch.FloatStorage, "0", "cpu", 12, ("v2", 8, 4))   # elements 8..11
    whole = ("storage", torch.FloatStorage, "0", "cpu", 12, None)
    obj = OrderedDict()
    obj["whole"] = _Rebuild((_Marker(whole), 0, (3, 4), (4, 1), False, OrderedDict()))
    obj["view1"] = _Rebuild((_Marker(v1), 0, (2, 3), (3, 1), False, OrderedDict()))
    obj["view1_tail"] = _Rebuild((_Marker(v1), 4, (2,), (1,), False, OrderedDict()))
    obj["view2_t"] = _Rebuild((_Marker(v2), 0, (2, 2), (1, 2), False, OrderedDict()))

    class P(pickle.Pickler):
        def persistent_id(self, o):
            return o.pid if isinstance(o, _Marker) else None

    buf = io.BytesIO()
    for head in (mt.LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True,
                                         "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(head, buf, protocol=2)
    P(buf, protocol=2).dump(obj)
    pickle.dump(["0"], buf, protocol=2)
    buf.write(struct.pack("<q", 12))
    buf.write(root.numpy().tobytes())
    path = os.path.join(OUT, name)
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())
    loaded = mt.load_ours(path)
    want = OrderedDict()
    want["whole"] = root.reshape(3, 4)
    want["view1"] = root[2:8].reshape(2, 3)
    want["view1_tail"] = root[6:8]
    want["view2_t"] = root[8:12].as_strided((2, 2), (1, 2))
    recs = mt.expected(want, loaded)
    for r in recs:
        r.pop("storage_offset", None)
        r.pop("storage_group", None)
    write_json(name, "torch-legacy", 2, recs,
               oracle="torch.load of the hand-written file, checked against slices of the root")


def write_sharded():
    torch.manual_seed(11)
    conv = mt.trained_convnet()
    full = conv.state_dict()
    keys = list(full.keys())
    half = len(keys) // 2
    names = ("legacy-00001-of-00002.bin", "legacy-00002-of-00002.bin")
    parts = (OrderedDict((k, full[k]) for k in keys[:half]),
             OrderedDict((k, full[k]) for k in keys[half:]))
    wm = OrderedDict()
    for nm, part in zip(names, parts):
        with open(os.path.join(OUT, nm), "wb") as fh:
            torch.save(part, fh, pickle_module=mt.DeterministicPickleModule(),
                       _use_new_zipfile_serialization=False)
        canonical_legacy(os.path.join(OUT, nm), 2)
        for k in part:
            wm[k] = nm
    total = sum(t.numel() * t.element_size() for t in full.values())
    with open(os.path.join(OUT, "legacy_sharded.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, fh, indent=2)
        fh.write("\n")
    recs = []
    for i, k in enumerate(keys):
        shard = mt.load_ours(os.path.join(OUT, wm[k]))
        if not torch.equal(shard[k], full[k]):
            raise SystemExit("shard tensor %r changed" % k)
        r = mt.tensor_record(k, shard[k], {})
        r["storage_group"] = i  # different storages (and files)
        recs.append(r)
    write_json("legacy_sharded.index.json", "sharded", 2, recs)


def write_cuda(name):
    """A state_dict as saved from a GPU: storages torch.cuda.FloatStorage at
    'cuda:0' (made by rewriting a CPU save; protocol 2 has no frames, so
    the pickle stays valid), loaded by torch with map_location='cpu'."""
    torch.manual_seed(12)
    obj = mt.Net().state_dict()
    path = os.path.join(OUT, name)
    with open(path, "wb") as fh:
        torch.save(obj, fh, pickle_module=mt.DeterministicPickleModule(), _use_new_zipfile_serialization=False)
    canonical_legacy(path, 2)
    with open(path, "rb") as fh:
        raw = fh.read()
    raw = raw.replace(b"ctorch\nFloatStorage\n", b"ctorch.cuda\nFloatStorage\n")
    raw = raw.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    if b"torch.cuda" not in raw or b"cuda:0" not in raw:
        raise SystemExit("cuda rewrite did not apply")
    with open(path, "wb") as fh:
        fh.write(raw)
    write_json(name, "torch-legacy", 2, mt.expected(obj, mt.load_ours(path)))


def write_tar_variants():
    """tar_format.pt's members re-packed by tarfile with PAX headers (path
    and a size record, a long-named extra member first) and in GNU format
    (a directory and a 150-character ././@LongLink name first)."""
    import tarfile
    src = os.path.join(HERE, "torch", "tar_format.pt")
    with tarfile.open(src) as t:
        members = [(m.name, t.extractfile(m).read()) for m in t.getmembers()]
    for name, fmt in (("tar_pax.pt", tarfile.PAX_FORMAT), ("tar_gnu.pt", tarfile.GNU_FORMAT)):
        path = os.path.join(OUT, name)
        with tarfile.open(path, "w", format=fmt) as tar:
            if fmt == tarfile.GNU_FORMAT:
                d = tarfile.TarInfo("dir")
                d.type = tarfile.DIRTYPE
                d.mtime = 0
                tar.addfile(d)
            extra = tarfile.TarInfo("x" * 150)
            extra.size = 3
            extra.mtime = 0
            tar.addfile(extra, io.BytesIO(b"abc"))
            for mname, data in members:
                ti = tarfile.TarInfo(mname)
                ti.size = len(data)
                ti.mtime = 0
                if fmt == tarfile.PAX_FORMAT:
                    ti.pax_headers = {"path": mname, "size": str(len(data)), "comment": "ckpt fixture"}
                tar.addfile(ti, io.BytesIO(data))
        loaded = mt.load_ours(path)
        want = mt.load_ours(src)
        write_json(name, "torch-tar", 2, mt.expected(want, loaded))


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        os.remove(os.path.join(OUT, fn))
    torch.manual_seed(0)
    save_legacy("legacy_p1.pt", mt.Net().state_dict(), protocol=1)
    conv = mt.trained_convnet()
    save_legacy("legacy_module.pt", conv,
                root_class=type(conv).__module__ + "." + type(conv).__qualname__)
    save_legacy("legacy_train.pt", mt.training_checkpoint())
    save_legacy("legacy_special.pt", mt.special_tensors())
    write_storage_views("legacy_storage_views.pt")
    write_sharded()
    write_tar_variants()
    write_cuda("legacy_cuda.pt")
    names = sorted(n[:-5] for n in os.listdir(OUT) if n.endswith(".json") and
                   (not n.endswith(".index.json") or n.endswith(".index.json.json")))
    with open(os.path.join(OUT, "INDEX"), "w") as fh:
        for n in names:
            fh.write(n + "\n")
    print("wrote", len(names), "fixtures to", OUT)


if __name__ == "__main__":
    main()
