/*
 * zip_lib.c - loading libzip on first use (see zip_lib.h).
 */
#define CKPT__ZIP_LIB_IMPL 1
#include "zip_lib.h"

#if CKPT_LIBZIP_DLOPEN

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#ifndef CKPT_LIBZIP_SONAME
#error "CKPT_LIBZIP_SONAME (the soname of the libzip the build found) must be defined"
#endif

const char *ckpt__zip_soname = CKPT_LIBZIP_SONAME;
ckpt__zip_fns ckpt__zip;

/* The table's types are <zip.h>'s: a prototype that changes fails the build
   here instead of calling through a pointer of the wrong type. */
#define CKPT__ZIP_CHECK(name, ret, params)                                                         \
    _Static_assert(_Generic((name), ret(*) params: 1, default: 0), #name " does not match <zip.h>");
CKPT__ZIP_FUNCS(CKPT__ZIP_CHECK)
#undef CKPT__ZIP_CHECK

static pthread_mutex_t zl_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int zl_loaded; /* 1 once ckpt__zip is filled (release) */

/* dlsym's void * to a function pointer: POSIX guarantees the round trip; the
   copy keeps -Wpedantic's object-to-function cast warning out. */
static void set_fn(void *slot, void *sym) { memcpy(slot, &sym, sizeof sym); }

ckpt_status ckpt__zip_lib_load(const char *what, ckpt_error *err) {
    if (atomic_load_explicit(&zl_loaded, memory_order_acquire)) return CKPT_OK;
    pthread_mutex_lock(&zl_lock);
    ckpt_status st = CKPT_OK;
    if (!atomic_load_explicit(&zl_loaded, memory_order_relaxed)) {
        const char *so = ckpt__zip_soname;
        /* never closed: zip_t handles and their sources live in it */
        void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *why = dlerror();
            st = ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1, "zip: libzip (%s) is needed %s but cannot be loaded: %s",
                                so, what, why ? why : "unknown dlopen error");
        } else {
            ckpt__zip_fns fns;
            const char *missing = NULL;
#define CKPT__ZIP_SYM(name, ret, params)                                                           \
    if (!missing) {                                                                                \
        void *sym = dlsym(h, #name);                                                               \
        if (sym) set_fn(&fns.name, sym);                                                           \
        else missing = #name;                                                                      \
    }
            CKPT__ZIP_FUNCS(CKPT__ZIP_SYM)
#undef CKPT__ZIP_SYM
            if (missing) {
                dlclose(h);
                st = ckpt_error_set(err, CKPT_E_UNSUPPORTED, -1,
                                    "zip: libzip (%s) is needed %s but has no function %s", so, what, missing);
            } else {
                ckpt__zip = fns;
                atomic_store_explicit(&zl_loaded, 1, memory_order_release);
            }
        }
    }
    pthread_mutex_unlock(&zl_lock);
    return st;
}

#else /* libzip linked */

ckpt_status ckpt__zip_lib_load(const char *what, ckpt_error *err) {
    (void)what;
    (void)err;
    return CKPT_OK;
}

#endif
