/*
 * test_pickle_registry.c - the registry of known globals: roles by canonical
 * key, and the canonical key itself for names as files write them (NumPy 2's
 * numpy._core, Python 2 module and name renames, unknown user classes).
 */
#include "util_test.h"

#include <stdio.h>
#include <string.h>

#include "ckpt/ckpt_pickle.h"

/* Load "c<module>\n<name>\n." (protocol 0 GLOBAL) and check canonical + role. */
static void check_global(const char *module, const char *name, const char *want_canonical,
                         ckpt_global_role want_role) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "c%s\n%s\n.", module, name);
    ckpt_graph *g = NULL;
    CHECK_STATUS(ckpt_graph_new(NULL, NULL, 0, &g), CKPT_OK);
    ckpt_value *root = NULL;
    ckpt_error err;
    ckpt_status st = ckpt_pickle_load(g, (const uint8_t *)buf, (size_t)n, 0, NULL, &root, NULL, &err);
    CHECKF(st == CKPT_OK, "%s.%s: load status %d: %s", module, name, (int)st, err.message);
    const char *can = ckpt_value_canonical(root);
    CHECKF(can && strcmp(can, want_canonical) == 0, "%s.%s: canonical %s, want %s", module, name,
           can ? can : "(null)", want_canonical);
    CHECKF(ckpt_value_module(root) && strcmp(ckpt_value_module(root), module) == 0,
           "%s.%s: module as written kept", module, name);
    ckpt_global_role r = ckpt_global_role_of(can);
    CHECKF(r == want_role, "%s.%s: role %s, want %s", module, name, ckpt_global_role_name(r),
           ckpt_global_role_name(want_role));
    ckpt_graph_free(g);
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    check_global("numpy.core.multiarray", "_reconstruct", "numpy.core.multiarray._reconstruct",
                 CKPT_GR_NUMPY_ARRAY);
    check_global("numpy._core.multiarray", "_reconstruct", "numpy.core.multiarray._reconstruct",
                 CKPT_GR_NUMPY_ARRAY);
    check_global("numpy._core.numeric", "_frombuffer", "numpy.core.numeric._frombuffer",
                 CKPT_GR_NUMPY_ARRAY);
    check_global("numpy._core", "multiarray", "numpy.core.multiarray", CKPT_GR_UNKNOWN);
    check_global("numpy._corex", "y", "numpy._corex.y", CKPT_GR_UNKNOWN);
    check_global("numpy", "dtype", "numpy.dtype", CKPT_GR_NUMPY_DTYPE);
    check_global("numpy.core.multiarray", "scalar", "numpy.core.multiarray.scalar", CKPT_GR_NUMPY_SCALAR);
    check_global("copy_reg", "_reconstructor", "copyreg._reconstructor", CKPT_GR_COPYREG);
    check_global("__builtin__", "set", "builtins.set", CKPT_GR_BUILTIN_VALUE);
    check_global("__builtin__", "xrange", "builtins.range", CKPT_GR_BUILTIN_VALUE);
    check_global("__builtin__", "unicode", "builtins.str", CKPT_GR_UNKNOWN);
    check_global("exceptions", "StandardError", "builtins.Exception", CKPT_GR_UNKNOWN);
    check_global("collections", "OrderedDict", "collections.OrderedDict", CKPT_GR_ORDERED_DICT);
    check_global("torch._utils", "_rebuild_tensor_v2", "torch._utils._rebuild_tensor_v2", CKPT_GR_TORCH_TENSOR);
    check_global("torch", "BFloat16Storage", "torch.BFloat16Storage", CKPT_GR_TORCH_STORAGE);
    check_global("torch", "bfloat16", "torch.bfloat16", CKPT_GR_TORCH_DTYPE);
    check_global("joblib.numpy_pickle", "NumpyArrayWrapper", "joblib.numpy_pickle.NumpyArrayWrapper",
                 CKPT_GR_JOBLIB_ARRAY);
    check_global("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper",
                 "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper", CKPT_GR_JOBLIB_ARRAY);
    check_global("__main__", "MyModel", "__main__.MyModel", CKPT_GR_UNKNOWN);
    check_global("os", "system", "os.system", CKPT_GR_UNKNOWN);
    check_global("posix", "system", "posix.system", CKPT_GR_UNKNOWN);
    /* lookups at the edges of the sorted table */
    CHECK(ckpt_global_role_of("_codecs.encode") == CKPT_GR_BUILTIN_VALUE);
    CHECK(ckpt_global_role_of("torch.uint8") == CKPT_GR_TORCH_DTYPE);
    CHECK(ckpt_global_role_of("") == CKPT_GR_UNKNOWN);
    CHECK(ckpt_global_role_of("zzz") == CKPT_GR_UNKNOWN);
    CHECK(ckpt_global_role_of(NULL) == CKPT_GR_UNKNOWN);
    CHECK(strcmp(ckpt_global_role_name(CKPT_GR_TORCH_TENSOR), "torch-tensor") == 0);
    CHECK(strcmp(ckpt_global_role_name((ckpt_global_role)999), "unknown") == 0);
    return tu_finish();
}
