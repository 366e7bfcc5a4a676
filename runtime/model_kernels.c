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
/* Up to this many rows a product goes through dgemv, row by row. */
#define CKPT_K_GEMV_ROWS 2

/* y[j] = W[j] . x for the k rows of W (k x d): four lanes of partial sums per
   row, added pairwise at the end (a different order than a plain loop; the
   difference is rounding, ~1e-16 relative). */
CKPT_RT_CLONES static void gemv_rows(const double *restrict W, int64_t k, int64_t d,
                                     const double *restrict x, double *restrict y)
{
    for (int64_t j = 0; j < k; j++) {
        const double *w = W + j * d;
        int64_t c = 0;
        double s = 0.0;
#if CKPT_RT_V4
        ckpt_v4d a = {0, 0, 0, 0}, b = a;
        for (; c + 8 <= d; c += 8) {
            ckpt_v4d w0, w1, x0, x1;
            CKPT_V4_LOAD(w0, w + c);
            CKPT_V4_LOAD(w1, w + c + 4);
            CKPT_V4_LOAD(x0, x + c);
            CKPT_V4_LOAD(x1, x + c + 4);
            a += w0 * x0;
            b += w1 * x1;
        }
        a += b;
        s = (a[0] + a[1]) + (a[2] + a[3]);
#endif
        for (; c < d; c++)
            s += w[c] * x[c];
        y[j] = s;
    }
}

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
    if (n <= CKPT_K_GEMV_ROWS) /* a few rows: no BLAS call (nor its thread hand-off) */
        for (int64_t r = 0; r < n; r++)
            gemv_rows(W, k, d, X + r * d, out + r * k);
    else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)k, (blasint)d,
                    1.0, X, (blasint)d, W, (blasint)d, 0.0, out, (blasint)k);
    if (b)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < k; j++)
                out[r * k + j] += b[j];
}

/* o[0..NN_LANES) = x . W[:, 0..NN_LANES) for W with row stride ldw, each sum
   over c in order (fixed-width lanes: kept in vector registers). */
#define NN_LANES 8
CKPT_RT_CLONES static void nn_lanes(const double *restrict x, int64_t d,
                                    const double *restrict W, int64_t ldw, double *restrict o)
{
#if CKPT_RT_V4 && NN_LANES == 8
    ckpt_v4d a0 = {0, 0, 0, 0}, a1 = a0;
    for (int64_t c = 0; c < d; c++) {
        const ckpt_v4d xc = {x[c], x[c], x[c], x[c]};
        ckpt_v4d w0, w1;
        CKPT_V4_LOAD(w0, W + c * ldw);
        CKPT_V4_LOAD(w1, W + c * ldw + 4);
        a0 += xc * w0;
        a1 += xc * w1;
    }
    CKPT_V4_STORE(o, a0);
    CKPT_V4_STORE(o + 4, a1);
#else
    double acc[NN_LANES] = {0};
    for (int64_t c = 0; c < d; c++) {
        const double xc = x[c];
        const double *restrict w = W + c * ldw;
        for (int q = 0; q < NN_LANES; q++)
            acc[q] += xc * w[q];
    }
    for (int q = 0; q < NN_LANES; q++)
        o[q] = acc[q];
#endif
}

