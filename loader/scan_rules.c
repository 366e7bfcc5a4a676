/*
 * scan_rules.c - the allowlist and the denylist the scanner judges globals by.
 *
 * Order of the rules for one global "module.name" (canonical: Python 2 names
 * mapped, numpy._core folded):
 *   1. exactly on the allowlist                         -> SAFE
 *   2. any part of module or name is a dunder (other than copyreg's
 *      __newobj__/__newobj_ex__, __main__, and a leading __torch__ of
 *      TorchScript type names), any part names a code/file/network/process
 *      module, any name part is a code-running function, or the module is a
 *      dangerous area of an otherwise trusted library     -> DANGEROUS
 *   3. an allowlisted family (scikit-learn classes and helpers, scipy.sparse
 *      matrices, NumPy scalar types, torch storages)   -> SAFE
 *   4. anything else (TorchScript __torch__.* types too)  -> UNKNOWN
 * The raw spelling is judged too; DANGEROUS on either side wins.
 */
#include "scan_internal.h"

#include <string.h>

/* exact "module.name" of data constructors */
static const char *const allow_exact[] = {
    /* builtins types that only build data */
    "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.slice",
    "builtins.complex", "builtins.object", "builtins.list", "builtins.dict", "builtins.tuple",
    "builtins.int", "builtins.float", "builtins.str", "builtins.bytes", "builtins.bool",
    "builtins.range",
    "collections.OrderedDict",
    "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
    "_codecs.encode",
    /* NumPy */
    "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar",
    "numpy.core.multiarray.frombuffer", "numpy.core.numeric._frombuffer", "numpy.frombuffer",
    "numpy.dtype", "numpy.ndarray", "numpy.core.multiarray.dtype", "numpy.core.multiarray.ndarray",
    "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray", "numpy.matrix",
    "numpy.matrixlib.defmatrix.matrix",
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor", "numpy.random.mtrand.RandomState",
    "numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64",
    "numpy.random.bit_generator.SeedSequence",
    /* joblib array wrappers (also as vendored by old scikit-learn) */
    "joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle.NDArrayWrapper",
    "joblib.numpy_pickle.ZNDArrayWrapper", "joblib.numpy_pickle_compat.NDArrayWrapper",
    "joblib.numpy_pickle_compat.ZNDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle_compat.ZNDArrayWrapper",
    /* torch rebuild helpers and plain data classes */
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_sparse_csr_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy", "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_nested_tensor",
    "torch._tensor._rebuild_from_type", "torch._tensor._rebuild_from_type_v2",
    "torch.storage.TypedStorage", "torch.storage.UntypedStorage", "torch.storage._TypedStorage",
    "torch.storage._UntypedStorage", "torch.UntypedStorage", "torch.TypedStorage",
    "torch.Size", "torch.device", "torch.Tensor", "torch.nn.parameter.Parameter",
    "torch.nn.Parameter", "torch.strided", "torch.sparse_coo", "torch.sparse_csr",
    "torch.contiguous_format", "torch.channels_last", "torch.preserve_format",
    "torch.per_tensor_affine", "torch.per_channel_affine",
    /* layout by its name: a lookup in a dict of torch.layout values (torch 1.13
       torch/serialization.py; on torch.load(weights_only=True)'s allowlist) */
    "torch.serialization._get_layout",
    "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensorlist",
    "torch.jit._pickle.build_tensor_from_id", "torch.jit._pickle.restore_type_tag",
    NULL};

/* torch dtypes and NumPy scalar types: "torch.<x>" / "numpy.<x>" */
static const char *const torch_dtypes[] = {
    "float", "float16", "float32", "float64", "bfloat16", "half", "double", "int8", "int16",
    "int32", "int64", "uint8", "bool", "complex32", "complex64", "complex128", "long", "int",
    "short", "cfloat", "cdouble", "chalf", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
    "float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64", NULL};
/* legacy tensor types "<module>.<x>Tensor", module torch, torch.cuda,
   torch.sparse, torch.cuda.sparse (torch._tensor_classes, on
   torch.load(weights_only=True)'s allowlist; the tar format names them) */
