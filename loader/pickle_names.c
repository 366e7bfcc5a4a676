/*
 * pickle_names.c - canonical names of globals: Python 2 module and name
 * renames (CPython's Lib/_compat_pickle.py tables, applied whatever the
 * protocol) and NumPy >= 2's numpy._core.* folded to numpy.core.*, so that
 * later layers look globals up by one "module.name" key.
 */
#include "pickle_internal.h"

#include <stdio.h>
#include <string.h>

/* Generated from CPython 3.11 Lib/_compat_pickle.py (Python 2 -> 3 names). */
static const char *const ckpt__import_map[][2] = {
    {"BaseHTTPServer", "http.server"},
    {"CGIHTTPServer", "http.server"},
    {"ConfigParser", "configparser"},
    {"Cookie", "http.cookies"},
    {"Dialog", "tkinter.dialog"},
    {"DocXMLRPCServer", "xmlrpc.server"},
    {"FileDialog", "tkinter.filedialog"},
    {"HTMLParser", "html.parser"},
    {"Queue", "queue"},
    {"ScrolledText", "tkinter.scrolledtext"},
    {"SimpleDialog", "tkinter.simpledialog"},
    {"SimpleHTTPServer", "http.server"},
    {"SimpleXMLRPCServer", "xmlrpc.server"},
    {"SocketServer", "socketserver"},
    {"StringIO", "io"},
    {"Tix", "tkinter.tix"},
    {"Tkconstants", "tkinter.constants"},
    {"Tkdnd", "tkinter.dnd"},
    {"Tkinter", "tkinter"},
    {"UserDict", "collections"},
    {"UserList", "collections"},
    {"UserString", "collections"},
    {"__builtin__", "builtins"},
    {"_abcoll", "collections.abc"},
    {"_elementtree", "xml.etree.ElementTree"},
    {"_winreg", "winreg"},
    {"anydbm", "dbm"},
    {"cPickle", "pickle"},
    {"cStringIO", "io"},
    {"commands", "subprocess"},
    {"cookielib", "http.cookiejar"},
    {"copy_reg", "copyreg"},
    {"dbhash", "dbm.bsd"},
    {"dbm", "dbm.ndbm"},
    {"dumbdbm", "dbm.dumb"},
    {"dummy_thread", "_dummy_thread"},
    {"gdbm", "dbm.gnu"},
    {"htmlentitydefs", "html.entities"},
    {"httplib", "http.client"},
    {"markupbase", "_markupbase"},
    {"repr", "reprlib"},
    {"robotparser", "urllib.robotparser"},
    {"test.test_support", "test.support"},
    {"thread", "_thread"},
    {"tkColorChooser", "tkinter.colorchooser"},
    {"tkCommonDialog", "tkinter.commondialog"},
    {"tkFileDialog", "tkinter.filedialog"},
    {"tkFont", "tkinter.font"},
    {"tkMessageBox", "tkinter.messagebox"},
    {"tkSimpleDialog", "tkinter.simpledialog"},
    {"ttk", "tkinter.ttk"},
    {"urllib2", "urllib.request"},
    {"urlparse", "urllib.parse"},
    {"whichdb", "dbm"},
    {"xmlrpclib", "xmlrpc.client"},
};
static const char *const ckpt__name_map[][4] = {
    {"UserDict", "IterableUserDict", "collections", "UserDict"},
    {"UserDict", "UserDict", "collections", "UserDict"},
    {"UserList", "UserList", "collections", "UserList"},
    {"UserString", "UserString", "collections", "UserString"},
    {"__builtin__", "basestring", "builtins", "str"},
    {"__builtin__", "intern", "sys", "intern"},
    {"__builtin__", "long", "builtins", "int"},
    {"__builtin__", "reduce", "functools", "reduce"},
    {"__builtin__", "unichr", "builtins", "chr"},
    {"__builtin__", "unicode", "builtins", "str"},
    {"__builtin__", "xrange", "builtins", "range"},
    {"_multiprocessing", "Connection", "multiprocessing.connection", "Connection"},
    {"_socket", "fromfd", "socket", "fromfd"},
    {"exceptions", "ArithmeticError", "builtins", "ArithmeticError"},
    {"exceptions", "AssertionError", "builtins", "AssertionError"},
    {"exceptions", "AttributeError", "builtins", "AttributeError"},
    {"exceptions", "BaseException", "builtins", "BaseException"},
    {"exceptions", "BufferError", "builtins", "BufferError"},
    {"exceptions", "BytesWarning", "builtins", "BytesWarning"},
    {"exceptions", "DeprecationWarning", "builtins", "DeprecationWarning"},
    {"exceptions", "EOFError", "builtins", "EOFError"},
    {"exceptions", "EnvironmentError", "builtins", "EnvironmentError"},
    {"exceptions", "Exception", "builtins", "Exception"},
    {"exceptions", "FloatingPointError", "builtins", "FloatingPointError"},
    {"exceptions", "FutureWarning", "builtins", "FutureWarning"},
    {"exceptions", "GeneratorExit", "builtins", "GeneratorExit"},
    {"exceptions", "IOError", "builtins", "IOError"},
    {"exceptions", "ImportError", "builtins", "ImportError"},
    {"exceptions", "ImportWarning", "builtins", "ImportWarning"},
    {"exceptions", "IndentationError", "builtins", "IndentationError"},
    {"exceptions", "IndexError", "builtins", "IndexError"},
    {"exceptions", "KeyError", "builtins", "KeyError"},
    {"exceptions", "KeyboardInterrupt", "builtins", "KeyboardInterrupt"},
    {"exceptions", "LookupError", "builtins", "LookupError"},
    {"exceptions", "MemoryError", "builtins", "MemoryError"},
    {"exceptions", "NameError", "builtins", "NameError"},
    {"exceptions", "NotImplementedError", "builtins", "NotImplementedError"},
    {"exceptions", "OSError", "builtins", "OSError"},
    {"exceptions", "OverflowError", "builtins", "OverflowError"},
    {"exceptions", "PendingDeprecationWarning", "builtins", "PendingDeprecationWarning"},
    {"exceptions", "ReferenceError", "builtins", "ReferenceError"},
    {"exceptions", "RuntimeError", "builtins", "RuntimeError"},
    {"exceptions", "RuntimeWarning", "builtins", "RuntimeWarning"},
    {"exceptions", "StandardError", "builtins", "Exception"},
    {"exceptions", "StopIteration", "builtins", "StopIteration"},
    {"exceptions", "SyntaxError", "builtins", "SyntaxError"},
    {"exceptions", "SyntaxWarning", "builtins", "SyntaxWarning"},
    {"exceptions", "SystemError", "builtins", "SystemError"},
    {"exceptions", "SystemExit", "builtins", "SystemExit"},
    {"exceptions", "TabError", "builtins", "TabError"},
    {"exceptions", "TypeError", "builtins", "TypeError"},
    {"exceptions", "UnboundLocalError", "builtins", "UnboundLocalError"},
    {"exceptions", "UnicodeDecodeError", "builtins", "UnicodeDecodeError"},
    {"exceptions", "UnicodeEncodeError", "builtins", "UnicodeEncodeError"},
    {"exceptions", "UnicodeError", "builtins", "UnicodeError"},
    {"exceptions", "UnicodeTranslateError", "builtins", "UnicodeTranslateError"},
    {"exceptions", "UnicodeWarning", "builtins", "UnicodeWarning"},
    {"exceptions", "UserWarning", "builtins", "UserWarning"},
    {"exceptions", "ValueError", "builtins", "ValueError"},
    {"exceptions", "Warning", "builtins", "Warning"},
    {"exceptions", "ZeroDivisionError", "builtins", "ZeroDivisionError"},
    {"itertools", "ifilter", "builtins", "filter"},
    {"itertools", "ifilterfalse", "itertools", "filterfalse"},
    {"itertools", "imap", "builtins", "map"},
    {"itertools", "izip", "builtins", "zip"},
    {"itertools", "izip_longest", "itertools", "zip_longest"},
    {"multiprocessing", "AuthenticationError", "multiprocessing.context", "AuthenticationError"},
    {"multiprocessing", "BufferTooShort", "multiprocessing.context", "BufferTooShort"},
    {"multiprocessing", "ProcessError", "multiprocessing.context", "ProcessError"},
    {"multiprocessing", "TimeoutError", "multiprocessing.context", "TimeoutError"},
    {"multiprocessing.forking", "Popen", "multiprocessing.popen_fork", "Popen"},
    {"multiprocessing.process", "Process", "multiprocessing.context", "Process"},
    {"socket", "_socketobject", "socket", "SocketType"},
    {"urllib", "ContentTooShortError", "urllib.error", "ContentTooShortError"},
    {"urllib", "getproxies", "urllib.request", "getproxies"},
    {"urllib", "pathname2url", "urllib.request", "pathname2url"},
    {"urllib", "quote", "urllib.parse", "quote"},
    {"urllib", "quote_plus", "urllib.parse", "quote_plus"},
    {"urllib", "unquote", "urllib.parse", "unquote"},
    {"urllib", "unquote_plus", "urllib.parse", "unquote_plus"},
    {"urllib", "url2pathname", "urllib.request", "url2pathname"},
    {"urllib", "urlcleanup", "urllib.request", "urlcleanup"},
    {"urllib", "urlencode", "urllib.parse", "urlencode"},
    {"urllib", "urlopen", "urllib.request", "urlopen"},
    {"urllib", "urlretrieve", "urllib.request", "urlretrieve"},
    {"urllib2", "HTTPError", "urllib.error", "HTTPError"},
    {"urllib2", "URLError", "urllib.error", "URLError"},
    {"whichdb", "whichdb", "dbm", "whichdb"},
};

