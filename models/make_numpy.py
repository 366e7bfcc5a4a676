#!/usr/bin/python3
"""Generate the NumPy / joblib / .npy / .npz fixtures in models/numpy/.

Run with Debian's interpreter only:  /usr/bin/python3 models/make_numpy.py
(numpy 1.24, joblib 1.2, scikit-learn 1.2.1).  Deterministic: fixed data and
seeds; the script re-executes itself with PYTHONHASHSEED=0.

For every fixture file NAME it writes NAME.json (the expected arrays, see
models/README.md "numpy/") computed by NumPy from the original objects and
checked by loading OUR OWN files back with pickle / joblib / numpy (never a
file we did not make).
"""
import gzip
import hashlib
import io
import json
import os
import pickle
import pickletools
import struct
import sys
import types
import zipfile
import zlib

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np  # noqa: E402
import joblib  # noqa: E402
import joblib.numpy_pickle as jnp  # noqa: E402
import joblib.numpy_pickle_compat as jcompat  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy")
RAW_HEX_MAX = 4096   # arrays up to this many bytes carry their full native bytes
VALUES_MAX = 64      # numeric arrays up to this many elements carry every value

# --------------------------------------------------------------------------
# The arrays


def make_arrays():
    a = {}
    a["b1"] = np.array([True, False, True, True, False])
    a["i1"] = np.array([-128, -1, 0, 1, 127], dtype="i1")
    a["i2"] = np.array([-32768, -300, 0, 300, 32767], dtype="<i2")
    a["i4"] = np.array([-2**31, -70000, 0, 70000, 2**31 - 1], dtype="<i4")
    a["i8"] = np.array([-2**63, -2**40, 0, 2**40, 2**63 - 1], dtype="<i8")
    a["u1"] = np.array([0, 1, 128, 255], dtype="u1")
    a["u2"] = np.array([0, 1, 40000, 65535], dtype="<u2")
    a["u4"] = np.array([0, 1, 3000000000, 2**32 - 1], dtype="<u4")
    a["u8"] = np.array([0, 1, 2**63, 2**64 - 1], dtype="<u8")
    a["f2"] = np.array([0.0, -1.5, 65504.0, 6.1e-5, np.inf], dtype="<f2")
    a["f4"] = np.linspace(-3.0, 3.0, 7).astype("<f4")
    a["f8"] = np.array([0.1, -2.5, 1e300, -0.0, np.pi, 5e-324], dtype="<f8")
    a["f8_special"] = np.array([np.nan, np.inf, -np.inf, -0.0], dtype="<f8")
    a["c8"] = np.array([1 + 2j, -0.5j, 3.25], dtype="<c8")
    a["c16"] = np.array([1e200 - 1j, 0j, -2.5 + 0.125j], dtype="<c16")
    a["U5"] = np.array(["abc", "h\u00e9llo", "", "z\U0001F600"], dtype="<U5")
    a["S4"] = np.array([b"ab", b"\x00x", b"abcd", b""], dtype="S4")
    a["V3"] = np.array([b"\x01\x02\x03", b"\xff\x00\x7f"], dtype="V3")
    obj = np.empty(5, dtype=object)
    obj[:] = [1, "two", None, 3.5, -(2**70)]
    a["O"] = obj
    a["M8ns"] = np.array(["2021-03-04T05:06:07.123456789", "NaT", "1970-01-01"],
                         dtype="datetime64[ns]")
    a["M8D"] = np.array(["2000-02-29", "1969-12-31"], dtype="datetime64[D]")
    a["M8_10ms"] = np.array([0, 5, -7], dtype="datetime64[10ms]")
    a["m8s"] = np.array([0, 3600, -1], dtype="timedelta64[s]")
    st = np.dtype([("a", "<i4"), ("b", "<f8", (2,)), ("c", "S3")])
    a["struct"] = np.array([(1, (0.5, 1.5), b"xy"), (-2, (2.5, -3.5), b"abc")], dtype=st)
    al = np.dtype({"names": ["x", "y", "z"], "formats": ["u1", "<f4", "<i8"],
                   "offsets": [0, 4, 8], "itemsize": 24})
    sa = np.zeros(3, dtype=al)
    sa["x"] = [1, 2, 3]
    sa["y"] = [0.5, -0.25, 8.0]
    sa["z"] = [-1, 2**40, 7]
    a["struct_aligned"] = sa
    nested = np.dtype([("p", [("x", "<f4"), ("y", "<f4")]), ("n", "u1"), ("m", "<i2", (2, 2))])
    na = np.zeros(2, dtype=nested)
    na["p"]["x"] = [1.0, 2.0]
    na["p"]["y"] = [-1.0, -2.0]
    na["n"] = [9, 10]
    na["m"] = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
    a["struct_nested"] = na
    a["be_f8"] = np.array([1.0, -2.5, 1e10], dtype=">f8")
    a["be_i4"] = np.array([1, -2, 2**30], dtype=">i4")
    a["be_u2"] = np.array([1, 258, 65535], dtype=">u2")
    a["be_c16"] = np.array([1 + 1j, -3.5 + 2j], dtype=">c16")
    a["be_U3"] = np.array(["ab", "\u00e9\u00e8x"], dtype=">U3")
    a["be_struct"] = np.array([(1, 2.5), (-3, 0.125)], dtype=[("i", ">i4"), ("f", ">f8")])
    a["fortran_f8"] = np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4) * 1.5)
    a["fortran_i4_3d"] = np.asfortranarray(np.arange(24, dtype="<i4").reshape(2, 3, 4) - 5)
    a["c3d_f4"] = (np.arange(24, dtype="<f4").reshape(2, 3, 4) / 7).astype("<f4")
    a["zero_d_f8"] = np.array(3.25)
    a["zero_d_i2"] = np.array(-7, dtype="<i2")
    a["empty_f8"] = np.zeros((0, 3))
    a["empty_U2"] = np.zeros(0, dtype="<U2")
    a["empty_i8"] = np.zeros((2, 0), dtype="<i8")
    a["strided"] = np.arange(30, dtype="<i8")[::3]
    rng = np.random.RandomState(1234)
    a["big_f8"] = rng.standard_normal(4096)
    a["big_f4_2d"] = rng.standard_normal((64, 33)).astype("<f4")
    return a