static const char *const torch_tensor_types[] = {
    "DoubleTensor", "FloatTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
    "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor", "ComplexFloatTensor",
    "ComplexDoubleTensor", NULL};
static const char *const numpy_scalars[] = {
    "bool_", "bool8", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "float128", "longdouble", "complex64", "complex128",
    "complex256", "clongdouble", "intc", "intp", "uint", "uintc", "uintp", "int_", "float_",
    "complex_", "half", "single", "double", "longlong", "ulonglong", "short", "ushort", "byte",
    "ubyte", "csingle", "cdouble", "str_", "unicode_", "bytes_", "string_", "void", "object_",
    "datetime64", "timedelta64", "generic", "number", NULL};

/* modules (first part) whose every member can run code, touch files, network
   or processes, import or reach attributes */
static const char *const danger_root[] = {
    "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "runpy", "importlib", "imp",
    "pickle", "_pickle", "cPickle", "pickletools", "marshal", "types", "operator", "_operator",
    "functools", "_functools", "pkgutil", "pydoc", "socket", "_socket", "ssl", "urllib", "urllib2",
    "urllib3", "requests", "http", "httplib", "ftplib", "smtplib", "telnetlib", "poplib",
    "imaplib", "nntplib", "xmlrpc", "xmlrpclib", "socketserver", "SocketServer", "shutil",
    "pty", "ctypes", "_ctypes", "pip", "webbrowser", "code", "codeop", "bdb", "pdb", "timeit",
    "trace", "cProfile", "profile", "multiprocessing", "_multiprocessing", "threading",
    "_thread", "thread", "concurrent", "asyncio", "signal", "tempfile", "glob", "io", "_io",
    "fileinput", "zipfile", "tarfile", "zipimport", "shelve", "dbm", "sqlite3", "_sqlite3",
    "commands", "popen2", "platform", "mmap", "resource", "gc", "inspect", "dis", "ast",
    "site", "sysconfig", "distutils", "setuptools", "venv", "ensurepip", "dill", "cloudpickle",
    "codecs", "linecache", "logging", "pathlib", "tkinter", "ftplib", "selectors", "select",
    "_posixsubprocess", "_winapi", "winreg", "_winreg", "msvcrt", "ctypes",
    "__builtin__", "_imp", "_io", "uuid", "getpass", "atexit", "faulthandler", "tracemalloc",
    "sre_compile", "_bootlocale", "smtpd", "asynchat", "asyncore", "cgi", "cgitb", "wsgiref",
    "numexpr", "sympy", "jinja2", "yaml", "IPython", NULL};

/* parts that are dangerous wherever they appear in a module path or a name
   (module attributes re-exporting these: collections._sys, torch.os, ...) */
static const char *const danger_any_part[] = {
    "os", "_os", "posix", "nt", "subprocess", "sys", "_sys", "builtins", "__builtin__",
    "__builtins__", "runpy", "importlib", "pickle", "_pickle", "cPickle", "marshal", "ctypes",
    "_ctypes", "socket", "shutil", "pty", "pip", "webbrowser", "commands", "dill", "cloudpickle",
    "_posixsubprocess", "npyio", "_datasource", "hub", "cpp_extension", "serialization", NULL};