void ckpt_k_gemm_nn(const double *X, int64_t n, int64_t d, const double *W, int64_t k,
                    const double *b, double *out)
{
    if (n <= 0 || k <= 0)
        return;
    if (n * d * k <= CKPT_K_SMALL_FLOPS || d == 0) {
        for (int64_t r = 0; r < n; r++) {
            double *o = out + r * k;
            const double *x = X + r * d;
            int64_t j0 = 0;
            for (; j0 + NN_LANES <= k; j0 += NN_LANES)
                nn_lanes(x, d, W + j0, k, o + j0);
            for (int64_t j = j0; j < k; j++) {
                double s = 0.0;
                for (int64_t c = 0; c < d; c++)
                    s += x[c] * W[c * k + j];
                o[j] = s;
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

/* Squared euclidean distances of x to columns j0 .. j0+15 of XT (d x n, the
   candidates transposed), each summed over the d features in order: the same
   operations as the plain loop, 16 candidates in vector registers. */
CKPT_RT_CLONES void ckpt_k_sqdist_block16(const double *restrict x, const double *restrict XT,
                                          int64_t n, int64_t d, int64_t j0, double *restrict out)
{
#if CKPT_RT_V4
    ckpt_v4d a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
    for (int64_t t = 0; t < d; t++) {
        const ckpt_v4d xt = {x[t], x[t], x[t], x[t]};
        const double *row = XT + t * n + j0;
        ckpt_v4d z0, z1, z2, z3;
        CKPT_V4_LOAD(z0, row);
        CKPT_V4_LOAD(z1, row + 4);
        CKPT_V4_LOAD(z2, row + 8);
        CKPT_V4_LOAD(z3, row + 12);
        z0 = xt - z0;
        z1 = xt - z1;
        z2 = xt - z2;
        z3 = xt - z3;
        a0 += z0 * z0;
        a1 += z1 * z1;
        a2 += z2 * z2;
        a3 += z3 * z3;
    }
    CKPT_V4_STORE(out, a0);
    CKPT_V4_STORE(out + 4, a1);
    CKPT_V4_STORE(out + 8, a2);
    CKPT_V4_STORE(out + 12, a3);
#else
    for (int q = 0; q < 16; q++)
        out[q] = 0.0;
    for (int64_t t = 0; t < d; t++) {
        const double xt = x[t];
        const double *restrict row = XT + t * n + j0;
        for (int q = 0; q < 16; q++) {
            const double z = xt - row[q];
            out[q] += z * z;
        }
    }
#endif
}

/* v[i] = exp(v[i]).  Four lanes at a time with Cephes' exp (range reduction by
   ln 2 in two parts, a (2,3) Pade form; <= 1 ulp from libm's exp); lanes
   outside [-700, 700] or NaN go through libm. */
CKPT_RT_CLONES void ckpt_k_exp_inplace(double *restrict v, int64_t n)
{
    int64_t i = 0;
#if CKPT_RT_V4
    typedef int64_t v4i __attribute__((vector_size(32)));
    const double LOG2E = 1.4426950408889634073599, C1 = 6.93145751953125E-1,
                 C2 = 1.42860682030941723212E-6, MAGIC = 6755399441055744.0; /* 1.5 * 2^52 */
    const double P0 = 1.26177193074810590878E-4, P1 = 3.02994407707441961300E-2,
                 P2 = 9.99999999999999999910E-1;
    const double Q0 = 3.00198505138664455042E-6, Q1 = 2.52448340349684104192E-3,
                 Q2 = 2.27265548208155028766E-1, Q3 = 2.00000000000000000009E0;
    for (; i + 4 <= n; i += 4) {
        ckpt_v4d x;
        CKPT_V4_LOAD(x, v + i);
        int ok = 1;
        for (int q = 0; q < 4; q++)
            ok &= x[q] >= -700.0 && x[q] <= 700.0;
        if (!ok) {
            for (int q = 0; q < 4; q++)
                v[i + q] = exp(v[i + q]);
            continue;
        }
        ckpt_v4d t = x * LOG2E + MAGIC; /* round to nearest */
        ckpt_v4d px = t - MAGIC;
        x -= px * C1;
        x -= px * C2;
        ckpt_v4d xx = x * x;
        ckpt_v4d pp = x * ((P0 * xx + P1) * xx + P2);
        ckpt_v4d qq = ((Q0 * xx + Q1) * xx + Q2) * xx + Q3;
        x = pp / (qq - pp);
        x = 1.0 + 2.0 * x;
        v4i k;
        __builtin_memcpy(&k, &t, sizeof k);
        k = (k - 0x4338000000000000LL + 1023) << 52; /* bits of MAGIC + n -> bits of 2^n */
        ckpt_v4d scale;
        __builtin_memcpy(&scale, &k, sizeof scale);
        x *= scale;
        CKPT_V4_STORE(v + i, x);
    }
#endif
    for (; i < n; i++)
        v[i] = exp(v[i]);
}

/* Squared distances of 4 rows x (row stride d) to every candidate of XT
   (d x n): D[r * n + j].  Candidates 8 at a time, the 4 rows share each
   load (the training set is streamed once per 4 rows, not once per row).
   Each pair is summed over the features in order, as the plain loop does. */
CKPT_RT_CLONES void ckpt_k_sqdist_rows4(const double *restrict x, const double *restrict XT,
                                        int64_t n, int64_t d, double *restrict D)
{
    int64_t j0 = 0;
#if CKPT_RT_V4
    for (; j0 + 8 <= n; j0 += 8) {
        ckpt_v4d a00 = {0, 0, 0, 0}, a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
                 a30 = a00, a31 = a00;
        for (int64_t t = 0; t < d; t++) {
            const double *row = XT + t * n + j0;
            ckpt_v4d c0, c1;
            CKPT_V4_LOAD(c0, row);
            CKPT_V4_LOAD(c1, row + 4);
            const double x0 = x[t], x1 = x[d + t], x2 = x[2 * d + t], x3 = x[3 * d + t];
            ckpt_v4d z;
            z = (ckpt_v4d){x0, x0, x0, x0} - c0;
            a00 += z * z;
            z = (ckpt_v4d){x0, x0, x0, x0} - c1;
            a01 += z * z;
            z = (ckpt_v4d){x1, x1, x1, x1} - c0;
            a10 += z * z;
            z = (ckpt_v4d){x1, x1, x1, x1} - c1;
            a11 += z * z;
            z = (ckpt_v4d){x2, x2, x2, x2} - c0;
            a20 += z * z;
            z = (ckpt_v4d){x2, x2, x2, x2} - c1;
            a21 += z * z;
            z = (ckpt_v4d){x3, x3, x3, x3} - c0;
            a30 += z * z;
            z = (ckpt_v4d){x3, x3, x3, x3} - c1;
            a31 += z * z;
        }
        CKPT_V4_STORE(D + j0, a00);
        CKPT_V4_STORE(D + j0 + 4, a01);
        CKPT_V4_STORE(D + n + j0, a10);
        CKPT_V4_STORE(D + n + j0 + 4, a11);
        CKPT_V4_STORE(D + 2 * n + j0, a20);
        CKPT_V4_STORE(D + 2 * n + j0 + 4, a21);
        CKPT_V4_STORE(D + 3 * n + j0, a30);
        CKPT_V4_STORE(D + 3 * n + j0 + 4, a31);
    }
#endif
    for (int64_t r = 0; r < 4; r++)
        for (int64_t j = j0; j < n; j++) {
            double s = 0.0;
            for (int64_t t = 0; t < d; t++) {
                const double z = x[r * d + t] - XT[t * n + j];
                s += z * z;
            }
            D[r * n + j] = s;
        }
}


/* ---------------------------------------------------------------- float32 */

/* The calls below are the ones NumPy 1.24's matmul makes for float32
   operands (numpy/core/src/umath/matmul.c.src): sdot for 1 x 1, sgemv when
   the output has one row or one column, sgemm otherwise, always with
   alpha 1 and beta 0.  Same OpenBLAS, same arguments: same sums. */
void ckpt_k_sgemm_nt(const float *X, int64_t n, int64_t d, const float *W, int64_t k,
                     const float *b, float *out)
{
    if (n <= 0 || k <= 0)
        return;
    if (d == 0) {
        for (int64_t i = 0; i < n * k; i++)
            out[i] = 0.0f;
    } else if (n == 1 && k == 1) {
        out[0] = cblas_sdot((blasint)d, X, 1, W, 1);
    } else if (n == 1) { /* vector @ W.T : W rows . x */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)k, (blasint)d, 1.0f, W, (blasint)d, X,
                    1, 0.0f, out, 1);
    } else if (k == 1) { /* X @ w */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)n, (blasint)d, 1.0f, X, (blasint)d, W,
                    1, 0.0f, out, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)k, (blasint)d,
                    1.0f, X, (blasint)d, W, (blasint)d, 0.0f, out, (blasint)k);
    }
    if (b)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < k; j++)
                out[r * k + j] += b[j];
}

