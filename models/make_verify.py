#!/usr/bin/python3
"""make_verify.py - expected results of ckpt_file_verify (tests/test_verify.c).

Run with Debian's /usr/bin/python3 from the repository root:
    /usr/bin/python3 models/make_verify.py
Writes models/verify/expected.json.  Deterministic: no randomness, only the
committed fixtures are read (as zip archives with Python's zipfile, never
unpickled).

verify/zip64_stored.npz: npz_stored.npz rewritten with a ZIP64 directory
(saturated fields + ZIP64 extra fields, ZIP64 end record and locator).
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


def zip64_copy(src_rel, dst_rel):
    """The same archive with a ZIP64 directory: every central entry's sizes and
    local offset saturated (0xFFFFFFFF) and carried in a ZIP64 extra field,
    a ZIP64 end record + locator, and a saturated classic end record."""
    raw = open(os.path.join(HERE, src_rel), "rb").read()
    e = raw.rfind(b"PK\x05\x06")
    count, _size, cd = struct.unpack("<HII", raw[e + 10:e + 20])
    entries, p = [], cd
    for _ in range(count):
        nl, xl, cl = struct.unpack("<HHH", raw[p + 28:p + 34])
        comp, size = struct.unpack("<II", raw[p + 20:p + 28])
        off = struct.unpack("<I", raw[p + 42:p + 46])[0]
        head = bytearray(raw[p:p + 46])
        head[20:28] = b"\xff" * 8
        head[42:46] = b"\xff" * 4
        extra = struct.pack("<HHQQQ", 1, 24, size, comp, off)
        head[30:32] = struct.pack("<H", len(extra))
        head[32:34] = struct.pack("<H", 0)
        entries.append(bytes(head) + raw[p + 46:p + 46 + nl] + extra)
        p += 46 + nl + xl + cl
    body = raw[:cd]
    cdir = b"".join(entries)
    z64 = len(body) + len(cdir)
    rec = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(cdir), len(body))
    loc = struct.pack("<4sIQI", b"PK\x06\x07", 0, z64, 1)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(os.path.join(HERE, dst_rel), "wb") as fp:
        fp.write(body + cdir + rec + loc + eocd)


def main():
    os.makedirs(os.path.join(HERE, "verify"), exist_ok=True)
    zip64_copy("numpy/npz_stored.npz", "verify/zip64_stored.npz")
    FIXTURES.append("verify/zip64_stored.npz")
    out = {rel: describe(rel) for rel in FIXTURES}
    with open(os.path.join(HERE, "verify", "expected.json"), "w") as fp:
        json.dump(out, fp, indent=1, sort_keys=True)
        fp.write("\n")


if __name__ == "__main__":
    main()
