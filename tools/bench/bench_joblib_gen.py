#!/usr/bin/python3
"""Write the joblib benchmark inputs (our own arrays, fixed seed) into a directory.

    /usr/bin/python3 tools/bench/bench_joblib_gen.py OUTDIR

  arrays_500mb.joblib   uncompressed joblib.dump of a dict of 250 float64/float32/int64
                        arrays (~500 MB): the issue's "open and reach every pointer" case
  arrays_100mb_250.joblib / arrays_tiny_250.joblib
                        the same 250 arrays cut to 100 rows / 1 row (~100 MB / ~1 MB
                        uncompressed): open cost against array bytes
  arrays_100mb.zlib.joblib / .lz4.joblib / .gz.joblib
                        a 100 MB subset, compressed with joblib (codec speed case)
Deterministic; skipped when the files already exist with the same size.
"""
import os
import sys

import joblib
import numpy as np


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ckpt-bench"
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(20240601)
    arrays = {}
    for i in range(250):
        kind = i % 3
        if kind == 0:
            arrays["w%03d" % i] = rng.standard_normal((512, 512))          # 2 MiB float64
        elif kind == 1:
            arrays["w%03d" % i] = rng.standard_normal((1024, 512)).astype(np.float32)
        else:
            arrays["w%03d" % i] = rng.randint(-2**40, 2**40, size=(512, 512), dtype=np.int64)
    path = os.path.join(out, "arrays_500mb.joblib")
    if not os.path.exists(path):
        joblib.dump(arrays, path)
    # the same 250 keys and dtypes with fewer bytes: open cost vs array bytes
    for name, rows in (("arrays_100mb_250.joblib", 100), ("arrays_tiny_250.joblib", 1)):
        p = os.path.join(out, name)
        if not os.path.exists(p):
            joblib.dump({k: v[:rows] for k, v in arrays.items()}, p)
    sub = {k: v for k, v in list(arrays.items())[:50]}
    # compressible data: rounded values (random normals barely compress)
    sub = {k: np.round(v, 2) if v.dtype.kind == "f" else v % 1000 for k, v in sub.items()}
    for codec, ext in (("zlib", "zlib"), ("lz4", "lz4"), ("gzip", "gz")):
        p = os.path.join(out, "arrays_100mb.%s.joblib" % ext)
        if not os.path.exists(p):
            joblib.dump(sub, p, compress=(codec, 3))
    print(out)


if __name__ == "__main__":
    main()