/* names of functions that run code, read/write files or import */
static const char *const danger_name[] = {
    "eval", "exec", "execfile", "compile", "open", "system", "popen", "popen2", "popen3",
    "popen4", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp",
    "spawnvpe", "posix_spawn", "posix_spawnp", "execl", "execle", "execlp", "execlpe", "execv",
    "execve", "execvp", "execvpe", "fork", "forkpty", "kill", "killpg", "remove", "unlink",
    "rmdir", "removedirs", "rmtree", "rename", "replace", "truncate", "chmod", "chown",
    "symlink", "link", "mkdir", "makedirs", "__import__", "import_module", "load_module",
    "getattr", "setattr", "delattr", "globals", "locals", "vars", "input", "raw_input",
    "breakpoint", "load", "loads", "load_source", "load_compiled", "load_dynamic", "run_path",
    "run_module", "check_output", "check_call", "getoutput", "getstatusoutput", "Popen",
    "write_text", "write_bytes", "read_text", "read_bytes", "urlopen", "urlretrieve",
    "attrgetter", "methodcaller", "partial", "partialmethod", "resolve_name", "locate",
    "startfile", "read_pickle", "to_pickle", "_load_from_bytes", "memmap", "fromfile",
    "tofile", "loadtxt", "genfromtxt", "fromregex", "savetxt", "save", "savez",
    "savez_compressed", "DataSource", "runstring", "runcode", "runsource", "interact",
    "_forward_from_src", "reduce_graph_module", "reduce_package_graph_module",
    "reduce_deploy_graph_module", "_load_for_lite_interpreter", "apply", "dlopen", "CDLL",
    "PyDLL", "WinDLL", "cdll", "LoadLibrary", "pipe", "socketpair", "create_connection",
    "urlcleanup", "get_objects", "get_referrers", "get_referents", "FunctionType",
    "CodeType", "LambdaType", "MethodType", "ModuleType", "new_class", "exec_module",
    "SourceFileLoader", "ExtensionFileLoader", "ZipImportError", "zipimporter",
    "AsyncGenerator", "setrecursionlimit", "settrace", "setprofile", "modules", NULL};

/* dangerous areas inside libraries that are otherwise trusted / common */
static const char *const danger_prefix[] = {
    "numpy.lib.npyio", "numpy.lib.format", "numpy.lib._datasource", "numpy.lib.utils",
    "numpy.testing", "numpy.distutils", "numpy.f2py", "numpy.ctypeslib", "numpy.core.memmap",
    "numpy.load", "numpy.save", "numpy.memmap",
    "torch.load", "torch.save", "torch.hub", "torch.jit", "torch.serialization",
    "torch.package", "torch._C", "torch.ops", "torch.classes", "torch._dynamo",
    "torch._inductor", "torch.multiprocessing", "torch.distributed", "torch.utils",
    "torch._utils_internal", "torch._ops", "torch.fx", "torch._jit_internal", "torch.compiler",
    "torch.export", "torch._export", "torch.storage._load_from_bytes", "torch.cuda._utils",
    "torch.testing", "torch.backends", "torch.onnx",
    "joblib", "sklearn.externals", "sklearn.datasets", "sklearn.utils._testing",
    "sklearn.utils.estimator_checks", "sklearn.utils._joblib", "sklearn.utils.parallel",
    "sklearn.utils.fixes", "sklearn.utils._show_versions", "sklearn._build_utils",
    "sklearn.conftest", "sklearn.tests", "pandas.io", "pandas.read_pickle", "pandas.eval",
    "pandas.core.computation", "scipy.io", "scipy.weave", "scipy._lib", NULL};

static int in_list(const char *const *list, const char *s, size_t n) {
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0) return 1;
    return 0;
}

/* s starts with prefix followed by '.' or the end */
static int has_prefix(const char *s, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 && (s[n] == '\0' || s[n] == '.');
}

static int is_dunder(const char *s, size_t n) {
    return n > 4 && s[0] == '_' && s[1] == '_' && s[n - 1] == '_' && s[n - 2] == '_';
}

static int is_identifier(const char *s, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (i > 0 && c >= '0' && c <= '9');
        if (!ok) return 0;
    }
    return 1;
}