void ckpt_k_sgemm_nn(const float *X, int64_t n, int64_t d, const float *W, int64_t k,
                     const float *b, float *out)
{
    if (n <= 0 || k <= 0)
        return;
    if (d == 0) {
        for (int64_t i = 0; i < n * k; i++)
            out[i] = 0.0f;
    } else if (n == 1 && k == 1) {
        out[0] = cblas_sdot((blasint)d, X, 1, W, 1);
    } else if (n == 1) { /* x @ W: W (d x k) read transposed */
        cblas_sgemv(CblasRowMajor, CblasTrans, (blasint)d, (blasint)k, 1.0f, W, (blasint)k, X, 1,
                    0.0f, out, 1);
    } else if (k == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)n, (blasint)d, 1.0f, X, (blasint)d, W,
                    1, 0.0f, out, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)n, (blasint)k, (blasint)d,
                    1.0f, X, (blasint)d, W, (blasint)k, 0.0f, out, (blasint)k);
    }
    if (b)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < k; j++)
                out[r * k + j] += b[j];
}

float ckpt_k_expitf(float x)
{
    /* scipy 1.10 special/_logit.h: expit<T>(x) = 1 / (1 + std::exp(-x)) */
    return 1.0f / (1.0f + expf(-x));
}

/* NumPy 1.24's float32 exp (loops_exponent_log.dispatch.c.src, AVX2/AVX512F
   simd_exp_FLOAT, the path taken on this hardware), one lane: Cody-Waite
   reduction by ln 2, a (5, 2) rational polynomial, scaled by 2^k.  <= 2.52
   ulp from the true exp; matching it gives NumPy's exact bits. */
