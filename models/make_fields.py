#!/usr/bin/python3
"""Generate the element-reader fixtures in models/fields/ (tests/test_array_fields.c).

Run with Debian's interpreter only:  /usr/bin/python3 models/make_fields.py

For every fixture NAME it writes NAME.npy (np.save) and NAME.json:
  {"shape": [...], "fields": {field: {"f64": [...], "i64": [...]}}}   structured arrays
  {"shape": [...], "f64": [...], "i64": [...]}                        plain arrays
one entry per element in C order of the logical shape (numpy's .flat order,
whatever the memory order).  Entries are what numpy holds, converted the way
ckpt_array_get_f64 / ckpt_array_get_i64 / ckpt_array_field_* document it:
  f64: repr(float(x)) as a string ("inf", "nan", "-0.0" included), the real
       part of complex values, datetime64 as its int64 count; "TYPE" where the
       field is not numeric (bytes, subarray, nested record);
  i64: str(int) for integer/bool/datetime values and integral floats inside
       int64; "RANGE" for uint64 above 2**63-1 and fractional/non-finite/too
       large floats; "TYPE" for complex and non-numeric fields.
Fixed values only: re-running rewrites identical files.
"""
import json
import math
import os

import numpy as np
from sklearn.tree import DecisionTreeRegressor

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fields")
I64_LIM = 2 ** 63


def exp_f64(x, dt):
    if dt.names is not None or dt.subdtype is not None or dt.kind not in "biufcmM":
        return "TYPE"
    if dt.kind in "mM":
        return repr(float(np.array(x, dtype=dt).view("<i8" if dt.byteorder != ">" else ">i8")))
    if dt.kind == "c":
        return repr(float(x.real))
    return repr(float(x))


def exp_i64(x, dt):
    if dt.names is not None or dt.subdtype is not None or dt.kind not in "biufmM":
        return "TYPE"
    if dt.kind in "mM":
        return str(int(np.array(x, dtype=dt).view("<i8" if dt.byteorder != ">" else ">i8")))
    if dt.kind in "biu":
        v = int(x)
        return str(v) if -I64_LIM <= v < I64_LIM else "RANGE"
    v = float(x)
    if math.isfinite(v) and v == math.floor(v) and -I64_LIM <= v < I64_LIM:
        return str(int(v))
    return "RANGE"


def describe(a):
    d = {"shape": list(a.shape)}
    flat = [a.flat[k] for k in range(a.size)]
    if a.dtype.names is None:
        d["f64"] = [exp_f64(x, a.dtype) for x in flat]
        d["i64"] = [exp_i64(x, a.dtype) for x in flat]
        return d
    d["fields"] = {}
    for n in a.dtype.names:
        fdt = a.dtype.fields[n][0]
        d["fields"][n] = {"f64": [exp_f64(x[n], fdt) for x in flat],
                          "i64": [exp_i64(x[n], fdt) for x in flat]}
    return d


def mixed(order):
    """2x3 records with one field of every numeric kind plus non-numeric ones."""
    fields = [("b", "?"), ("i1", "i1"), ("u1", "u1"), ("i2", "i2"), ("u2", "u2"), ("i4", "i4"),
              ("u4", "u4"), ("i8", "i8"), ("u8", "u8"), ("f2", "f2"), ("f4", "f4"), ("f8", "f8"),
              ("c8", "c8"), ("t", "M8[s]"), ("s", "S3"), ("sub", "f8", (2,)),
              ("rec", [("x", "i4"), ("y", "f8")])]
    dt = np.dtype(fields).newbyteorder(order)  # recursive: nested and subarray fields too
    a = np.zeros((2, 3), dtype=dt)
    rows = [
        (True, -128, 255, -32768, 65535, -2 ** 31, 2 ** 32 - 1, -2 ** 63, 2 ** 64 - 1,
         65504.0, -0.0, 1.5, 3 - 4j, 0, b"ab", (1.0, 2.0), (7, 0.25)),
        (False, 127, 0, 32767, 1, 2 ** 31 - 1, 0, 2 ** 63 - 1, 2 ** 63 - 1,
         -2.0, 3.0, float("inf"), -1.5 + 0j, 1700000000, b"xyz", (3.0, 4.0), (-1, 1e300)),
        (True, -1, 7, -2, 3, 5, 6, 9007199254740993, 2 ** 63, 0.5, 16777216.0, float("nan"),
         2 + 0j, -86400, b"", (0.0, 0.0), (0, 0.0)),
        (False, 0, 1, 0, 0, -7, 4000000000, 0, 0, 2048.0, -1e30, 2.0 ** 63, 0j, 1, b"q",
         (5.0, 6.0), (2, -3.5)),
        (True, 1, 2, 3, 4, 5, 6, 7, 8, 9.0, 10.0, -2.0 ** 63, 11 + 1j, 12, b"r", (1.0, 1.0),
         (3, 4.0)),
        (False, 2, 3, 4, 5, 6, 7, -8, 9, -0.25, 1e-45, 1e300, 5.5 - 2j, -13, b"s", (2.0, 2.0),
         (4, 5.0)),
    ]
    for k, r in enumerate(rows):
        a[k // 3, k % 3] = r
    return a


def tree_nodes():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = X[:, 0] * 2 - X[:, 2] + rng.normal(scale=0.1, size=200)
    t = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y)
    return t.tree_.__getstate__()["nodes"]


def main():
    os.makedirs(OUT, exist_ok=True)
    fix = {
        "tree_nodes": tree_nodes(),
        "mixed": mixed("<"),
        "mixed_be": mixed(">"),
        "mixed_fortran": np.asfortranarray(mixed("<")),
        "plain_i8": np.array([[-2 ** 63, 2 ** 63 - 1], [9007199254740993, -5]], dtype="<i8"),
        "plain_u8": np.array([0, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1], dtype="<u8"),
        "plain_f8": np.array([1.0, 2.5, -3.0, float("inf"), float("nan"), -0.0, 2.0 ** 63,
                              -2.0 ** 63, 1e300], dtype=">f8"),
        "plain_f2": np.array([1.0, 0.5, -65504.0, 3.0], dtype="<f2"),
        "plain_c16": np.array([1 + 2j, -3.5 - 1j], dtype="<c16"),
        "plain_b1": np.array([True, False, True], dtype="?"),
    }
    for name, a in fix.items():
        np.save(os.path.join(OUT, name + ".npy"), a)
        with open(os.path.join(OUT, name + ".json"), "w") as fp:
            json.dump(describe(a), fp, indent=1)
            fp.write("\n")


if __name__ == "__main__":
    main()