/* Judge one (module, name) pair as spelled (no mapping). */
static ckpt_verdict judge(const char *module, const char *name, const char **reason) {
    char full[CKPT__SCAN_NAME_MAX * 2 + 2];
    size_t ml = strlen(module), nl = strlen(name);
    if (ml + nl + 2 > sizeof full) {
        *reason = "name too long to be a Python global";
        return CKPT_VERDICT_UNKNOWN;
    }
    memcpy(full, module, ml);
    full[ml] = '.';
    memcpy(full + ml + 1, name, nl + 1);

    for (size_t i = 0; allow_exact[i]; i++)
        if (strcmp(full, allow_exact[i]) == 0) {
            *reason = "allowlisted data constructor";
            return CKPT_VERDICT_SAFE;
        }

    /* walk the parts of module and of name */
    int ident_ok = 1;
    for (int side = 0; side < 2; side++) {
        const char *s = side ? name : module;
        size_t n = side ? nl : ml;
        size_t i = 0;
        int first = 1;
        while (i <= n) {
            size_t j = i;
            while (j < n && s[j] != '.') j++;
            const char *part = s + i;
            size_t pl = j - i;
            if (!is_identifier(part, pl)) ident_ok = 0;
            /* "__torch__" leads TorchScript type names (__torch__.Net) */
            int dunder_ok = side == 0 ? ((pl == 8 && memcmp(part, "__main__", 8) == 0) ||
                                         (pl == 11 && memcmp(part, "__builtin__", 11) == 0) ||
                                         (first && pl == 9 && memcmp(part, "__torch__", 9) == 0))
                                      : ((pl == 10 && memcmp(part, "__newobj__", 10) == 0) ||
                                         (pl == 13 && memcmp(part, "__newobj_ex__", 13) == 0));
            if (is_dunder(part, pl) && !dunder_ok) {
                *reason = "dunder attribute: reaches interpreter internals";
                return CKPT_VERDICT_DANGEROUS;
            }
            if (first && side == 0 && in_list(danger_root, part, pl)) {
                *reason = "module that can run code, touch files, network or processes";
                return CKPT_VERDICT_DANGEROUS;
            }
            if (in_list(danger_any_part, part, pl)) {
                *reason = side ? "attribute path reaching a dangerous module"
                               : "module path through a dangerous module";
                return CKPT_VERDICT_DANGEROUS;
            }
            if (side == 1 && in_list(danger_name, part, pl)) {
                *reason = "function that runs code, imports, or reads/writes files";
                return CKPT_VERDICT_DANGEROUS;
            }
            if (side == 1 && in_list(danger_root, part, pl)) {
                *reason = "attribute path reaching a dangerous module";
                return CKPT_VERDICT_DANGEROUS;
            }
            first = 0;
            i = j + 1;
        }
    }
    if (strcmp(module, "builtins") == 0 || strcmp(module, "__builtin__") == 0) {
        *reason = "builtins other than plain data types (getattr, eval, open, ...)";
        return CKPT_VERDICT_DANGEROUS;
    }
    if (strcmp(module, "copyreg") == 0 || strcmp(module, "copy_reg") == 0) {
        *reason = "copyreg other than _reconstructor/__newobj__ can change the registry";
        return CKPT_VERDICT_DANGEROUS;
    }
    for (size_t i = 0; danger_prefix[i]; i++)
        if (has_prefix(full, danger_prefix[i])) {
            *reason = "part of a library that loads pickles, files or code";
            return CKPT_VERDICT_DANGEROUS;
        }
    if (has_prefix(module, "__torch__")) {
        /* a TorchScript type (in a TorchScript archive: its code/ says what it
           is; torch.jit.load compiles that code).  Python cannot import a
           module named __torch__; still not a data constructor. */
        *reason = "TorchScript class (its code is in the archive's code/, not judged)";
        return CKPT_VERDICT_UNKNOWN;
    }
    if (!ident_ok) {
        *reason = "not a Python identifier";
        return CKPT_VERDICT_UNKNOWN;
    }
    int dotted = strchr(name, '.') != NULL;
    if (!dotted) {
        if (strcmp(module, "torch") == 0 && in_list(torch_dtypes, name, nl)) {
            *reason = "torch dtype";
            return CKPT_VERDICT_SAFE;
        }
        if (has_prefix(module, "torch") && nl > 7 && strcmp(name + nl - 7, "Storage") == 0 &&
            (strcmp(module, "torch") == 0 || strcmp(module, "torch.cuda") == 0)) {
            *reason = "torch storage class";
            return CKPT_VERDICT_SAFE;
        }
        if ((strcmp(module, "torch") == 0 || strcmp(module, "torch.cuda") == 0 ||
             strcmp(module, "torch.sparse") == 0 || strcmp(module, "torch.cuda.sparse") == 0) &&
            in_list(torch_tensor_types, name, nl)) {
            *reason = "torch legacy tensor type";
            return CKPT_VERDICT_SAFE;
        }
        if ((strcmp(module, "numpy") == 0 || strcmp(module, "numpy.core.numerictypes") == 0) &&
            in_list(numpy_scalars, name, nl)) {
            *reason = "NumPy scalar type";
            return CKPT_VERDICT_SAFE;
        }
        if (has_prefix(module, "sklearn")) {
            *reason = "scikit-learn class or helper";
            return CKPT_VERDICT_SAFE;
        }
        if (has_prefix(module, "scipy.sparse") && nl > 7 &&
            (strcmp(name + nl - 7, "_matrix") == 0 || strcmp(name + nl - 6, "_array") == 0)) {
            *reason = "scipy.sparse matrix class";
            return CKPT_VERDICT_SAFE;
        }
    }
    *reason = dotted ? "attribute path not on the allowlist" : "not on the allowlist";
    return CKPT_VERDICT_UNKNOWN;
}

