/*
 * test_joblib_sparse.c - uncompressed joblib files parsed through the sparse
 * pread windows (fmt_pickle.c; normally only for files >= 8 MB) give exactly
 * what the plain path over the mapping gives: same status, format, protocol,
 * graph size, facts, arrays (path, dtype, shape, strides, state, file offset)
 * and the same data bytes.  The plain path is checked against NumPy's numbers
 * by test_numpy_fixtures; here every models/ joblib/pickle file that mentions
 * NumpyArrayWrapper is opened both ways, and so are truncated and
 * byte-flipped copies of each (hostile input through the windows: the same
 * status, no sanitizer report).
 */
#include "util_test.h"

#include "ckpt/ckpt_file.h"
#include "loader_internal.h" /* struct ckpt_file: fmt_state tells whether the windows were used */
#include "numpy_internal.h"  /* ckpt__sparse_min */

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILES 512
#define CUTS 24
#define FLIPS 24

typedef struct opened {
    ckpt_status st;
    ckpt_file *f;
} opened;

/* sparse: 0 plain mapping, 1 default windows, 2 tiny windows and chunks */
static opened open_mode(const char *path, int sparse) {
    size_t saved[4] = {ckpt__sparse_min, ckpt__sparse_first, ckpt__sparse_win, ckpt__sparse_chunk};
    ckpt__sparse_min = sparse ? 0 : SIZE_MAX;
    if (sparse == 2) {
        ckpt__sparse_first = 1;
        ckpt__sparse_win = 1;
        ckpt__sparse_chunk = 64;
    }
    opened o = {CKPT_OK, NULL};
    ckpt_error err;
    o.st = ckpt_open(path, NULL, &o.f, &err);
    ckpt__sparse_min = saved[0];
    ckpt__sparse_first = saved[1];
    ckpt__sparse_win = saved[2];
    ckpt__sparse_chunk = saved[3];
    return o;
}

/* Plain vs windows (mode 1 or 2); returns 1 if both parsed and the sparse path was really taken. */
static int compare(const char *path, const char *label, int mode) {
    opened a = open_mode(path, 0), b = open_mode(path, mode);
    CHECKF(a.st == b.st, "%s: status plain %d vs sparse %d", label, (int)a.st, (int)b.st);
    int ok = a.st == CKPT_OK && b.st == CKPT_OK;
    if (ok) {
        CHECKF(ckpt_file_format(a.f) == ckpt_file_format(b.f), "%s: format", label);
        CHECKF(ckpt_file_protocol(a.f) == ckpt_file_protocol(b.f), "%s: protocol", label);
        CHECKF(ckpt_graph_node_count(ckpt_file_graph(a.f)) == ckpt_graph_node_count(ckpt_file_graph(b.f)),
               "%s: graph nodes", label);
        CHECKF(ckpt_file_pickle_count(a.f) == ckpt_file_pickle_count(b.f), "%s: pickles", label);
        size_t nf = ckpt_file_fact_count(a.f);
        CHECKF(nf == ckpt_file_fact_count(b.f), "%s: facts", label);
        for (size_t i = 0; i < nf && i < ckpt_file_fact_count(b.f); i++)
            CHECKF(!strcmp(ckpt_file_fact_key(a.f, i), ckpt_file_fact_key(b.f, i)) &&
                       !strcmp(ckpt_file_fact_value(a.f, i), ckpt_file_fact_value(b.f, i)),
                   "%s: fact %zu", label, i);
        size_t n = ckpt_file_array_count(a.f);
        CHECKF(n == ckpt_file_array_count(b.f), "%s: arrays %zu vs %zu", label, n, ckpt_file_array_count(b.f));
        for (size_t i = 0; i < n && i < ckpt_file_array_count(b.f); i++) {
            const ckpt_array_info *x = ckpt_file_array(a.f, i), *y = ckpt_file_array(b.f, i);
            int same = !strcmp(x->path, y->path) && x->dtype->type == y->dtype->type &&
                       x->dtype->itemsize == y->dtype->itemsize && x->ndim == y->ndim &&
                       x->nbytes == y->nbytes && x->state == y->state && x->file_offset == y->file_offset &&
                       x->will_copy == y->will_copy;
            for (uint32_t d = 0; same && d < x->ndim; d++)
                same = x->shape[d] == y->shape[d] && x->strides[d] == y->strides[d];
            CHECKF(same, "%s: array %zu (%s) described alike", label, i, x->path);
            if (!same || x->dtype->type == CKPT_DT_OBJECT) continue;
            const void *da = NULL, *db = NULL;
            ckpt_error err;
            ckpt_status sa = ckpt_array_data(a.f, i, &da, &err), sb = ckpt_array_data(b.f, i, &db, &err);
            CHECKF(sa == sb, "%s: array %zu data status", label, i);
            if (sa == CKPT_OK && sb == CKPT_OK && x->state != CKPT_DATA_UNAVAILABLE)
                CHECKF(x->nbytes == 0 || memcmp(da, db, x->nbytes) == 0, "%s: array %zu bytes", label, i);
        }
    }
    int windowed = ok && b.f->fmt_state != NULL && a.f->fmt_state == NULL;
    ckpt_close(a.f);
    ckpt_close(b.f);
    return windowed;
}