float ckpt_k_npexpf(float x)
{
    if (x != x)
        return x;
    if (x >= 88.72283935546875f)
        return INFINITY;
    if (x <= -103.97208404541015625f)
        return 0.0f;
    const float log2e = 1.442695040888963407359924681001892137f;
    const float magic = 0x1.800000p+23f;
    float q = x * log2e;
    q = q + magic;
    q = q - magic;
    float r = fmaf(q, -6.93145752e-1f, x);
    r = fmaf(q, -1.42860677e-6f, r);
    r = fmaf(q, 0.0f, r);
    float num = fmaf(5.082762527590693718096e-04f, r, 6.757896990527504603057e-03f);
    num = fmaf(num, r, 5.114512081637298353406e-02f);
    num = fmaf(num, r, 2.473615434895520810817e-01f);
    num = fmaf(num, r, 7.257664613233124478488e-01f);
    num = fmaf(num, r, 9.999999999980870924916e-01f);
    float den = fmaf(2.159509375685829852307e-02f, r, -2.742335390411667452936e-01f);
    den = fmaf(den, r, 1.000000000000000000000e+00f);
    return ldexpf(num / den, (int)q);
}

/* numpy/core/src/umath/loops_utils.h.src pairwise_sum, float32 accumulators.
   Recursion depth is log2(n / 128), n < 2^31: at most 24 levels. */
float ckpt_k_sumf(const float *a, int64_t n)
{
    if (n < 8) {
        float res = 0.0f;
        for (int64_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        float r[8];
        for (int q = 0; q < 8; q++)
            r[q] = a[q];
        int64_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int q = 0; q < 8; q++)
                r[q] += a[i + q];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return ckpt_k_sumf(a, n2) + ckpt_k_sumf(a + n2, n - n2);
}

void ckpt_k_softmaxf(float *row, int64_t k)
{
    /* sklearn.utils.extmath.softmax: X -= max; np.exp(X, X); X /= X.sum(1) */
    float mx = row[0];
    for (int64_t j = 1; j < k; j++)
        if (row[j] > mx)
            mx = row[j];
    for (int64_t j = 0; j < k; j++)
        row[j] = ckpt_k_npexpf(row[j] - mx);
    const float s = ckpt_k_sumf(row, k);
    for (int64_t j = 0; j < k; j++)
        row[j] /= s;
}

/* float64 X . W^T with the OpenBLAS call NumPy's matmul makes (ddot, dgemv
   for one row or one column, dgemm), for results that must match NumPy's
   float64 products exactly (scikit-learn's upcast float32 distances). */
void ckpt_k_np_dgemm_nt(const double *X, int64_t n, int64_t d, const double *W, int64_t k,
                        double *out)
{
    if (n <= 0 || k <= 0)
        return;
    if (d == 0) {
        for (int64_t i = 0; i < n * k; i++)
            out[i] = 0.0;
    } else if (n == 1 && k == 1) {
        out[0] = cblas_ddot((blasint)d, X, 1, W, 1);
    } else if (n == 1) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (blasint)k, (blasint)d, 1.0, W, (blasint)d, X, 1,
                    0.0, out, 1);
    } else if (k == 1) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (blasint)n, (blasint)d, 1.0, X, (blasint)d, W, 1,
                    0.0, out, 1);
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)k, (blasint)d,
                    1.0, X, (blasint)d, W, (blasint)d, 0.0, out, (blasint)k);
    }
}