ckpt_verdict ckpt__scan_judge(const char *module, const char *name, const char *canonical,
                              const char **reason) {
    const char *r1 = NULL, *r2 = NULL;
    ckpt_verdict raw = judge(module, name, &r1);
    ckpt_verdict can = raw;
    r2 = r1;
    if (canonical && *canonical) {
        /* split the canonical key: the name is unchanged unless Python 2 mapped it */
        char cm[CKPT__SCAN_NAME_MAX + 1];
        const char *cn;
        size_t cl = strlen(canonical), nl = strlen(name);
        size_t split;
        if (cl > nl + 1 && canonical[cl - nl - 1] == '.' && strcmp(canonical + cl - nl, name) == 0)
            split = cl - nl - 1;
        else {
            const char *dot = strrchr(canonical, '.');
            split = dot ? (size_t)(dot - canonical) : 0;
        }
        if (split < sizeof cm) {
            memcpy(cm, canonical, split);
            cm[split] = '\0';
            cn = canonical + split + (canonical[split] == '.');
            can = judge(cm, cn, &r2);
        }
    }
    /* Python maps Python 2 names before importing: an allowlisted mapped
       name (__builtin__.set -> builtins.set) is what would be loaded */
    if (can == CKPT_VERDICT_SAFE) {
        if (reason) *reason = r2;
        return can;
    }
    if (raw == CKPT_VERDICT_DANGEROUS) {
        if (reason) *reason = r1;
        return raw;
    }
    if (reason) *reason = r2;
    return can;
}

const char *ckpt_verdict_name(ckpt_verdict v) {
    switch (v) {
    case CKPT_VERDICT_SAFE: return "safe";
    case CKPT_VERDICT_UNKNOWN: return "unknown";
    case CKPT_VERDICT_UNVERIFIABLE: return "unverifiable";
    case CKPT_VERDICT_DANGEROUS: return "dangerous";
    }
    return "?";
}

int ckpt_verdict_exit_code(ckpt_verdict v) {
    switch (v) {
    case CKPT_VERDICT_SAFE: return 0;
    case CKPT_VERDICT_DANGEROUS: return 1;
    case CKPT_VERDICT_UNVERIFIABLE: return 2;
    case CKPT_VERDICT_UNKNOWN: return 3;
    }
    return 2;
}

const char *ckpt_finding_kind_name(ckpt_finding_kind k) {
    switch (k) {
    case CKPT_FIND_GLOBAL: return "global";
    case CKPT_FIND_EXT: return "ext";
    case CKPT_FIND_DYNAMIC_GLOBAL: return "dynamic-global";
    case CKPT_FIND_PARSE_ERROR: return "parse-error";
    case CKPT_FIND_CONTAINER: return "container";
    case CKPT_FIND_NOTE: return "note";
    }
    return "?";
}
