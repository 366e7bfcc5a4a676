#!/usr/bin/python3
"""Write the pickle benchmark inputs (our own data, fixed seed) into a directory.

    /usr/bin/python3 tools/bench/bench_pickle_gen.py OUTDIR

Each file is object-heavy, the way the issue describes the benchmark: millions of
small ints, floats, strings and tuples, tens of MB in all.  Too big to commit, so
tools/bench/bench_pickle.sh regenerates them at bench time (deterministic: the
same bytes every run).
"""
import os
import pickle
import random
import sys


def mixed_value(rng, i):
    k = i % 7
    if k == 0:
        return rng.randint(-1000, 1000)
    if k == 1:
        return rng.random() * 1e6
    if k == 2:
        return "s%d_%x" % (i, rng.getrandbits(24))
    if k == 3:
        return (i, rng.random(), "t%d" % i)
    if k == 4:
        return [rng.randint(0, 255) for _ in range(4)]
    if k == 5:
        return None if i % 2 else True
    return rng.getrandbits(40)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ckpt-bench"
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20240601)
    n_dict = 200_000
    mixed_dict = {"key%07d" % i: mixed_value(rng, i) for i in range(n_dict)}
    floats = [rng.gauss(0.0, 1.0) for _ in range(2_000_000)]
    ints = [rng.randint(-70000, 70000) if i % 3 else rng.randint(0, 255) for i in range(3_000_000)]
    strings = ["w%d-%s" % (i, "x" * (i % 13)) for i in range(1_000_000)]
    tuples = [(i, i * 0.5, "n%d" % (i % 1000)) for i in range(500_000)]
    issue_mix = {"ints": ints[:2_000_000], "floats": floats[:1_000_000],
                 "strings": strings[:500_000], "tuples": tuples, "dict": mixed_dict}
    cases = [
        ("mixed_dict_p4", mixed_dict, 4),
        ("mixed_dict_p2", mixed_dict, 2),
        ("floats_p4", floats, 4),
        ("ints_p4", ints, 4),
        ("strings_p4", strings, 4),
        ("tuples_p4", tuples, 4),
        ("issue_mix_p5", issue_mix, 5),
        ("mixed_dict_p0", {k: v for k, v in list(mixed_dict.items())[:50_000]}, 0),
    ]
    for name, obj, proto in cases:
        data = pickle.dumps(obj, protocol=proto)
        with open(os.path.join(out, name + ".pkl"), "wb") as f:
            f.write(data)
        print("%-16s %10d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
