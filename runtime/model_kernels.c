/*
 * model_kernels.c - dense numeric kernels of the runtime: products through
 * OpenBLAS (cblas) for batches, plain loops for tiny ones (a call into BLAS
 * costs more than a 1 x 10 x 3 product), logistic / softmax like scipy, and
 * squared distances.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model_internal.h"

/* Below this many multiply-adds a loop beats the BLAS call overhead. */
#define CKPT_K_SMALL_FLOPS 4096

void ckpt_k_gemm_nt(const double *X, int64_t n, int64_t d, const double *W, int64_t k,
                    const double *b, double *out)
{
    if (n <= 0 || k <= 0)
        return;
    if (n * d * k <= CKPT_K_SMALL_FLOPS || d == 0) {
        for (int64_t r = 0; r < n; r++) {
            const double *x = X + r * d;
            for (int64_t j = 0; j < k; j++) {
                const double *w = W + j * d;
                double s = 0.0;
                for (int64_t c = 0; c < d; c++)
                    s += x[c] * w[c];
                out[r * k + j] = b ? s + b[j] : s;
            }
        }
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)k, (blasint)d, 1.0,
                X, (blasint)d, W, (blasint)d, 0.0, out, (blasint)k);
    if (b)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < k; j++)
                out[r * k + j] += b[j];
}

void ckpt_k_gemm_nn(const double *X, int64_t n, int64_t d, const double *W, int64_t k,
                    const double *b, double *out)
{
    if (n <= 0 || k <= 0)
        return;
    if (n * d * k <= CKPT_K_SMALL_FLOPS || d == 0) {
        for (int64_t r = 0; r < n; r++) {
            double *o = out + r * k;
            for (int64_t j = 0; j < k; j++)
                o[j] = 0.0;
            const double *x = X + r * d;
            for (int64_t c = 0; c < d; c++) {
                const double xc = x[c];
                const double *w = W + c * k;
                for (int64_t j = 0; j < k; j++)
                    o[j] += xc * w[j];
            }
            if (b)
                for (int64_t j = 0; j < k; j++)
                    o[j] += b[j];
        }
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)n, (blasint)k, (blasint)d,
                1.0, X, (blasint)d, W, (blasint)k, 0.0, out, (blasint)k);
    if (b)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < k; j++)
                out[r * k + j] += b[j];
}

void ckpt_k_csr_gemm_nt(const ckpt_csr *X, const double *W, int64_t k, const double *b,
                        double *out)
{
    const int64_t d = X->cols;
    for (int64_t r = 0; r < X->rows; r++) {
        double *o = out + r * k;
        for (int64_t j = 0; j < k; j++)
            o[j] = b ? b[j] : 0.0;
        for (int64_t p = X->indptr[r]; p < X->indptr[r + 1]; p++) {
            const int64_t c = X->indices[p];
            const double v = X->data[p];
            for (int64_t j = 0; j < k; j++)
                o[j] += v * W[j * d + c];
        }
    }
}

double ckpt_k_expit(double x)
{
    /* scipy.special.expit: 1 / (1 + exp(-x)), stable for large |x| */
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

void ckpt_k_softmax(double *row, int64_t k)
{
    double mx = row[0];
    for (int64_t j = 1; j < k; j++)
        if (row[j] > mx)
            mx = row[j];
    double s = 0.0;
    for (int64_t j = 0; j < k; j++) {
        row[j] = exp(row[j] - mx);
        s += row[j];
    }
    for (int64_t j = 0; j < k; j++)
        row[j] /= s;
}

int64_t ckpt_k_argmax(const double *row, int64_t k)
{
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

void ckpt_k_sqdist(const double *X, int64_t n, const double *C, int64_t m, int64_t d,
                   double *out)
{
    for (int64_t r = 0; r < n; r++) {
        const double *x = X + r * d;
        for (int64_t j = 0; j < m; j++) {
            const double *c = C + j * d;
            double s = 0.0;
            for (int64_t t = 0; t < d; t++) {
                const double z = x[t] - c[t];
                s += z * z;
            }
            out[r * m + j] = s;
        }
    }
}