#define N_ITEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *ckpt__canonical(ckpt_graph *g, const char *module, const char *name) {
    const char *m = module, *n = name;
    int mapped = 0;
    for (size_t i = 0; i < N_ITEMS(ckpt__name_map); i++) {
        if (strcmp(ckpt__name_map[i][0], module) == 0 && strcmp(ckpt__name_map[i][1], name) == 0) {
            m = ckpt__name_map[i][2];
            n = ckpt__name_map[i][3];
            mapped = 1;
            break;
        }
    }
    if (!mapped) {
        for (size_t i = 0; i < N_ITEMS(ckpt__import_map); i++) {
            if (strcmp(ckpt__import_map[i][0], module) == 0) {
                m = ckpt__import_map[i][1];
                break;
            }
        }
    }
    /* numpy._core.X (NumPy >= 2) is numpy.core.X */
    const char *rest = NULL;
    if (strncmp(m, "numpy._core", 11) == 0 && (m[11] == '\0' || m[11] == '.')) rest = m + 11;
    size_t ml = rest ? 10 + strlen(rest) : strlen(m);
    size_t nl = strlen(n);
    char *out = ckpt__g_alloc(g, ml + 1 + nl + 1);
    if (!out) return NULL;
    if (rest) {
        memcpy(out, "numpy.core", 10);
        memcpy(out + 10, rest, strlen(rest));
    } else {
        memcpy(out, m, ml);
    }
    out[ml] = '.';
    memcpy(out + ml + 1, n, nl);
    out[ml + 1 + nl] = '\0';
    return out;
}

