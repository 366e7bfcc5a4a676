#!/usr/bin/python3
"""make_verify.py - expected results of ckpt_file_verify (tests/test_verify.c).

Run with Debian's /usr/bin/python3 from the repository root:
    /usr/bin/python3 models/make_verify.py
Writes models/verify/expected.json.  Deterministic: no randomness, only the
committed fixtures are read (as zip archives with Python's zipfile, never
unpickled).

For every zip fixture listed: member count, total uncompressed bytes, and
Python's zipfile.testzip() verdict.  Two corruptions the test applies to a
temp copy, with what Python computes for them:
  "flip":  one byte flipped (xor 0xFF) 3/4 into the first stored
           data record: file offset, member name, central CRC, CRC after flip.
  "cdcrc": the central directory CRC-32 of the first deflated data record changed
           (xor 1): file offset of the field, member, new and true CRC.
"""
import json
import os
import struct
import zipfile
import zlib

FIXTURES = [
    "numpy/npz_stored.npz",
    "numpy/npz_deflated.npz",
    "torch/dtypes.pt",
    "torch/dtypes_deflated.pt",
    "torch/sd_linear.pt",
    "torch/shard-00001-of-00002.bin",
    "torch/shard-00002-of-00002.bin",
]

HERE = os.path.dirname(os.path.abspath(__file__))


def data_offset(raw, info):
    lh = info.header_offset
    assert raw[lh:lh + 4] == b"PK\x03\x04"
    nl, xl = struct.unpack("<HH", raw[lh + 26:lh + 30])
    return lh + 30 + nl + xl


def central_entries(raw):
    """(offset of the entry, filename) of each central directory entry."""
    e = raw.rfind(b"PK\x05\x06")
    count, _size, cd = struct.unpack("<HII", raw[e + 10:e + 20])
    out, p = [], cd
    for _ in range(count):
        assert raw[p:p + 4] == b"PK\x01\x02"
        nl, xl, cl = struct.unpack("<HHH", raw[p + 28:p + 34])
        out.append((p, raw[p + 46:p + 46 + nl].decode("utf-8")))
        p += 46 + nl + xl + cl
    return out


def describe(rel):
    path = os.path.join(HERE, rel)
    raw = open(path, "rb").read()
    z = zipfile.ZipFile(path)
    infos = z.infolist()
    d = {
        "members": len(infos),
        "bytes": sum(i.file_size for i in infos),
        "testzip": z.testzip(),
    }
    stored = [i for i in infos if i.compress_type == zipfile.ZIP_STORED and i.file_size >= 2
              and ("/data/" in i.filename or i.filename.endswith(".npy"))]
    if stored:
        i = stored[0]
        k = i.file_size - 1 - i.file_size // 4  # past a .npy header, inside a torch record
        off = data_offset(raw, i) + k
        flipped = bytearray(z.read(i))
        flipped[k] ^= 0xFF
        d["flip"] = {"offset": off, "member": i.filename, "expected": i.CRC,
                     "actual": zlib.crc32(bytes(flipped)) & 0xFFFFFFFF}
    deflated = [i for i in infos if i.compress_type == zipfile.ZIP_DEFLATED
                and ("/data/" in i.filename or i.filename.endswith(".npy"))]
    if deflated:
        i = deflated[0]
        pos = [p for p, n in central_entries(raw) if n == i.filename][0]
        d["cdcrc"] = {"offset": pos + 16, "member": i.filename, "expected": i.CRC ^ 1,
                      "actual": i.CRC}
    return d


def main():
    out = {rel: describe(rel) for rel in FIXTURES}
    os.makedirs(os.path.join(HERE, "verify"), exist_ok=True)
    with open(os.path.join(HERE, "verify", "expected.json"), "w") as fp:
        json.dump(out, fp, indent=1, sort_keys=True)
        fp.write("\n")


if __name__ == "__main__":
    main()
