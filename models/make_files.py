#!/usr/bin/python3
"""Generate the path-walk fixtures in models/files/ (owner: "files").

Run with Debian's interpreter only:  /usr/bin/python3 models/make_files.py
Deterministic (fixed data; re-executes itself with PYTHONHASHSEED=0).

Each fixture walk_pN.pkl (N = protocol 2, 4, 5) pickles ONE object graph in
which NumPy arrays sit in every kind of place the dotted-path walk must reach:
dict str and int keys, list/tuple indices, object attributes (instance dict,
__slots__ state, nested objects), OrderedDict items, namedtuple fields, a
shared array reached twice (first path wins), a self-containing list, a
non-array object with no arrays, and a 2-D object array whose items (an array,
a dict holding one) are walked under numpy's multi-index ("objs.1.0.k").  walk_pN.json lists the arrays in graph
pre-order with the path each one must get, shape, dtype and values; the
expectations are written down here by construction (where this script put
each array), and the script checks the pickle round-trips with pickle.loads
of ITS OWN bytes.
"""
import collections
import json
import os
import pickle
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")

NT = collections.namedtuple("NT", ["alpha", "beta"])


class Sub:
    def __init__(self, x):
        self.x = x
        self.label = "sub"


class Model:
    def __init__(self, coef, sub):
        self.coef_ = coef
        self.n_features_in_ = 3
        self.sub = sub


class Slotted:
    __slots__ = ("s", "t")

    def __init__(self, s):
        self.s = s
        self.t = None


class Plain:
    def __init__(self):
        self.name = "no arrays here"
        self.sizes = [1, 2, 3]


def arr(i, shape, dtype="<f8"):
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float64) * (i + 1) - i).astype(dtype).reshape(shape)


def build():
    """The object and the expected (path, array) list in graph pre-order."""
    a = [arr(i, s, d) for i, (s, d) in enumerate([
        ((3,), "<f8"), ((2, 2), "<i4"), ((4,), "<f4"), ((2, 3), "<f8"), ((1,), "<i8"),
        ((5,), "<f8"), ((2,), "<u2"), ((3,), "<f8"), ((2,), "<f8"), ((2,), "<i2"),
        ((3,), "<f8"), ((2,), "<f8"), ((2,), "<i4")])]
    objs = np.empty((2, 1), dtype=object)   # like GradientBoosting's estimators_
    objs[0, 0] = a[11]
    objs[1, 0] = {"k": a[12]}
    shared = a[0]
    cyc = [a[7]]
    cyc.append(cyc)
    obj = {
        "w": shared,
        7: [a[1], (a[2], "text")],
        "model": Model(a[3], Sub(a[4])),
        "od": collections.OrderedDict([("layer.weight", a[5]), ("layer.bias", a[6])]),
        "slotted": Slotted(a[8]),
        "cyc": cyc,
        "nt": NT(a[9], 1.5),
        "again": shared,          # same object as "w": listed once, under "w"
        "plain": Plain(),
        True: a[10],
        "objs": objs,
    }
    expect = [
        ("w", a[0]), ("7.0", a[1]), ("7.1.0", a[2]), ("model.coef_", a[3]),
        ("model.sub.x", a[4]), ("od.layer.weight", a[5]), ("od.layer.bias", a[6]),
        ("slotted.s", a[8]), ("cyc.0", a[7]), ("nt.0", a[9]), ("True", a[10]),
        ("objs", objs), ("objs.0.0", a[11]), ("objs.1.0.k", a[12]),
    ]
    return obj, expect


def describe(path, x):
    """values: null for object arrays (their items are graph values)."""
    values = None if x.dtype == object else [float(v) for v in x.ravel(order="C")]
    return {"path": path, "shape": list(x.shape), "dtype": x.dtype.str, "values": values}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    for proto in (2, 4, 5):
        obj, expect = build()
        data = pickle.dumps(obj, protocol=proto)
        back = pickle.loads(data)  # our own bytes
        assert np.array_equal(back["model"].sub.x, obj["model"].sub.x)
        assert back["w"] is back["again"]
        assert np.array_equal(back["objs"][1, 0]["k"], obj["objs"][1, 0]["k"])
        name = "walk_p%d" % proto
        with open(os.path.join(OUT, name + ".pkl"), "wb") as fp:
            fp.write(data)
        doc = {"file": name + ".pkl", "protocol": proto,
               "description": "arrays under dict/int/bool keys, indices, attributes, slots, "
                              "OrderedDict, namedtuple, shared and cyclic references",
               "arrays": [describe(p, x) for p, x in expect]}
        with open(os.path.join(OUT, name + ".json"), "w") as fp:
            json.dump(doc, fp, indent=1, sort_keys=True)
            fp.write("\n")
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