/* ------------------------------------------------------------ the registry */

typedef struct role_entry {
    const char *key;
    ckpt_global_role role;
} role_entry;

/* Sorted by key (binary search).  Keys are canonical: numpy.core.* covers numpy._core.*. */
static const role_entry registry[] = {
    {"_codecs.encode", CKPT_GR_BUILTIN_VALUE},
    {"builtins.bytearray", CKPT_GR_BUILTIN_VALUE},
    {"builtins.complex", CKPT_GR_BUILTIN_VALUE},
    {"builtins.frozenset", CKPT_GR_BUILTIN_VALUE},
    {"builtins.range", CKPT_GR_BUILTIN_VALUE},
    {"builtins.set", CKPT_GR_BUILTIN_VALUE},
    {"builtins.slice", CKPT_GR_BUILTIN_VALUE},
    {"collections.OrderedDict", CKPT_GR_ORDERED_DICT},
    {"copyreg.__newobj__", CKPT_GR_COPYREG},
    {"copyreg.__newobj_ex__", CKPT_GR_COPYREG},
    {"copyreg._reconstructor", CKPT_GR_COPYREG},
    {"joblib.numpy_pickle.NDArrayWrapper", CKPT_GR_JOBLIB_ARRAY},
    {"joblib.numpy_pickle.NumpyArrayWrapper", CKPT_GR_JOBLIB_ARRAY},
    {"joblib.numpy_pickle.ZNDArrayWrapper", CKPT_GR_JOBLIB_ARRAY},
    {"numpy.core.multiarray._reconstruct", CKPT_GR_NUMPY_ARRAY},
    {"numpy.core.multiarray.scalar", CKPT_GR_NUMPY_SCALAR},
    {"numpy.core.numeric._frombuffer", CKPT_GR_NUMPY_ARRAY},
    {"numpy.dtype", CKPT_GR_NUMPY_DTYPE},
    {"numpy.ndarray", CKPT_GR_NUMPY_ARRAY},
    {"sklearn.externals.joblib.numpy_pickle.NDArrayWrapper", CKPT_GR_JOBLIB_ARRAY},
    {"sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper", CKPT_GR_JOBLIB_ARRAY},
    {"sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper", CKPT_GR_JOBLIB_ARRAY},
    {"torch.BFloat16Storage", CKPT_GR_TORCH_STORAGE},
    {"torch.BoolStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.ByteStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.CharStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.ComplexDoubleStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.ComplexFloatStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.DoubleStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.FloatStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.HalfStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.IntStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.LongStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.QInt32Storage", CKPT_GR_TORCH_STORAGE},
    {"torch.QInt8Storage", CKPT_GR_TORCH_STORAGE},
    {"torch.QUInt4x2Storage", CKPT_GR_TORCH_STORAGE},
    {"torch.QUInt8Storage", CKPT_GR_TORCH_STORAGE},
    {"torch.ShortStorage", CKPT_GR_TORCH_STORAGE},
    {"torch._tensor._rebuild_from_type_v2", CKPT_GR_TORCH_TENSOR},
    {"torch._utils._rebuild_meta_tensor_no_storage", CKPT_GR_TORCH_TENSOR},
    {"torch._utils._rebuild_parameter", CKPT_GR_TORCH_TENSOR},
    {"torch._utils._rebuild_parameter_with_state", CKPT_GR_TORCH_TENSOR},
    {"torch._utils._rebuild_qtensor", CKPT_GR_TORCH_TENSOR},
    {"torch._utils._rebuild_sparse_tensor", CKPT_GR_TORCH_TENSOR},
    {"torch._utils._rebuild_tensor", CKPT_GR_TORCH_TENSOR},
    {"torch._utils._rebuild_tensor_v2", CKPT_GR_TORCH_TENSOR},
    {"torch._utils._rebuild_tensor_v3", CKPT_GR_TORCH_TENSOR},
    {"torch.bfloat16", CKPT_GR_TORCH_DTYPE},
    {"torch.bool", CKPT_GR_TORCH_DTYPE},
    {"torch.complex128", CKPT_GR_TORCH_DTYPE},
    {"torch.complex64", CKPT_GR_TORCH_DTYPE},
    {"torch.float16", CKPT_GR_TORCH_DTYPE},
    {"torch.float32", CKPT_GR_TORCH_DTYPE},
    {"torch.float64", CKPT_GR_TORCH_DTYPE},
    {"torch.int16", CKPT_GR_TORCH_DTYPE},
    {"torch.int32", CKPT_GR_TORCH_DTYPE},
    {"torch.int64", CKPT_GR_TORCH_DTYPE},
    {"torch.int8", CKPT_GR_TORCH_DTYPE},
    {"torch.storage.UntypedStorage", CKPT_GR_TORCH_STORAGE},
    {"torch.storage._load_from_bytes", CKPT_GR_TORCH_STORAGE},
    {"torch.uint8", CKPT_GR_TORCH_DTYPE},
};

ckpt_global_role ckpt_global_role_of(const char *canonical) {
    if (!canonical) return CKPT_GR_UNKNOWN;
    size_t lo = 0, hi = N_ITEMS(registry);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(canonical, registry[mid].key);
        if (c == 0) return registry[mid].role;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return CKPT_GR_UNKNOWN;
}

const char *ckpt_global_role_name(ckpt_global_role r) {
    static const char *const names[CKPT_GR__COUNT] = {
        "unknown", "numpy-array", "numpy-dtype", "numpy-scalar", "torch-tensor", "torch-storage",
        "torch-dtype", "ordered-dict", "builtin-value", "copyreg", "joblib-array"};
    return (unsigned)r < CKPT_GR__COUNT ? names[r] : "unknown";
}
