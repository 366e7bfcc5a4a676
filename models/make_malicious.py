#!/usr/bin/python3
"""Malicious (and control) checkpoint samples for the scanner, written BY HAND
as bytes.  Nothing here is ever unpickled: no pickle.load, joblib.load,
torch.load or numpy.load is called on any of these files, by this script or
anyone else.  The payloads call harmless commands ('id', 'true') anyway.

Writes models/malicious/<name> and models/malicious/manifest.json:
  {"samples": [{"file", "verdict", "technique", "find"?, "member"?, "limits"?}]}
  verdict: what `ckpt-info --scan` must say (safe / unknown / unverifiable /
           dangerous); find: a canonical global that must be reported with that
           severity; member: the archive member it must be reported in;
           limits: ckpt_limits fields to set for this sample.
Deterministic: fixed timestamps, no randomness.

Run: /usr/bin/python3 models/make_malicious.py
"""
import bz2
import gzip
import io
import json
import lzma
import os
import struct
import tarfile
import warnings
import zipfile
import zlib

import lz4.frame

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "malicious")
SAMPLES = []

# ---- opcodes ----
MARK, STOP, POP, POP_MARK, DUP = b"(", b".", b"0", b"1", b"2"
TUPLE, TUPLE1, TUPLE2, TUPLE3, EMPTY_TUPLE = b"t", b"\x85", b"\x86", b"\x87", b")"
REDUCE, BUILD, NEWOBJ, STACK_GLOBAL, MEMOIZE = b"R", b"b", b"\x81", b"\x93", b"\x94"
EMPTY_DICT, EMPTY_LIST, SETITEMS, APPEND, NONE = b"}", b"]", b"u", b"a", b"N"
NEWTRUE, NEWFALSE, OBJ = b"\x88", b"\x89", b"o"


def proto(n):
    return b"\x80" + bytes([n])


def glob(m, n):
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


def inst(m, n):
    return b"i" + m.encode() + b"\n" + n.encode() + b"\n"


def sbu(s):
    b = s.encode("utf-8")
    assert len(b) < 256
    return b"\x8c" + bytes([len(b)]) + b


def bu(s):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def S(s):  # protocol 0 STRING, already escaped text
    return b"S'" + s.encode() + b"'\n"


def K(i):
    return b"K" + bytes([i])


def J(i):
    return b"J" + struct.pack("<i", i)


def binput(i):
    return b"q" + bytes([i])


def binget(i):
    return b"h" + bytes([i])


def call_p2(m, n, arg="id"):
    return proto(2) + glob(m, n) + bu(arg) + TUPLE1 + REDUCE + STOP


def call_p4(m, n, arg="id"):
    return proto(4) + sbu(m) + sbu(n) + STACK_GLOBAL + sbu(arg) + TUPLE1 + REDUCE + STOP


BENIGN = proto(2) + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + STOP


def add(name, data, verdict, technique, find=None, member=None, limits=None):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    s = {"file": name, "verdict": verdict, "technique": technique}
    if find:
        s["find"] = find
    if member is not None:
        s["member"] = member
    if limits:
        s["limits"] = limits
    SAMPLES.append(s)


def zip_bytes(members, method=zipfile.ZIP_STORED):
    """members: list of (name, bytes); duplicates allowed."""
    bio = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(bio, "w") as z:
            for name, data in members:
                zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = method
                z.writestr(zi, data)
    return bio.getvalue()


def torch_zip(data_pkl, extra=()):
    return zip_bytes([("archive/data.pkl", data_pkl), ("archive/version", b"3\n")] + list(extra))


def torch_state_dict():
    """A benign torch state dict: OrderedDict with one float tensor (persistent id)."""
    return (proto(2) + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + binput(0) +
            bu("w") + glob("torch._utils", "_rebuild_tensor_v2") +
            MARK + MARK + bu("storage") + glob("torch", "FloatStorage") + bu("0") + bu("cpu") +
            K(2) + TUPLE + b"Q" + K(0) + K(2) + TUPLE1 + K(1) + TUPLE1 + NEWFALSE +
            glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + TUPLE + REDUCE +
            b"s" + STOP)