/* np.einsum("ij,ij->i") of one float64 row (sklearn's row_norms squared):
   NumPy 1.24's DOUBLE_sum_of_products_contig_contig_outstride0_two at the
   SSE2 baseline: 2 lanes, blocks of four vectors added last to first, the
   tail zero-padded, then 0 + (lane0 + lane1). */
double ckpt_k_einsum_sq(const double *x, int64_t d)
{
    double l0 = 0.0, l1 = 0.0;
    int64_t c = 0;
    for (; d - c >= 8; c += 8)
        for (int v = 3; v >= 0; v--) {
            const double p0 = x[c + 2 * v] * x[c + 2 * v], p1 = x[c + 2 * v + 1] * x[c + 2 * v + 1];
            l0 = p0 + l0;
            l1 = p1 + l1;
        }
    for (; c < d; c += 2) {
        const double a = x[c], b = c + 1 < d ? x[c + 1] : 0.0;
        const double p0 = a * a, p1 = b * b;
        l0 = p0 + l0;
        l1 = p1 + l1;
    }
    return 0.0 + (l0 + l1);
}

/* NumPy 1.24's float32 tanh (loops_hyperbolic.dispatch.c.src simd_tanh_f32,
   the FMA3 / AVX512_SKX path: Intel SVML's table method, 32 intervals, a
   degree-6 polynomial in |x| - B with fused multiply-adds); inputs with a
   huge exponent, inf and NaN go to tanhf as NumPy's callout does. */