def make_scalars():
    return {
        "s_f8": np.float64(2.5),
        "s_f4": np.float32(-0.75),
        "s_i4": np.int32(-7),
        "s_u8": np.uint64(2**64 - 2),
        "s_b": np.bool_(True),
        "s_c16": np.complex128(1 - 2j),
        "s_U": np.str_("h\u00e9"),
        "s_M8": np.datetime64("2020-01-02", "D"),
    }


# --------------------------------------------------------------------------
# Expected-array description


def jnum(x):
    x = float(x)
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return x


def native(a):
    """The array in native byte order, C-contiguous (fields swapped too)."""
    dt = a.dtype
    if dt.byteorder in ("<", ">", "=") or dt.fields:
        dt = dt.newbyteorder("=")
    return np.ascontiguousarray(a.astype(dt, copy=True))


def dtype_desc(dt):
    d = {"str": dt.str, "itemsize": dt.itemsize, "kind": dt.kind,
         "byteorder": dt.byteorder if dt.byteorder != "=" else ("<" if sys.byteorder == "little" else ">")}
    if dt.kind in "Mm":
        d["unit"] = np.datetime_data(dt)[0]
        n = np.datetime_data(dt)[1]
        if n != 1:
            d["unit"] = "%d%s" % (n, d["unit"])
    if dt.subdtype is not None:
        d["sub_shape"] = list(dt.subdtype[1])
        d["base"] = dtype_desc(dt.subdtype[0])
    if dt.names is not None:
        d["fields"] = [{"name": n, "offset": dt.fields[n][1], "dtype": dtype_desc(dt.fields[n][0])}
                       for n in dt.names]
    return d