static int mentions_wrapper(const char *buf, size_t len) {
    return memmem(buf, len < 16384 ? len : 16384, "NumpyArrayWrapper", 17) != NULL;
}

static size_t collect(const char *dir, char **out, size_t n) {
    DIR *d = opendir(dir);
    if (!d) return n;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_FILES) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t l = strlen(e->d_name);
        if ((l > 7 && !strcmp(e->d_name + l - 7, ".joblib")) || (l > 4 && !strcmp(e->d_name + l - 4, ".pkl")))
            out[n++] = strdup(p);
        else if (e->d_type == DT_DIR)
            n = collect(p, out, n);
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv) {
    tu_init(argc, argv);
    char *files[MAX_FILES];
    size_t nfiles = collect(tu_path(tu_src_dir, "models"), files, 0);
    char tmp[4096];
    int tfd = tu_mkstemp(tmp, sizeof tmp, "ckpt_sparse_");
    CHECK(tfd >= 0);
    if (tfd >= 0) close(tfd);
    size_t used = 0, windows = 0, tiny = 0;
    for (size_t k = 0; k < nfiles; k++) {
        size_t len = 0;
        char *buf = tu_read_file(files[k], &len);
        if (!buf || !mentions_wrapper(buf, len)) {
            free(buf);
            free(files[k]);
            continue;
        }
        used++;
        windows += (size_t)compare(files[k], files[k], 1);
        tiny += (size_t)compare(files[k], files[k], 2);
        /* hostile copies through the windows: prefixes and byte flips */
        for (int c = 0; c < CUTS + FLIPS && tfd >= 0; c++) {
            FILE *fp = fopen(tmp, "wb");
            if (!fp) break;
            size_t n = len;
            char label[4200];
            if (c < CUTS) {
                n = len * (size_t)(c + 1) / (CUTS + 1);
                snprintf(label, sizeof label, "%s[:%zu]", files[k], n);
                fwrite(buf, 1, n, fp);
            } else {
                size_t at = (len * (size_t)(c - CUTS) * 7919u / FLIPS) % (len ? len : 1);
                char saved = buf[at];
                buf[at] = (char)(buf[at] ^ (0x41 + c));
                snprintf(label, sizeof label, "%s^%zu", files[k], at);
                fwrite(buf, 1, len, fp);
                buf[at] = saved;
            }
            fclose(fp);
            compare(tmp, label, 1 + (c & 1));
        }
        free(buf);
        free(files[k]);
    }
    if (tfd >= 0) unlink(tmp);
    printf("%zu joblib files with NumpyArrayWrapper, %zu parsed through the sparse windows, %zu through tiny ones\n",
           used, windows, tiny);
    CHECK(used >= 10);
    CHECK(windows >= 10);
    CHECK_EQ_INT(tiny, windows);
    return tu_finish();
}