static const uint32_t tanh_lut32x8[8][32] = {
    {0x0, 0x3d700000, 0x3d900000, 0x3db00000, 0x3dd00000, 0x3df00000, 0x3e100000, 0x3e300000,
     0x3e500000, 0x3e700000, 0x3e900000, 0x3eb00000, 0x3ed00000, 0x3ef00000, 0x3f100000, 0x3f300000,
     0x3f500000, 0x3f700000, 0x3f900000, 0x3fb00000, 0x3fd00000, 0x3ff00000, 0x40100000, 0x40300000,
     0x40500000, 0x40700000, 0x40900000, 0x40b00000, 0x40d00000, 0x40f00000, 0x41100000, 0x0},
    {0x0, 0x3d6fb9c9, 0x3d8fc35f, 0x3daf9169, 0x3dcf49ab, 0x3deee849, 0x3e0f0ee8, 0x3e2e4984,
     0x3e4d2f8e, 0x3e6bb32e, 0x3e8c51cd, 0x3ea96163, 0x3ec543f1, 0x3edfd735, 0x3f028438, 0x3f18abf0,
     0x3f2bc480, 0x3f3bec1c, 0x3f4f2e5b, 0x3f613c53, 0x3f6ce37d, 0x3f743c4f, 0x3f7a5feb, 0x3f7dea85,
     0x3f7f3b3d, 0x3f7fb78c, 0x3f7fefd4, 0x3f7ffdd0, 0x3f7fffb4, 0x3f7ffff6, 0x3f7fffff, 0x3f800000},
    {0x3f800000, 0x3f7f1f84, 0x3f7ebd11, 0x3f7e1e5f, 0x3f7d609f, 0x3f7c842d, 0x3f7b00e5, 0x3f789580,
     0x3f75b8ad, 0x3f726fd9, 0x3f6cc59b, 0x3f63fb92, 0x3f59ff97, 0x3f4f11d7, 0x3f3d7573, 0x3f24f360,
     0x3f0cbfe7, 0x3eec1a69, 0x3eb0a801, 0x3e6753a2, 0x3e132f1a, 0x3db7e7d3, 0x3d320845, 0x3c84d3d4,
     0x3bc477b7, 0x3b10d3da, 0x3a01601e, 0x388c1a3b, 0x3717b0da, 0x35a43bce, 0x338306c6, 0x0},
    {0xb0343c7b, 0xbd6ee69d, 0xbd8f0da7, 0xbdae477d, 0xbdcd2a1f, 0xbdeba80d, 0xbe0c443b, 0xbe293cf3,
     0xbe44f282, 0xbe5f3651, 0xbe81c7c0, 0xbe96d7ca, 0xbea7fb8e, 0xbeb50e9e, 0xbec12efe, 0xbec4be92,
     0xbebce070, 0xbead510e, 0xbe8ef7d6, 0xbe4b8704, 0xbe083237, 0xbdaf7449, 0xbd2e1ec4, 0xbc83bf06,
     0xbbc3e0b5, 0xbb10aadc, 0xba0157db, 0xb88c18f2, 0xb717b096, 0xb5a43bae, 0xb383012c, 0x0},
    {0xbeaaaaa5, 0xbeab0612, 0xbea7f01f, 0xbea4e120, 0xbea387b7, 0xbea15962, 0xbe9d57f7, 0xbe976b5a,
     0xbe90230d, 0xbe880dff, 0xbe7479b3, 0xbe4c3d88, 0xbe212482, 0xbdeb8cba, 0xbd5e78ad, 0x3c6b5e6e,
     0x3d839143, 0x3dc21ee1, 0x3de347af, 0x3dcbec96, 0x3d99ef2d, 0x3d542ea1, 0x3cdde701, 0x3c2cca67,
     0x3b81cb27, 0x3ac073a1, 0x39ac3032, 0x383a94d9, 0x36ca081d, 0x355abd4c, 0x332b3cb6, 0x0},
    {0xb76dd6b9, 0xbe1c276d, 0x3c1dcf2f, 0x3dc1a78d, 0x3d96f985, 0x3da2b61b, 0x3dc13397, 0x3dd2f670,
     0x3df48a0a, 0x3e06c5a8, 0x3e1a3aba, 0x3e27c405, 0x3e2e78d0, 0x3e2c3e44, 0x3e1d3097, 0x3df4a8f4,
     0x3da38508, 0x3d31416a, 0x3b562657, 0xbcaeeac9, 0xbcce9419, 0xbcaaeac4, 0xbc49e7d0, 0xbba71ddd,
     0xbb003b0e, 0xba3f9a05, 0xb92c08a7, 0xb7ba9232, 0xb64a0b0f, 0xb4dac169, 0xb2ab78ac, 0x0},
    {0x3e0910e9, 0x43761143, 0x4165ecdc, 0xc190f756, 0xc08c097d, 0xc02ba813, 0xbf7f6bda, 0x3f2b1dc0,
     0x3ece105d, 0x3f426a94, 0xbadb0dc4, 0x3da43b17, 0xbd51ab88, 0xbcaea23d, 0xbd3b6d8d, 0xbd6caaad,
     0xbd795bed, 0xbd5fddda, 0xbd038f3b, 0xbc1cad63, 0x3abb4766, 0x3b95f10b, 0x3b825873, 0x3afaea66,
     0x3a49f878, 0x39996bf3, 0x388f3e6c, 0x371bb0e3, 0x35a8a5e6, 0x34369b17, 0x322487b0, 0x0},
    {0xbc0e2f66, 0x460bda12, 0x43d638ef, 0xc3e11c3e, 0xc2baa4e9, 0xc249da2d, 0xc1859b82, 0x40dd5b57,
     0x40494640, 0x40c730a8, 0xbf0f160e, 0x3e30e76f, 0xbea81387, 0xbdb26a1c, 0xbd351e57, 0xbb4c01a0,
     0x3c1d7bfb, 0x3c722cd1, 0x3c973f1c, 0x3c33a31b, 0x3b862ef4, 0x3a27b3d0, 0xba3b5907, 0xba0efc22,
     0xb97f9f0f, 0xb8c8af50, 0xb7bdddfb, 0xb64f2950, 0xb4e085b1, 0xb3731dfa, 0xb15a1f04, 0x0}};