def obj_item(x):
    if x is None:
        return {"kind": "none"}
    if isinstance(x, bool):
        return {"kind": "bool", "value": x}
    if isinstance(x, int):
        return {"kind": "int", "value": str(x)}
    if isinstance(x, float):
        return {"kind": "float", "value": jnum(x)}
    if isinstance(x, str):
        return {"kind": "str", "value": x}
    if isinstance(x, bytes):
        return {"kind": "bytes", "hex": x.hex()}
    return {"kind": "other", "repr": repr(x)}


def describe(path, a, expect_mapped=None):
    a = np.asarray(a)
    fort = bool(a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous)
    # strides of the array as every loader rebuilds it: contiguous in C or Fortran order
    # (numpy keeps 0 strides for some empty arrays it unpickles; views are stored contiguous)
    strides, st = [0] * a.ndim, a.dtype.itemsize
    for k in (range(a.ndim) if fort else reversed(range(a.ndim))):
        strides[k] = st
        st *= max(a.shape[k], 1)
    d = {"path": path, "dtype": dtype_desc(a.dtype), "shape": list(a.shape),
         "strides": strides, "nelems": int(a.size), "nbytes": int(a.nbytes),
         "fortran": fort}
    if expect_mapped is not None:
        d["expect_mapped"] = expect_mapped
    if a.dtype.hasobject:
        d["items"] = [obj_item(x) for x in a.reshape(-1)]
        return d
    nat = native(a)
    if nat.nbytes <= RAW_HEX_MAX and a.dtype.names is None:  # structs: field_hex (gaps)
        d["raw_hex"] = nat.tobytes().hex()
    if a.dtype.kind in "biufcMm":
        flat = nat.reshape(-1)
        if a.dtype.kind == "c":
            d["sum"] = [jnum(flat.real.astype(np.float64).sum()), jnum(flat.imag.astype(np.float64).sum())]
        elif a.dtype.kind in "Mm":
            d["sum"] = jnum(flat.view("<i8").astype(np.float64).sum()) if flat.size else 0.0
        else:
            d["sum"] = jnum(flat.astype(np.float64).sum())
        idx = list(range(flat.size)) if flat.size <= VALUES_MAX else \
            sorted(set([0, 1, flat.size // 2, flat.size - 1]))
        d["index"] = idx
        if a.dtype.kind == "c":
            d["values"] = [[jnum(flat[i].real), jnum(flat[i].imag)] for i in idx]
        elif a.dtype.kind in "Mm":
            d["values"] = [str(int(flat.view("<i8")[i])) for i in idx]
        elif a.dtype.kind in "biu":
            d["values"] = [str(int(flat[i])) for i in idx]
        else:
            d["values"] = [jnum(flat[i]) for i in idx]
    elif a.dtype.kind == "U":
        d["strings"] = [str(x) for x in a.reshape(-1)]
    elif a.dtype.kind == "S":
        d["strings_hex"] = [bytes(x).hex() for x in a.reshape(-1)]
    if a.dtype.names is not None:
        d["field_hex"] = {n: native(a[n]).tobytes().hex() for n in a.dtype.names}
    return d


def write_json(name, doc):
    with open(os.path.join(OUT, name + ".json"), "w") as fp:
        json.dump(doc, fp, indent=1, sort_keys=True, ensure_ascii=False)
        fp.write("\n")


def same(x, y):
    """Deep equality of what we dumped and what Python loads back."""
    if isinstance(x, np.ndarray):
        # numpy's _reconstruct path turns big-endian data native on load: compare natively
        return (isinstance(y, np.ndarray) and native(x).dtype == native(y).dtype and
                x.shape == y.shape and
                (x.dtype.hasobject and list(x.reshape(-1)) == list(y.reshape(-1)) or
                 not x.dtype.hasobject and native(x).tobytes() == native(y).tobytes()))
    if isinstance(x, np.generic):
        return type(x) == type(y) and x.tobytes() == y.tobytes()
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    return x == y


# --------------------------------------------------------------------------
# Pickle data offsets (for "expect_mapped")

def pickle_data_ops(data):
    """Offsets where the payload of each BINBYTES/BYTEARRAY8/... opcode starts."""
    res = []
    for op, arg, pos in pickletools.genops(data):
        if op.name in ("BINBYTES", "BINBYTES8", "SHORT_BINBYTES", "BYTEARRAY8"):
            hdr = {"SHORT_BINBYTES": 1, "BINBYTES": 4, "BINBYTES8": 8, "BYTEARRAY8": 8}[op.name]
            res.append((pos + 1 + hdr, len(arg)))
    return res


def pickle_mapped_expectations(data, arrays, proto):
    """For protocol >= 3 arrays carried as raw bytes, whether their offset is 16-aligned.

    Only arrays whose bytes appear exactly once among the BIN*BYTES payloads get a
    verdict; for protocol < 3 (latin-1 str) data always needs a copy."""
    out = {}
    ops = pickle_data_ops(data)
    for k, a in arrays.items():
        if not isinstance(a, np.ndarray):
            continue
        if a.dtype.hasobject or a.dtype.byteorder == ">" or any(
                (a.dtype.fields or {}).get(n, (np.dtype("u1"),))[0].byteorder == ">"
                for n in (a.dtype.names or ())):
            out[k] = False
            continue
        if proto < 3:
            out[k] = False if a.nbytes else None
            continue
        raw = a.tobytes(order="F" if (a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous) else "C")
        hits = [off for off, n in ops if n == len(raw) and data[off:off + n] == raw]
        if len(hits) == 1 and len(raw) > 0:
            out[k] = hits[0] % 16 == 0
        else:
            out[k] = None
    return out


# --------------------------------------------------------------------------
# Fixture families


def gen_pickles(arrays, scalars):
    for proto in range(6):
        obj = dict(arrays)
        obj.update(scalars)
        data = pickle.dumps(obj, protocol=proto)
        name = "p%d_arrays" % proto
        with open(os.path.join(OUT, name + ".pkl"), "wb") as fp:
            fp.write(data)
        back = pickle.loads(data)
        assert same(obj, back), name
        exp = pickle_mapped_expectations(data, obj, proto)
        doc = {"file": name + ".pkl", "format": "pickle", "protocol": proto,
               "arrays": [describe(k, v, exp.get(k)) for k, v in obj.items()]}
        write_json(name, doc)

    # protocol 5 with out-of-band buffers
    oob = {k: arrays[k] for k in ("f8", "i4", "fortran_f8", "struct", "be_f8", "big_f8", "O")}
    bufs = []
    data = pickle.dumps(oob, protocol=5, buffer_callback=bufs.append)
    name = "p5_oob"
    with open(os.path.join(OUT, name + ".pkl"), "wb") as fp:
        fp.write(data)
    raws = [bytes(b.raw()) for b in bufs]
    for i, r in enumerate(raws):
        with open(os.path.join(OUT, "%s.buf%d" % (name, i)), "wb") as fp:
            fp.write(r)
    back = pickle.loads(data, buffers=raws)
    assert same(oob, back)
    doc = {"file": name + ".pkl", "format": "pickle", "protocol": 5,
           "buffers": ["%s.buf%d" % (name, i) for i in range(len(raws))],
           "arrays": [describe(k, v) for k, v in oob.items()]}
    write_json(name, doc)

    # numpy >= 2 names (numpy._core.*): same bytes with the module renamed
    small = {k: arrays[k] for k in ("f8", "i8", "fortran_f8", "O", "U5", "struct")}
    small["s_f8"] = scalars["s_f8"]
    for proto in (2, 4, 5):
        data = pickle.dumps(small, protocol=proto)
        data2 = rename_numpy_core(data)
        assert data2 != data
        name = "p%d_numpy2_names" % proto
        with open(os.path.join(OUT, name + ".pkl"), "wb") as fp:
            fp.write(data2)
        doc = {"file": name + ".pkl", "format": "pickle", "protocol": proto,
               "arrays": [describe(k, v) for k, v in small.items()]}
        write_json(name, doc)

    # the older 4-tuple ndarray state (version 0: shape, dtype, is_fortran, raw)
    class OldArr:
        pass
    name = "p2_state4"
    data = pickle4tuple(arrays["f4"], arrays["fortran_f8"])
    with open(os.path.join(OUT, name + ".pkl"), "wb") as fp:
        fp.write(data)
    back = pickle.loads(data)
    assert same({"f4": arrays["f4"], "fortran_f8": arrays["fortran_f8"]}, back)
    doc = {"file": name + ".pkl", "format": "pickle", "protocol": 2,
           "arrays": [describe("f4", back["f4"]), describe("fortran_f8", back["fortran_f8"])]}
    write_json(name, doc)


def rename_numpy_core(data):
    """Rewrite numpy.core.* global names to numpy._core.* by re-pickling with opcodes
    edited: we go through pickletools ops and rebuild GLOBAL / SHORT_BINUNICODE text."""
    out = bytearray()
    ops = list(pickletools.genops(data))
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(data)
        chunk = data[pos:end]
        if op.name == "GLOBAL" and arg.startswith("numpy.core."):
            mod, nm = arg.split(" ", 1)
            chunk = b"c" + mod.replace("numpy.core.", "numpy._core.").encode() + b"\n" + nm.encode() + b"\n"
        elif op.name == "SHORT_BINUNICODE" and arg.startswith("numpy.core."):
            s = arg.replace("numpy.core.", "numpy._core.").encode()
            chunk = b"\x8c" + bytes([len(s)]) + s
        elif op.name == "BINUNICODE" and arg.startswith("numpy.core."):
            s = arg.replace("numpy.core.", "numpy._core.").encode()
            chunk = b"X" + struct.pack("<I", len(s)) + s
        elif op.name == "FRAME":
            chunk = b""   # frames are dropped (lengths would be wrong); they are optional
        out += chunk
    return bytes(out)


def pickle4tuple(f4, f8f):
    """Protocol 2 pickle of {'f4': .., 'fortran_f8': ..} whose ndarray states are the
    4-tuple form (shape, dtype, is_fortran, raw) numpy still accepts."""
    class R:
        def __init__(self, a):
            self.a = a

        def __reduce__(self):
            a = self.a
            fort = bool(a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous)
            raw = a.tobytes(order="F" if fort else "C")
            return (np.core.multiarray._reconstruct, (np.ndarray, (0,), b"b"),
                    (a.shape, a.dtype, fort, raw))
    return pickle.dumps({"f4": R(f4), "fortran_f8": R(f8f)}, protocol=2)


def joblib_arrays(arrays):
    keys = ["b1", "i1", "i8", "u8", "f2", "f4", "f8", "c16", "U5", "S4", "O", "M8ns", "m8s",
            "struct", "struct_aligned", "struct_nested", "be_f8", "be_struct", "fortran_f8",
            "fortran_i4_3d", "c3d_f4", "zero_d_f8", "empty_f8", "empty_U2", "strided",
            "big_f8", "big_f4_2d"]
    return {k: arrays[k] for k in keys}


def joblib_expect(arr, compressed):
    exp = {}
    for k, a in arr.items():
        if compressed or a.dtype.hasobject:
            exp[k] = False
        elif a.dtype.byteorder == ">" or any(a.dtype.fields[n][0].byteorder == ">"
                                             for n in (a.dtype.names or ())):
            exp[k] = False
        else:
            exp[k] = True if a.nbytes else None
    return exp


def gen_joblib(arrays):
    arr = joblib_arrays(arrays)
    # uncompressed, default protocol and protocol 2 / 5
    for name, proto in (("jl_plain", None), ("jl_plain_p2", 2), ("jl_plain_p5", 5)):
        path = os.path.join(OUT, name + ".joblib")
        if proto is None:
            joblib.dump(arr, path)
        else:
            joblib.dump(arr, path, protocol=proto)
        assert same(arr, joblib.load(path))
        exp = joblib_expect(arr, False)
        write_json(name, {"file": name + ".joblib", "format": "joblib", "codec": None,
                          "arrays": [describe(k, v, exp[k]) for k, v in arr.items()]})
    # joblib <= 1.1: no alignment padding (no numpy_array_alignment_bytes in the state)
    orig_init = jnp.NumpyArrayWrapper.__init__

    def old_init(self, *a, **kw):
        orig_init(self, *a, **kw)
        del self.numpy_array_alignment_bytes
    jnp.NumpyArrayWrapper.__init__ = old_init
    try:
        name = "jl_nopad"
        path = os.path.join(OUT, name + ".joblib")
        joblib.dump(arr, path)
        assert same(arr, joblib.load(path))
        write_json(name, {"file": name + ".joblib", "format": "joblib", "codec": None,
                          "arrays": [describe(k, v) for k, v in arr.items()]})
        # the same under the old sklearn.externals.joblib module name
        mod = types.ModuleType("sklearn.externals.joblib.numpy_pickle")
        mod.NumpyArrayWrapper = jnp.NumpyArrayWrapper
        sys.modules["sklearn.externals.joblib"] = types.ModuleType("sklearn.externals.joblib")
        sys.modules["sklearn.externals.joblib.numpy_pickle"] = mod
        jnp.NumpyArrayWrapper.__module__ = "sklearn.externals.joblib.numpy_pickle"
        try:
            name = "jl_sklearn_externals"
            path = os.path.join(OUT, name + ".joblib")
            small = {k: arr[k] for k in ("f8", "fortran_f8", "O", "struct")}
            joblib.dump(small, path, protocol=2)
            data = open(path, "rb").read()
            assert b"sklearn.externals.joblib.numpy_pickle" in data
            assert same(small, joblib.load(path))
            write_json(name, {"file": name + ".joblib", "format": "joblib", "codec": None,
                              "arrays": [describe(k, v) for k, v in small.items()]})
        finally:
            jnp.NumpyArrayWrapper.__module__ = "joblib.numpy_pickle"
            del sys.modules["sklearn.externals.joblib.numpy_pickle"]
            del sys.modules["sklearn.externals.joblib"]
    finally:
        jnp.NumpyArrayWrapper.__init__ = orig_init
    # compressed
    codecs = [("zlib", "zlib"), ("gzip", "gzip"), ("bz2", "bz2"), ("xz", "xz"),
              ("lzma", "lzma"), ("lz4", "lz4")]
    for codec, cname in codecs:
        name = "jl_" + codec
        path = os.path.join(OUT, name + ".joblib")
        joblib.dump(arr, path, compress=(cname, 3))
        assert same(arr, joblib.load(path))
        write_json(name, {"file": name + ".joblib", "format": "joblib", "codec": codec,
                          "arrays": [describe(k, v, False) for k, v in arr.items()]})


def gen_joblib_old(arrays):
    """Pre-0.10 joblib formats, written with joblib's own compat classes.

    jl_old_multi.pkl: a protocol 2 pickle whose arrays are NDArrayWrapper(filename)
    with the data in sidecar .npy files beside it (jl_old_multi.pkl_01.npy ...).
    jl_old_zf.pkl: the 'ZF' zlib container around a pickle of plain arrays
    (joblib 0.9 wrote small arrays inline like this)."""
    small = {"f8": arrays["f8"], "fortran_f8": arrays["fortran_f8"], "i4": arrays["i4"],
             "struct": arrays["struct"]}
    # multi-file
    name = "jl_old_multi"
    files = []
    wrapped = {}
    for i, (k, a) in enumerate(small.items()):
        fn = "%s.pkl_%02d.npy" % (name, i + 1)
        np.save(os.path.join(OUT, fn), a, allow_pickle=False)
        files.append(fn)
        wrapped[k] = jcompat.NDArrayWrapper(fn, np.ndarray, allow_mmap=True)
    # joblib 0.9 wrote the class under joblib.numpy_pickle
    jcompat.NDArrayWrapper.__module__ = "joblib.numpy_pickle"
    try:
        data = pickle.dumps(wrapped, protocol=2)
    finally:
        jcompat.NDArrayWrapper.__module__ = "joblib.numpy_pickle_compat"
    assert b"joblib.numpy_pickle\nNDArrayWrapper" in data
    with open(os.path.join(OUT, name + ".pkl"), "wb") as fp:
        fp.write(data)
    assert same(small, joblib.load(os.path.join(OUT, name + ".pkl")))
    write_json(name, {"file": name + ".pkl", "format": "joblib-multi", "sidecars": files,
                      "arrays": [describe(k, v) for k, v in small.items()]})
    # ZF
    name = "jl_old_zf"
    buf = io.BytesIO()
    jcompat.write_zfile(buf, pickle.dumps(small, protocol=2), compress=3)
    with open(os.path.join(OUT, name + ".pkl"), "wb") as fp:
        fp.write(buf.getvalue())
    assert buf.getvalue()[:2] == b"ZF"
    assert same(small, joblib.load(os.path.join(OUT, name + ".pkl")))
    write_json(name, {"file": name + ".pkl", "format": "joblib-zf", "codec": "zlib",
                      "arrays": [describe(k, v, False) for k, v in small.items()]})


def gen_npy(arrays):
    keys = ["b1", "i2", "u8", "f2", "f4", "f8", "c8", "U5", "S4", "V3", "M8ns", "m8s",
            "struct", "struct_aligned", "struct_nested", "be_f8", "be_U3", "be_struct",
            "fortran_f8", "fortran_i4_3d", "zero_d_f8", "empty_f8", "empty_i8", "big_f8"]
    for k in keys:
        a = arrays[k]
        name = "npy_" + k
        np.save(os.path.join(OUT, name + ".npy"), a, allow_pickle=False)
        b = np.load(os.path.join(OUT, name + ".npy"))
        assert same(a, b) or a.dtype.names is not None
        be = a.dtype.byteorder == ">" or any(a.dtype.fields[n][0].byteorder == ">"
                                            for n in (a.dtype.names or ()))
        write_json(name, {"file": name + ".npy", "format": "npy",
                          "arrays": [describe("", b, (not be) if b.nbytes else None)]})
    # header versions 2.0 and 3.0 (3.0: utf-8 field names)
    from numpy.lib import format as fmt
    for ver, k, a in (((2, 0), "v2_f8", arrays["fortran_f8"]),
                      ((3, 0), "v3_utf8", np.array([(1, 2.0)], dtype=[("\u00e9t\u00e9", "<i4"), ("x", "<f8")]))):
        name = "npy_" + k
        with open(os.path.join(OUT, name + ".npy"), "wb") as fp:
            fmt.write_array(fp, a, version=ver, allow_pickle=False)
        b = np.load(os.path.join(OUT, name + ".npy"))
        write_json(name, {"file": name + ".npy", "format": "npy", "version": list(ver),
                          "arrays": [describe("", b, True)]})


def zip_data_offsets(path):
    res = {}
    with zipfile.ZipFile(path) as z, open(path, "rb") as fp:
        for info in z.infolist():
            fp.seek(info.header_offset)
            h = fp.read(30)
            nlen, xlen = struct.unpack("<HH", h[26:30])
            res[info.filename] = (info.header_offset + 30 + nlen + xlen, info.compress_type)
    return res


def gen_npz(arrays):
    keys = ["f8", "i8", "U5", "struct", "be_f8", "fortran_f8", "zero_d_f8", "empty_f8",
            "big_f8", "big_f4_2d", "M8ns"]
    sel = {k: arrays[k] for k in keys}
    for name, fn in (("npz_stored", np.savez), ("npz_deflated", np.savez_compressed)):
        path = os.path.join(OUT, name + ".npz")
        fn(path, **sel)
        offs = zip_data_offsets(path)
        docs = []
        with np.load(path) as z:
            for k in keys:
                b = z[k]
                assert same(sel[k], b)
                member = k + ".npy"
                off, ctype = offs[member]
                if ctype != zipfile.ZIP_STORED or b.dtype.byteorder == ">" or not b.nbytes:
                    exp = False if b.nbytes else None
                else:
                    # data offset of the array inside the archive: member data + npy header
                    with open(path, "rb") as fp:
                        fp.seek(off)
                        head = fp.read(12)
                    hl = struct.unpack("<H", head[8:10])[0]
                    exp = (off + 10 + hl) % 16 == 0
                d = describe(k, b, exp)
                d["member"] = member
                docs.append(d)
        write_json(name, {"file": name + ".npz", "format": "npz", "arrays": docs})


# --------------------------------------------------------------------------
# scikit-learn models


def est_arrays(obj, path="", seen=None, out=None):
    """Arrays reachable through dict keys, list/tuple indices and object state
    dicts (what the C path walk reports), first path wins for shared objects."""
    if seen is None:
        seen, out = set(), []
    if id(obj) in seen:
        return out
    if isinstance(obj, (np.ndarray, np.generic)):
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            out.append((path, obj))
        return out
    join = (lambda k: "%s.%s" % (path, k)) if path else (lambda k: str(k))
    if isinstance(obj, dict):
        seen.add(id(obj))
        for k, v in obj.items():
            est_arrays(v, join(k), seen, out)
    elif isinstance(obj, (list, tuple)):
        seen.add(id(obj))
        for i, v in enumerate(obj):
            est_arrays(v, join(i), seen, out)
    elif type(obj).__module__.startswith("sklearn"):
        seen.add(id(obj))
        r = obj.__reduce_ex__(4)
        state = r[2] if len(r) > 2 else None
        if isinstance(state, dict):
            for k, v in state.items():
                est_arrays(v, join(k), seen, out)
    return out


def gen_sklearn():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = load_iris(return_X_y=True)
    models = {
        "sk_logreg": LogisticRegression(max_iter=500).fit(X, y),
        "sk_pipeline": Pipeline([("scale", StandardScaler()),
                                 ("clf", LogisticRegression(max_iter=500))]).fit(X, y),
        "sk_forest": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y),
    }
    for name, m in models.items():
        arrs = est_arrays(m)
        cls = type(m).__module__ + "." + type(m).__name__
        # pickle
        data = pickle.dumps(m, protocol=4)
        with open(os.path.join(OUT, name + ".pkl"), "wb") as fp:
            fp.write(data)
        write_json(name + "_pkl", {"file": name + ".pkl", "format": "pickle", "protocol": 4,
                                   "class": cls, "arrays": [describe(p, a) for p, a in arrs]})
        # joblib uncompressed
        path = os.path.join(OUT, name + ".joblib")
        joblib.dump(m, path)
        jarrs = est_arrays(joblib.load(path))
        assert [p for p, _ in jarrs] == [p for p, _ in arrs]
        write_json(name + "_joblib", {
            "file": name + ".joblib", "format": "joblib", "class": cls,
            "arrays": [describe(p, a, joblib_expect({p: a}, False)[p]) for p, a in arrs]})
        # joblib zlib
        path = os.path.join(OUT, name + ".joblib.z")
        joblib.dump(m, path, compress=3)
        write_json(name + "_joblib_z", {"file": name + ".joblib.z", "format": "joblib",
                                        "codec": "zlib", "class": cls,
                                        "arrays": [describe(p, a, False) for p, a in arrs]})


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        os.unlink(os.path.join(OUT, fn))
    arrays = make_arrays()
    scalars = make_scalars()
    gen_pickles(arrays, scalars)
    gen_joblib(arrays)
    gen_joblib_old(arrays)
    gen_npy(arrays)
    gen_npz(arrays)
    gen_sklearn()
    names = sorted(os.listdir(OUT))
    with open(os.path.join(OUT, "index.json"), "w") as fp:
        json.dump(sorted(n[:-5] for n in names if n.endswith(".json")), fp, indent=1)
        fp.write("\n")
    print("wrote %d files to %s" % (len(names) + 1, OUT))


if __name__ == "__main__":
    main()