def legacy_torch(pickles, raw=b"\x02\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 8):
    magic = proto(2) + b"\x8a\x0a" + bytes.fromhex("6cfc9c46f9206aa85019") + STOP
    version = proto(2) + b"M\xe9\x03" + STOP
    return magic + version + b"".join(pickles) + raw


def joblib_stream(descr="f8", shape=(4,), data=None, align=True, flags=0, elsize=-1,
                  tail=b"", nested=None):
    """A joblib.dump-like stream written by hand: a NumpyArrayWrapper, BUILD,
    then the raw array bytes (or, for object arrays, a nested pickle)."""
    dtype = (glob("numpy", "dtype") + bu(descr) + NEWFALSE + NEWTRUE + TUPLE3 + REDUCE +
             MARK + K(3) + bu("<") + NONE + NONE + NONE + J(elsize) + J(-1) + J(flags) + TUPLE +
             BUILD)
    state = (EMPTY_DICT + MARK + bu("subclass") + glob("numpy", "ndarray") +
             bu("shape") + MARK + b"".join(K(d) for d in shape) + TUPLE +
             bu("order") + bu("C") + bu("dtype") + dtype + bu("allow_mmap") + NEWFALSE)
    if align:
        state += bu("numpy_array_alignment_bytes") + K(16)
    state += SETITEMS
    head = (proto(2) + MARK + glob("joblib.numpy_pickle", "NumpyArrayWrapper") + EMPTY_TUPLE +
            NEWOBJ + state + BUILD)
    if nested is not None:
        body = nested
    else:
        n = 1
        for d in shape:
            n *= d
        item = int("".join(c for c in descr if c.isdigit()))
        if data is None:
            data = bytes(range(n * item))
        assert len(data) == n * item
        body = data
        if align:
            pos = len(head) + 1
            pad = 16 - pos % 16
            body = bytes([pad]) + b"\xff" * pad + data
    return head + body + tail + TUPLE + STOP


def npy_object(pickle_bytes):
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + pickle_bytes


def patch(b, off, new):
    return b[:off] + new + b[off + len(new):]


def central_offset(z, index):
    """Offset of the index-th central directory entry of zip bytes z."""
    eocd = z.rfind(b"PK\x05\x06")
    pos = struct.unpack_from("<I", z, eocd + 16)[0]
    for _ in range(index):
        nl, xl, cl = struct.unpack_from("<HHH", z, pos + 28)
        pos += 46 + nl + xl + cl
    return pos


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f != "benign_exceptions.json":  # hand-written, not generated
            os.remove(os.path.join(OUT, f))

    # ---- controls ----
    add("ctl_ordereddict.pkl", BENIGN, "safe", "control: OrderedDict only")
    add("ctl_torch_zip.pt", torch_zip(torch_state_dict(), [("archive/data/0", b"\x00" * 8)]),
        "safe", "control: torch zip state dict")
    add("ctl_joblib.joblib", joblib_stream(), "safe", "control: joblib inline float array")
    add("ctl_legacy.pt", legacy_torch([proto(2) + EMPTY_DICT + STOP, torch_state_dict(),
                                       proto(2) + EMPTY_LIST + bu("0") + APPEND + STOP]),
        "safe", "control: legacy torch stream of five pickles")

    # ---- plain globals, one per dangerous family ----
    add("p0_os_system.pkl", glob("os", "system") + MARK + S("id") + TUPLE + REDUCE + STOP,
        "dangerous", "protocol 0 GLOBAL os.system", "os.system")
    families = [
        ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"), ("subprocess", "check_output"),
        ("sys", "exit"), ("builtins", "eval"), ("builtins", "exec"), ("builtins", "compile"),
        ("builtins", "open"), ("builtins", "getattr"), ("builtins", "__import__"),
        ("runpy", "run_path"), ("importlib", "import_module"), ("pickle", "loads"),
        ("_pickle", "loads"), ("marshal", "loads"), ("types", "CodeType"), ("types", "FunctionType"),
        ("operator", "attrgetter"), ("operator", "methodcaller"), ("functools", "partial"),
        ("pkgutil", "resolve_name"), ("pydoc", "locate"), ("socket", "create_connection"),
        ("urllib.request", "urlopen"), ("shutil", "rmtree"), ("pty", "spawn"), ("ctypes", "CDLL"),
        ("pip", "main"), ("webbrowser", "open"), ("numpy", "load"),
        ("numpy.testing._private.utils", "runstring"), ("torch", "load"),
        ("torch.storage", "_load_from_bytes"), ("torch.hub", "load"), ("joblib", "load"),
        ("dill", "loads"), ("code", "InteractiveInterpreter"), ("tempfile", "mktemp"),
        ("multiprocessing", "Process"), ("threading", "Thread"), ("asyncio", "run"),
        ("copyreg", "add_extension"), ("numpy", "memmap"), ("pandas", "read_pickle"),
        ("sklearn.datasets", "fetch_openml"),
    ]
    for m, n in families:
        add("p2_%s_%s.pkl" % (m.replace(".", "_"), n.strip("_")), call_p2(m, n), "dangerous",
            "GLOBAL + REDUCE of %s.%s" % (m, n), "%s.%s" % (m, n))
    add("p4_stack_global_eval.pkl", call_p4("builtins", "eval", "1+1"), "dangerous",
        "STACK_GLOBAL from SHORT_BINUNICODE", "builtins.eval")

    # ---- STACK_GLOBAL operand tricks ----
    # names stored in the memo early (inside an unrelated list), fetched later
    memo = (proto(4) + EMPTY_LIST + binput(0) + MARK + sbu("posix") + binput(1) + sbu("system") +
            binput(2) + sbu("harmless") + b"e" + POP + binget(1) + binget(2) + STACK_GLOBAL +
            sbu("id") + TUPLE1 + REDUCE + STOP)
    add("p4_memo_names.pkl", memo, "dangerous", "STACK_GLOBAL operands from BINGET", "posix.system")
    memo2 = (proto(4) + sbu("subprocess") + MEMOIZE + POP + sbu("getoutput") + MEMOIZE + POP +
             binget(0) + binget(1) + STACK_GLOBAL + sbu("id") + TUPLE1 + REDUCE + STOP)
    add("p4_memoize_names.pkl", memo2, "dangerous", "STACK_GLOBAL operands from MEMOIZE/BINGET",
        "subprocess.getoutput")
    # memo keys far beyond what a dense memo table would allow
    bigkey = (proto(4) + sbu("os") + b"r" + struct.pack("<I", 0xFFFFFFF0) + POP +
              sbu("system") + b"r" + struct.pack("<I", 0xFFFFFFF1) + POP +
              b"j" + struct.pack("<I", 0xFFFFFFF0) + b"j" + struct.pack("<I", 0xFFFFFFF1) +
              STACK_GLOBAL + sbu("id") + TUPLE1 + REDUCE + STOP)
    add("p4_memo_huge_keys.pkl", bigkey, "dangerous", "names under LONG_BINPUT keys near 2**32",
        "os.system")
    # a memo key past the stream's length (no pickler writes one): the scanner's
    # machine pass refuses it (never safe), the disassembler still reports globals
    key1m = b"r" + struct.pack("<I", 1 << 20)
    add("p2_memo_key_past_end.pkl", proto(2) + glob("collections", "OrderedDict") + key1m +
        EMPTY_TUPLE + REDUCE + STOP, "unverifiable", "benign pickle with LONG_BINPUT key 2**20")
    add("p2_memo_key_past_end_evil.pkl", proto(2) + glob("posix", "system") + key1m + bu("id") +
        TUPLE1 + REDUCE + STOP, "dangerous", "LONG_BINPUT key 2**20 and posix.system", "posix.system")
    # a module name duplicated with DUP, the decoy popped with POP_MARK
    dup = (proto(4) + sbu("builtins") + MARK + sbu("os") + sbu("decoy") + POP_MARK + sbu("exec") +
           STACK_GLOBAL + sbu("print(1)") + TUPLE1 + REDUCE + STOP)
    add("p4_pop_mark_decoy.pkl", dup, "dangerous", "decoy strings removed by POP_MARK", "builtins.exec")
    dup2 = (proto(4) + sbu("eval") + DUP + POP + binput(0) + POP + sbu("builtins") + binget(0) +
            STACK_GLOBAL + sbu("1") + TUPLE1 + REDUCE + STOP)
    add("p4_dup_names.pkl", dup2, "dangerous", "name via DUP/BINPUT/BINGET", "builtins.eval")
    # operands computed by a call: builtins.str(b'os', 'latin1') -> 'os'
    computed = (proto(4) + glob("builtins", "str") + C(b"posix") + sbu("latin1") + TUPLE2 + REDUCE +
                glob("builtins", "str") + C(b"system") + sbu("latin1") + TUPLE2 + REDUCE +
                STACK_GLOBAL + sbu("id") + TUPLE1 + REDUCE + STOP)
    add("p4_computed_names.pkl", computed, "dangerous", "STACK_GLOBAL operands computed by calls")
    nonstr = proto(4) + K(1) + K(2) + STACK_GLOBAL + STOP
    add("p4_nonstr_operands.pkl", nonstr, "dangerous", "STACK_GLOBAL operands that are not str")
    # names from protocol 0/1 string opcodes with escapes
    esc = (proto(4) + b"Vo\\u0073\n" + b"Vsy\\u0073tem\n" + STACK_GLOBAL + sbu("id") + TUPLE1 +
           REDUCE + STOP)
    add("p4_unicode_escape_names.pkl", esc, "dangerous", "UNICODE raw-unicode-escape names", "os.system")
    esc2 = (proto(4) + b"S'\\x6fs'\n" + b"U\x06system" + STACK_GLOBAL + sbu("id") + TUPLE1 + REDUCE +
            STOP)
    add("p4_string_escape_names.pkl", esc2, "dangerous", "STRING/SHORT_BINSTRING names", "os.system")
    bin8 = (proto(4) + b"\x8d" + struct.pack("<Q", 2) + b"nt" + b"X" + struct.pack("<I", 6) +
            b"system" + STACK_GLOBAL + sbu("id") + TUPLE1 + REDUCE + STOP)
    add("p4_binunicode8_names.pkl", bin8, "dangerous", "BINUNICODE8/BINUNICODE names", "nt.system")

    # ---- INST / OBJ ----
    add("p0_inst_subprocess.pkl", MARK + S("id") + inst("subprocess", "check_output") + STOP,
        "dangerous", "INST subprocess.check_output", "subprocess.check_output")
    add("p1_obj_os_system.pkl", MARK + glob("os", "system") + S("id") + OBJ + STOP, "dangerous",
        "OBJ with os.system", "os.system")
    add("p0_inst_posix.pkl", MARK + S("id") + inst("posix", "system") + STOP, "dangerous",
        "INST posix.system", "posix.system")

    # ---- EXT ----
    add("p2_ext1.pkl", proto(2) + b"\x82\x42" + bu("id") + TUPLE1 + REDUCE + STOP, "unknown",
        "EXT1 extension code (registry content unknown)")
    add("p2_ext4.pkl", proto(2) + b"\x84" + struct.pack("<i", 123456) + EMPTY_TUPLE + REDUCE + STOP,
        "unknown", "EXT4 extension code")

    # ---- dotted / dunder names ----
    add("p4_dotted_main_builtins.pkl", call_p4("__main__", "__builtins__.eval", "1"), "dangerous",
        "dunder attribute path from __main__")
    add("p4_dotted_via_module_attr.pkl", call_p4("collections", "_sys.modules", "x"), "dangerous",
        "attribute path through a re-exported module")
    add("p4_dotted_torch_os.pkl", call_p4("torch", "os.system"), "dangerous",
        "attribute path through torch.os")
    add("p4_dunder_subclasses.pkl", call_p4("builtins", "object.__subclasses__", "x"), "dangerous",
        "dunder method on an allowlisted type")
    add("p4_dotted_numpy.pkl", call_p4("numpy", "lib.npyio.load", "x"), "dangerous",
        "dotted path to numpy's pickle loader")

    # ---- Python 2 aliases ----
    add("p2_py2_builtin_eval.pkl", call_p2("__builtin__", "eval", "1"), "dangerous",
        "__builtin__ alias", "builtins.eval")
    add("p2_py2_commands.pkl", call_p2("commands", "getoutput"), "dangerous",
        "commands -> subprocess alias", "subprocess.getoutput")
    add("p2_py2_reduce.pkl", call_p2("__builtin__", "reduce"), "dangerous",
        "__builtin__.reduce -> functools.reduce", "functools.reduce")
    add("p2_py2_cpickle.pkl", call_p2("cPickle", "loads"), "dangerous", "cPickle alias",
        "pickle.loads")

    # ---- several pickles / broken streams ----
    add("after_stop_p2.pkl", BENIGN + call_p2("os", "system"), "dangerous",
        "second pickle after STOP", "os.system")
    add("after_stop_p0.pkl", BENIGN + glob("os", "system") + MARK + S("id") + TUPLE + REDUCE + STOP,
        "dangerous", "protocol-0 pickle after STOP", "os.system")
    add("trunc_after_global.pkl", proto(2) + glob("os", "system") + bu("id"), "dangerous",
        "dangerous global before a truncation", "os.system")
    add("bad_opcode_after_global.pkl", proto(4) + sbu("posix") + sbu("system") + STACK_GLOBAL +
        b"\xff" + STOP, "dangerous", "dangerous STACK_GLOBAL before an unknown opcode", "posix.system")
    add("trunc_benign.pkl", BENIGN[:-3], "unverifiable", "truncated benign pickle")
    add("garbage.bin", bytes(range(256)) * 4, "unverifiable", "not a pickle at all")
    add("huge_length.pkl", proto(4) + b"\x8d" + struct.pack("<Q", 1 << 62) + b"abc" + STOP,
        "unverifiable", "BINUNICODE8 declaring 2**62 bytes")
    add("empty.pkl", b"", "unverifiable", "empty file")

    # ---- unknown ----
    add("p2_main_class.pkl", proto(2) + glob("__main__", "Model") + EMPTY_TUPLE + NEWOBJ + STOP,
        "unknown", "user class in __main__", "__main__.Model")
    add("p4_third_party.pkl", proto(4) + sbu("mylib.layers") + sbu("Dense") + STACK_GLOBAL +
        EMPTY_TUPLE + NEWOBJ + STOP, "unknown", "third-party class", "mylib.layers.Dense")

    # ---- torch zip ----
    evil = call_p2("os", "system")
    add("zip_data_pkl.pt", torch_zip(evil), "dangerous", "torch zip data.pkl", "os.system",
        "archive/data.pkl")
    add("zip_deflated.pt", zip_bytes([("archive/data.pkl", evil)], zipfile.ZIP_DEFLATED),
        "dangerous", "deflated data.pkl", "os.system", "archive/data.pkl")
    add("zip_hidden_data0.pt", torch_zip(torch_state_dict(), [("archive/data/0", evil)]),
        "dangerous", "complete pickle in a tensor data member", "os.system", "archive/data/0")
    add("zip_hidden_version.pt", zip_bytes([("archive/data.pkl", torch_state_dict()),
                                            ("archive/version", glob("posix", "system") + MARK +
                                             S("id") + TUPLE + REDUCE + STOP)]),
        "dangerous", "protocol-0 pickle in a text member", "posix.system", "archive/version")
    add("zip_hidden_truncated.pt", torch_zip(torch_state_dict(),
                                            [("archive/extra/weights.bin", evil[:-4])]),
        "dangerous", "incomplete pickle in a data member (dangerous part kept)", "os.system",
        "archive/extra/weights.bin")
    add("zip_constants_pkl.pt", torch_zip(torch_state_dict(), [("archive/constants.pkl", evil)]),
        "dangerous", "TorchScript constants.pkl", "os.system", "archive/constants.pkl")
    add("zip_duplicate_names.pt", zip_bytes([("archive/data.pkl", torch_state_dict()),
                                             ("archive/data.pkl", evil)]),
        "dangerous", "two members with one name, the second evil", "os.system")
    z = torch_zip(torch_state_dict())
    name = b"archive/data.pkl"
    add("zip_name_mismatch.pt", patch(z, 30, b"archive/data.pkx"), "unverifiable",
        "local header name differs from the central directory")
    c = central_offset(z, 0)
    crc = struct.unpack_from("<I", z, c + 16)[0] ^ 0x5A5A5A5A
    zc = patch(patch(z, c + 16, struct.pack("<I", crc)), 14, struct.pack("<I", crc))
    add("zip_bad_crc.pt", zc, "unverifiable", "CRC-32 does not match the data")
    fl = struct.unpack_from("<H", z, 6)[0] | 1
    ze = patch(patch(z, 6, struct.pack("<H", fl)), c + 8, struct.pack("<H", fl))
    add("zip_encrypted_flag.pt", ze, "unverifiable", "member flagged as encrypted")
    assert z[30:30 + len(name)] == name
    add("polyglot_pickle_zip.pt", evil + torch_zip(torch_state_dict()), "dangerous",
        "pickle at offset 0 with a zip appended (legacy torch.load runs the pickle)", "os.system")

    # ---- legacy torch ----
    add("legacy_main_evil.pt", legacy_torch([proto(2) + EMPTY_DICT + STOP, evil,
                                             proto(2) + EMPTY_LIST + STOP]),
        "dangerous", "legacy torch main pickle", "os.system")
    add("legacy_sysinfo_evil.pt", legacy_torch([call_p2("posix", "system"), torch_state_dict(),
                                                proto(2) + EMPTY_LIST + STOP]),
        "dangerous", "legacy torch sys_info pickle", "posix.system")
    add("legacy_keys_evil.pt", legacy_torch([proto(2) + EMPTY_DICT + STOP, torch_state_dict(),
                                             call_p2("subprocess", "Popen")]),
        "dangerous", "legacy torch storage-keys pickle", "subprocess.Popen")
    tio = io.BytesIO()
    with tarfile.open(fileobj=tio, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for nm, data in [("sys_info", proto(2) + EMPTY_DICT + STOP), ("pickle", evil),
                         ("storages", proto(2) + K(0) + STOP), ("tensors", proto(2) + K(0) + STOP)]:
            ti = tarfile.TarInfo(nm)
            ti.size = len(data)
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    add("legacy_tar_evil.pt", tio.getvalue(), "dangerous", "torch tar format 'pickle' member",
        "os.system", "pickle")
    # a PAX "path" record renames a member: tarfile (and torch.load) see it as
    # 'pickle', the ustar header says 'harmless'; its pickle is cut short
    tio = io.BytesIO()
    with tarfile.open(fileobj=tio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for nm, real, data in [("sys_info", None, proto(2) + EMPTY_DICT + STOP),
                               ("harmless", "pickle", proto(2) + glob("__main__", "Evil") + EMPTY_TUPLE)]:
            ti = tarfile.TarInfo(nm)
            ti.size = len(data)
            ti.mtime = 0
            if real:
                ti.pax_headers = {"path": real}
            t.addfile(ti, io.BytesIO(data))
    add("legacy_tar_pax_rename.pt", tio.getvalue(), "unverifiable",
        "torch tar format: PAX path renames a member to 'pickle' (broken pickle must not pass as data)")

    # ---- joblib ----
    jl_after = joblib_stream(tail=call_p2("os", "system")[2:-1])
    add("jl_global_after_array.joblib", jl_after, "dangerous",
        "global after inline array data", "os.system")
    nested = call_p2("posix", "system")
    add("jl_object_array.joblib", joblib_stream(descr="O8", flags=63, align=False, nested=nested),
        "dangerous", "joblib object-array nested pickle", "posix.system")
    payload = glob("os", "system") + MARK + S("id") + TUPLE + REDUCE + POP
    add("jl_differential.joblib", joblib_stream(descr="u1", shape=(len(payload),), data=payload,
                                                align=False),
        "dangerous", "array bytes that pickle.load would run as opcodes (joblib/pickle differential)",
        "os.system")
    add("jl_zlib.joblib", zlib.compress(jl_after, 6), "dangerous", "joblib zlib", "os.system")
    add("jl_gzip.joblib", gzip.compress(jl_after, 6, mtime=0), "dangerous", "joblib gzip", "os.system")
    add("jl_bz2.joblib", bz2.compress(jl_after, 9), "dangerous", "joblib bz2", "os.system")
    add("jl_xz.joblib", lzma.compress(jl_after, format=lzma.FORMAT_XZ), "dangerous", "joblib xz",
        "os.system")
    add("jl_lzma.joblib", lzma.compress(jl_after, format=lzma.FORMAT_ALONE), "dangerous",
        "joblib lzma (alone)", "os.system")
    add("jl_lz4.joblib", lz4.frame.compress(jl_after, compression_level=0), "dangerous",
        "joblib lz4", "os.system")
    add("jl_gzip_object_array.joblib",
        gzip.compress(joblib_stream(descr="O8", flags=63, align=False, nested=nested), 6, mtime=0),
        "dangerous", "compressed joblib with an object-array pickle", "posix.system")
    add("jl_old_zf.pkl", b"ZF0x" + ("%x" % len(evil)).encode().ljust(17) + zlib.compress(evil),
        "dangerous", "joblib < 0.10 ZF zlib file", "os.system")
    add("bomb_gzip.joblib", gzip.compress(b"\x00" * (8 << 20), 9, mtime=0), "unverifiable",
        "gzip decompressing past the limit", limits={"max_decompressed": 1 << 20})
    add("bomb_zip_member.pt", zip_bytes([("archive/data.pkl", BENIGN + b"\x00" * (8 << 20))],
                                        zipfile.ZIP_DEFLATED),
        "unverifiable", "deflated member decompressing past the limit",
        limits={"max_decompressed": 1 << 20})

    # ---- protocol-2/3 NEWOBJ_EX pattern (pickle writes __getnewargs_ex__ objects
    # below protocol 4 as functools.partial(getattr(C, '__new__'), C, *args, **kw)
    # called with ()); exactly that structure is judged as NEWOBJ of C, every
    # near miss keeps functools.partial / builtins.getattr dangerous ----
    def nx(C=("collections", "OrderedDict"), attr=None, args=None, kw=EMPTY_DICT, dct=NONE,
           call=EMPTY_TUPLE + REDUCE, p=2, state=None, build=BUILD, mid=b"", after=b"",
           pg=glob("functools", "partial")):
        """memo: 1 partial, 2 getattr, 3 C, 6 F = getattr(C, '__new__'), 8 P = partial(F)"""
        attr = bu("__new__") if attr is None else attr
        args = binget(3) + K(1) + TUPLE2 if args is None else args
        head = (pg + binput(1) + glob("builtins", "getattr") + binput(2) +
                glob(*C) + binput(3) + attr + binput(4) + TUPLE2 + binput(5) + REDUCE + binput(6) +
                mid + TUPLE1 + binput(7) + REDUCE + binput(8))
        if state is None:
            state = MARK + binget(6) + args + kw + dct + TUPLE
        return proto(p) + head + state + build + call + after + STOP

    add("nx_ctl_ordereddict.pkl", nx(), "safe",
        "control: protocol-2 NEWOBJ_EX pattern of an allowlisted class", "functools.partial")
    add("nx_ctl_p3_kwargs.pkl", nx(p=3, kw=EMPTY_DICT + bu("k") + K(2) + b"s"), "safe",
        "control: protocol-3 NEWOBJ_EX pattern with kwargs", "builtins.getattr")
    add("nx_ctl_main_class.pkl", nx(C=("__main__", "Model")), "unknown",
        "control: NEWOBJ_EX pattern of a user class is what NEWOBJ of it is", "__main__.Model")
    # a class without its own __new__: cls.__new__ is object.__new__, which pickles as
    # getattr(object, '__new__'); args[0] is the class itself
    add("nx_ctl_object_new.pkl", nx(C=("builtins", "object"),
                                    args=glob("collections", "OrderedDict") + TUPLE1), "safe",
        "control: NEWOBJ_EX pattern through object.__new__ of an allowlisted class",
        "functools.partial")
    # two objects of one class, as pickle writes them: partial, getattr and F from the memo
    second = (binget(1) + binget(6) + TUPLE1 + REDUCE + MARK + binget(6) + binget(3) + TUPLE1 +
              EMPTY_DICT + NONE + TUPLE + BUILD + EMPTY_TUPLE + REDUCE)
    two = nx(after=TUPLE1 + second + TUPLE2)
    add("nx_ctl_two_objects.pkl", two, "safe",
        "control: two NEWOBJ_EX-pattern objects sharing partial, getattr and F through the memo",
        "functools.partial")
    # near misses
    add("nx_attr_not_new.pkl", nx(attr=bu("fromkeys")), "dangerous",
        "NEWOBJ_EX pattern with getattr(C, 'fromkeys')", "builtins.getattr")
    add("nx_attr_bytes.pkl", nx(attr=C(b"__new__")), "dangerous",
        "NEWOBJ_EX pattern with the attribute name as bytes", "builtins.getattr")
    add("nx_attr_computed.pkl", nx(attr=glob("_codecs", "encode") + bu("__new__") + bu("ascii") +
                                   TUPLE2 + REDUCE), "dangerous",
        "NEWOBJ_EX pattern with a computed attribute name", "builtins.getattr")
    add("nx_getattr_3_args.pkl", nx(attr=bu("__new__") + NONE, mid=b"", p=2).replace(
        bu("__new__") + NONE + binput(4) + TUPLE2, bu("__new__") + NONE + binput(4) + TUPLE3),
        "dangerous", "getattr(C, '__new__', None): three arguments", "builtins.getattr")
    add("nx_class_dangerous.pkl", nx(C=("subprocess", "Popen")), "dangerous",
        "NEWOBJ_EX pattern around a dangerous class", "builtins.getattr")
    add("nx_args0_not_class.pkl", nx(args=K(1) + TUPLE1), "dangerous",
        "partial state args[0] is not a class global", "functools.partial")
    add("nx_state_other_func.pkl",
        nx(state=MARK + glob("builtins", "getattr") + glob("collections", "OrderedDict") +
           bu("__new__") + TUPLE2 + REDUCE + binget(3) + TUPLE1 + EMPTY_DICT + NONE + TUPLE),
        "dangerous", "partial state func is another getattr result than the partial's", "functools.partial")
    add("nx_state_dict_set.pkl", nx(dct=EMPTY_DICT + bu("x") + K(1) + b"s"), "dangerous",
        "partial state with a non-empty __dict__", "functools.partial")
    add("nx_state_kw_list.pkl", nx(kw=EMPTY_LIST), "dangerous", "partial state kwargs not a dict",
        "functools.partial")
    add("nx_state_3_items.pkl", nx(state=MARK + binget(6) + binget(3) + TUPLE1 + EMPTY_DICT + TUPLE),
        "dangerous", "partial state of three items", "functools.partial")
    add("nx_extra_build.pkl", nx(build=BUILD + MARK + binget(6) + binget(3) + TUPLE1 + NONE + NONE +
                                 TUPLE + BUILD), "dangerous", "two BUILDs on the partial",
        "functools.partial")
    add("nx_call_with_args.pkl", nx(call=bu("id") + TUPLE1 + REDUCE), "dangerous",
        "the partial called with arguments", "functools.partial")
    add("nx_called_twice.pkl", nx(after=POP + binget(8) + EMPTY_TUPLE + REDUCE), "dangerous",
        "the partial fetched from the memo and called a second time", "functools.partial")
    add("nx_not_called.pkl", nx(call=b""), "dangerous", "the partial built but never called",
        "functools.partial")
    add("nx_partial_in_list.pkl", nx(after=EMPTY_LIST + binget(8) + APPEND + TUPLE2), "dangerous",
        "the partial also stored in a list", "functools.partial")
    add("nx_f_called.pkl", nx(after=binget(6) + binget(3) + TUPLE1 + REDUCE + TUPLE2), "dangerous",
        "getattr(C, '__new__') from the memo called directly", "builtins.getattr")
    add("nx_build_on_f.pkl", nx(mid=EMPTY_DICT + BUILD), "dangerous", "BUILD applied to getattr's result",
        "builtins.getattr")
    add("nx_getattr_reused.pkl", nx(after=binget(2) + binget(3) + bu("fromkeys") + TUPLE2 + REDUCE +
                                    TUPLE2), "dangerous",
        "NEWOBJ_EX pattern plus getattr from the memo for another attribute", "builtins.getattr")
    add("nx_partial_reused.pkl", nx(after=binget(1) + binget(6) + TUPLE1 + REDUCE + TUPLE2),
        "dangerous", "NEWOBJ_EX pattern plus functools.partial from the memo used again",
        "functools.partial")
    add("nx_proto4.pkl", nx(p=4), "dangerous", "the protocol-2/3 pattern in a protocol-4 pickle",
        "functools.partial")
    add("nx_stack_global.pkl", nx(pg=sbu("functools") + sbu("partial") + STACK_GLOBAL), "dangerous",
        "functools.partial by STACK_GLOBAL in the pattern", "functools.partial")
    add("nx_truncated.pkl", nx()[:-3], "dangerous", "NEWOBJ_EX pattern cut before the call",
        "functools.partial")

    # ---- numpy ----
    add("npy_object_evil.npy", npy_object(call_p2("os", "system")), "dangerous",
        ".npy object array pickle", "os.system")
    add("npz_object_evil.npz", zip_bytes([("arr_0.npy", npy_object(call_p2("runpy", "run_path")))]),
        "dangerous", ".npz with an object array", "runpy.run_path", "arr_0.npy")

    names = [s["file"] for s in SAMPLES]
    assert len(names) == len(set(names))
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"description": "Hand-written malicious and control samples; never unpickled. "
                                  "Made by models/make_malicious.py.",
                   "samples": SAMPLES}, f, indent=1)
        f.write("\n")
    print("wrote %d samples to %s" % (len(SAMPLES), OUT))


def C(b):  # SHORT_BINBYTES
    return b"C" + bytes([len(b)]) + b


if __name__ == "__main__":
    main()