static float lutf(int row, uint32_t i)
{
    float f;
    memcpy(&f, &tanh_lut32x8[row][i], sizeof f);
    return f;
}

float ckpt_k_nptanhf(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    const int32_t denorm = (int32_t)(u & 0x7fe00000u);
    if (denorm > 0x7f000000) /* huge, inf, NaN */
        return tanhf(x);
    int32_t idxs = denorm - 0x3d400000;
    idxs = idxs < 0 ? 0 : idxs > 0x3e00000 ? 0x3e00000 : idxs;
    const uint32_t idx = (uint32_t)idxs >> 21;
    const float y = fabsf(x) - lutf(0, idx);
    float r = fmaf(lutf(7, idx), y, lutf(6, idx));
    r = fmaf(r, y, lutf(5, idx));
    r = fmaf(r, y, lutf(4, idx));
    r = fmaf(r, y, lutf(3, idx));
    r = fmaf(r, y, lutf(2, idx));
    r = fmaf(r, y, lutf(1, idx));
    uint32_t ru;
    memcpy(&ru, &r, sizeof ru);
    ru |= u & 0x80000000u;
    memcpy(&r, &ru, sizeof r);
    return r;
}

/* NumPy 1.24's float32 log (loops_exponent_log.dispatch.c.src simd_log_FLOAT,
   AVX512F/AVX2 path): x = m 2^e with m in [0.5, 1), m doubled below
   sqrt(1/2), log(1 + (m - 1)) by a (5, 5) rational polynomial with fused
   multiply-adds, + e ln 2.  <= 3.83 ulp from the true log; same bits as
   NumPy. */
float ckpt_k_nplogf(float x)
{
    if (x != x)
        return x;
    if (x < 0.0f)
        return -NAN;
    if (x == 0.0f)
        return -INFINITY;
    if (x == INFINITY)
        return INFINITY;
    int e;
    float m = frexpf(x, &e);
    float ex = (float)e;
    if (m <= 0.707106781186547524400844362104849039f) {
        m = m + m;
        ex = ex - 1.0f;
    }
    m = m - 1.0f;
    float num = fmaf(2.589979117907922693523e-02f, m, 3.808837741388407920751e-01f);
    num = fmaf(num, m, 1.480000633576506585156e+00f);
    num = fmaf(num, m, 2.112677543073053063722e+00f);
    num = fmaf(num, m, 9.999999999999998702752e-01f);
    num = fmaf(num, m, 0.0f);
    float den = fmaf(5.875095403124574342950e-03f, m, 1.546476374983906719538e-01f);
    den = fmaf(den, m, 9.864942958519418960339e-01f);
    den = fmaf(den, m, 2.453006071784736363091e+00f);
    den = fmaf(den, m, 2.612677543073109236779e+00f);
    den = fmaf(den, m, 1.000000000000000000000e+00f);
    return fmaf(ex, 0.693147180559945309417232121458176568f, num / den);
}

/* np.einsum("ij,ij->i", X, X) for one float32 row: NumPy 1.24's
   FLOAT_sum_of_products_contig_contig_outstride0_two at the SSE3 baseline
   (4 lanes, no FMA): blocks of four vectors added last to first, the tail
   zero-padded, lanes summed by two hadds, then 0 + sum. */
float ckpt_k_einsum_sqf(const float *x, int64_t d)
{
    float l[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int64_t c = 0;
    for (; d - c >= 16; c += 16)
        for (int v = 3; v >= 0; v--)
            for (int j = 0; j < 4; j++) {
                const float p = x[c + 4 * v + j] * x[c + 4 * v + j];
                l[j] = p + l[j];
            }
    for (; c < d; c += 4)
        for (int j = 0; j < 4; j++) {
            const float t = c + j < d ? x[c + j] : 0.0f;
            const float p = t * t;
            l[j] = p + l[j];
        }
    return 0.0f + ((l[0] + l[1]) + (l[2] + l[3]));
}
