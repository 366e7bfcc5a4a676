/*
 * zip_lib.h - libzip for the loader, loaded on first use.
 *
 * The loader's own central-directory walk (zip.c) opens stored PyTorch
 * archives without libzip; libzip is needed only to inflate a member, to read
 * an .npz, to checksum a deflated member (verify.c) and to judge an archive
 * the walk refuses.  With CKPT_LIBZIP_DLOPEN (the default build) the library
 * is therefore not linked: it is dlopen'ed, by the soname the build found
 * (CKPT_LIBZIP_SONAME, e.g. "libzip.so.4"), the first time one of those paths
 * runs.  Linked, libzip and the libcrypto it needs cost a process ~1.4 MB of
 * resident memory and 3-4 ms of start-up before main on this project's
 * machines, whether or not a zip member is ever inflated.
 *
 * Every zip_t in the loader is made after ckpt__zip_lib_load() returned
 * CKPT_OK (lazy_za and open_libzip in zip.c, open_za in verify.c), so the
 * calls that take one can go through the table without a check.  Files that
 * include this header call libzip by its usual names; with
 * CKPT_LIBZIP_DLOPEN those names are macros for the table's entries, whose
 * types zip_lib.c checks against <zip.h>'s prototypes at compile time.
 * Built with -DCKPT_LIBZIP_DLOPEN=OFF, libzip is linked and the load is a
 * no-op.
 */
#ifndef CKPT_ZIP_LIB_H
#define CKPT_ZIP_LIB_H

#include <zip.h>

#include "loader_internal.h"

/* Make sure libzip is there: CKPT_OK, or CKPT_E_UNSUPPORTED with err naming
   the library, what it was needed for (`what`, e.g. "to inflate member
   'data.pkl'") and the dynamic loader's words.  Thread-safe; a failure is not
   remembered (a later call tries again). */
ckpt_status ckpt__zip_lib_load(const char *what, ckpt_error *err);

#if CKPT_LIBZIP_DLOPEN
/* The soname dlopen'ed (CKPT_LIBZIP_SONAME); tests point it elsewhere to see
   the failure.  Read when a load is attempted. */
extern const char *ckpt__zip_soname;

/* Every libzip function the loader calls: name, return type, parameters. */
#define CKPT__ZIP_FUNCS(X)                                                                         \
    X(zip_discard, void, (zip_t *))                                                                \
    X(zip_error_code_zip, int, (const zip_error_t *))                                              \
    X(zip_error_fini, void, (zip_error_t *))                                                       \
    X(zip_error_init, void, (zip_error_t *))                                                       \
    X(zip_error_strerror, const char *, (zip_error_t *))                                           \
    X(zip_fclose, int, (zip_file_t *))                                                             \
    X(zip_file_get_error, zip_error_t *, (zip_file_t *))                                           \
    X(zip_fopen_index, zip_file_t *, (zip_t *, zip_uint64_t, zip_flags_t))                         \
    X(zip_fread, zip_int64_t, (zip_file_t *, void *, zip_uint64_t))                                \
    X(zip_get_error, zip_error_t *, (zip_t *))                                                     \
    X(zip_get_name, const char *, (zip_t *, zip_uint64_t, zip_flags_t))                            \
    X(zip_get_num_entries, zip_int64_t, (zip_t *, zip_flags_t))                                    \
    X(zip_open_from_source, zip_t *, (zip_source_t *, int, zip_error_t *))                         \
    X(zip_source_buffer_create, zip_source_t *, (const void *, zip_uint64_t, int, zip_error_t *))  \
    X(zip_source_free, void, (zip_source_t *))                                                     \
    X(zip_stat_index, int, (zip_t *, zip_uint64_t, zip_flags_t, zip_stat_t *))                     \
    X(zip_stat_init, void, (zip_stat_t *))

#define CKPT__ZIP_MEMBER(name, ret, params) ret(*name) params;
typedef struct ckpt__zip_fns {
    CKPT__ZIP_FUNCS(CKPT__ZIP_MEMBER)
} ckpt__zip_fns;
#undef CKPT__ZIP_MEMBER

/* Filled by the first successful ckpt__zip_lib_load(), never changed after. */
extern ckpt__zip_fns ckpt__zip;

#ifndef CKPT__ZIP_LIB_IMPL
#define zip_discard (ckpt__zip.zip_discard)
#define zip_error_code_zip (ckpt__zip.zip_error_code_zip)
#define zip_error_fini (ckpt__zip.zip_error_fini)
#define zip_error_init (ckpt__zip.zip_error_init)
#define zip_error_strerror (ckpt__zip.zip_error_strerror)
#define zip_fclose (ckpt__zip.zip_fclose)
#define zip_file_get_error (ckpt__zip.zip_file_get_error)
#define zip_fopen_index (ckpt__zip.zip_fopen_index)
#define zip_fread (ckpt__zip.zip_fread)
#define zip_get_error (ckpt__zip.zip_get_error)
#define zip_get_name (ckpt__zip.zip_get_name)
#define zip_get_num_entries (ckpt__zip.zip_get_num_entries)
#define zip_open_from_source (ckpt__zip.zip_open_from_source)
#define zip_source_buffer_create (ckpt__zip.zip_source_buffer_create)
#define zip_source_free (ckpt__zip.zip_source_free)
#define zip_stat_index (ckpt__zip.zip_stat_index)
#define zip_stat_init (ckpt__zip.zip_stat_init)
#endif
#endif /* CKPT_LIBZIP_DLOPEN */

#endif
