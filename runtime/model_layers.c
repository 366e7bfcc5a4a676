/*
 * model_layers.c - torch layer stacks: a sequence of Linear layers read from
 * a state_dict (`<prefix>.weight` out x in, optional `<prefix>.bias`) with an
 * activation after each, given as a spec "net.0:relu,net.2:tanh,net.4".
 *
 * Compute type, as PyTorch computes the same state_dict on the CPU:
 *  - any float64 weight or bias: float64 throughout (the other tensors are
 *    widened exactly);
 *  - otherwise float32: float16 / bfloat16 tensors are widened to float32
 *    exactly, the input rows are rounded to float32 (like `.float()`), and the
 *    float32 results are returned as float64.
 *
 * float32 arithmetic follows PyTorch 1.13 on OpenBLAS, where F.linear is
 * addmm: the output is filled with the bias and sgemm adds X.W^T (beta = 1).
 *  - On x86-64 with AVX2+FMA (or AVX-512) no BLAS is called: each output is
 *    accumulated from 0 by fused multiply-adds in input order and the bias is
 *    added, which is the order of OpenBLAS's sgemm micro-kernel (edge tiles
 *    of sgemm may differ), inner dimension split in blocks as OpenBLAS does
 *    (LAYERS_KBLOCK), except narrow latency-bound layers (LAYERS_SPLIT_*):
 *    4 interleaved chains there.  Weights are repacked at build time into
 *    panels of LAYERS_PANEL outputs, input-major: one row is a broadcast + FMA
 *    over contiguous memory, a batch goes in blocks of 4-6 rows that share
 *    each weight load (LAYERS_CHUNK_ROWS rows at a time).  A row gives the
 *    same bits alone or in a batch, with either kernel.  Measured: OpenBLAS's
 *    Haswell sgemm, with its own threads inside the runtime's row threads,
 *    was 2-5x slower for the benchmark's 256-wide stack than these blocks.
 *  - Elsewhere (the portable fallback): single rows use fmaf() in the same
 *    order; batches make PyTorch's own call (bias-filled output, sgemm with
 *    beta = 1).  The kernel is chosen once per model (CKPT_LAYERS_KERNEL=
 *    scalar|avx2|avx512 in the environment forces one, for tests).
 *  - Activations in float32: relu, tanhf, sigmoid 1/(1+expf(-x)), gelu
 *    (x*0.5)*(1+erff(x*sqrt(1/2))), softmax with the row maximum subtracted,
 *    a float32 sum and a multiplication by its reciprocal.  libm and PyTorch's
 *    vectorized (Sleef) functions may differ in the last bit.
 *
 * Threads: the model is read-only after build.  The single-row path keeps its
 * activations in two stack buffers of LAYERS_ROW_MAXW elements (no
 * allocation); wider stacks and batches use per-call heap scratch.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define LAYERS_X86 1
#else
#define LAYERS_X86 0
#endif

#define CKPT_RT_MAX_LAYER_SPEC 4096   /* bytes of a spec */
#define CKPT_RT_MAX_STACK 256         /* layers in a stack */
/* outputs per packed weight panel (8 AVX2 / 4 AVX-512 registers of float32) */
#define LAYERS_PANEL 64
/* widest layer (outputs rounded up to 8, and the input width) the stack-buffer
   row path takes: 2 x 2048 floats = 16 KiB of stack */
#define LAYERS_ROW_MAXW 2048
/* batches of up to this many rows run row by row (no BLAS call, no thread
   hand-off inside OpenBLAS) */
#define LAYERS_ROW_BATCH 4
/* A layer of at most LAYERS_SPLIT_MAXOUT outputs (padded) and at least
   LAYERS_SPLIT_MIN_IN inputs has too few accumulators to hide the FMA latency
   (256 dependent FMAs for the bench's last layer: a third of the row time):
   each output is summed in 4 interleaved chains (inputs c = 0, 1, 2, 3 mod 4)
   added as ((s0 + s1) + (s2 + s3)), then the bias.  Every kernel does that
   for such layers, alone or in a batch. */
#define LAYERS_SPLIT_MAXOUT 24
#define LAYERS_SPLIT_MIN_IN 64
#define LAYERS_SPLIT_MAX_IN 320     /* = LAYERS_KBLOCK */
/* OpenBLAS splits the inner dimension of sgemm into blocks and adds each
   block's sum to C (which PyTorch pre-filled with the bias): C = ((b + s1) +
   s2) + ...  Blocks (driver/level3.c) are GEMM_Q long; a rest between Q and 2Q
   is halved, rounded up to GEMM_UNROLL_M.  Values of OpenBLAS 0.3.21's Haswell
   sgemm (the kernel it runs on this project's machines, also on Zen), found by
   comparing bits with cblas_sgemm for inner sizes up to 2100.  A split layer
   (above) is never longer than one block. */
#define LAYERS_KBLOCK 320
#define LAYERS_KBLOCK_ROUND 8
/* rows per block of a batch through the x86 kernels: the activations of a
   block stay in L2 next to the weights (96 x 256 floats = 96 KiB) */
#define LAYERS_CHUNK_ROWS 96

typedef enum lact { L_IDENTITY, L_RELU, L_GELU, L_TANH, L_SIGMOID, L_SOFTMAX } lact;

typedef enum lkern { K_SCALAR, K_AVX2, K_AVX512 } lkern;

typedef struct layer {
    int64_t in, out, outp;   /* outp: out rounded up to 8 */
    lact act;
    double *W, *b;           /* float64 stacks: W out x in, b out (NULL: no bias) */
    float *W32, *b32;        /* float32 stacks: W out x in, b outp (zeros when no bias) */
    float *P32;              /* float32: panels, see pack() */
    int has_bias;
    int split;               /* 4 interleaved chains per output, see LAYERS_SPLIT_* */
} layer;

typedef struct layers_impl {
    int64_t nl, maxw;
    int f32;                 /* compute in float32 */
    int row_ok;              /* every width fits the stack buffers */
    lkern kern;
    layer *L;
} layers_impl;

static void layers_free(void *p)
{
    layers_impl *m = p;
    for (int64_t i = 0; m->L && i < m->nl; i++) {
        free(m->L[i].W);
        free(m->L[i].b);
        free(m->L[i].W32);
        free(m->L[i].b32);
        free(m->L[i].P32);
    }
    free(m->L);
    free(m);
}

/* ------------------------------------------------------------ float32 kernels */

/* length of the next inner block when `rest` inputs are left */
static int64_t kblock(int64_t rest)
{
    if (rest >= 2 * LAYERS_KBLOCK)
        return LAYERS_KBLOCK;
    if (rest > LAYERS_KBLOCK)
        return (rest / 2 + LAYERS_KBLOCK_ROUND - 1) / LAYERS_KBLOCK_ROUND * LAYERS_KBLOCK_ROUND;
    return rest;
}

/* Inner block [c0, c0+len) of a layer is stored from P + c0 * kp; in it the
   panels: outputs j0 .. j0+w-1 (w = LAYERS_PANEL, the last one kp - j0) as len
   rows of w floats: P[c0*kp + j0*len + c*w + (j-j0)] = W[j][c0+c]; outputs
   k..kp-1 are zero. */
static void pack(const float *W, int64_t k, int64_t kp, int64_t d, float *P)
{
    for (int64_t c0 = 0, len; c0 < d; c0 += len) {
        len = kblock(d - c0);
        for (int64_t j0 = 0; j0 < kp; j0 += LAYERS_PANEL) {
            const int64_t w = kp - j0 < LAYERS_PANEL ? kp - j0 : LAYERS_PANEL;
            float *p = P + c0 * kp + j0 * len;
            for (int64_t c = 0; c < len; c++)
                for (int64_t q = 0; q < w; q++)
                    p[c * w + q] = j0 + q < k ? W[(j0 + q) * d + c0 + c] : 0.0f;
        }
    }
}

/* One inner block (d inputs; P, x at its start): y[0..kp) = b + x . W^T, each
   output summed from 0 with fmaf in input order.  b may be y (later blocks). */
static void row_scalar(const float *P, int64_t kp, int64_t d, const float *x, const float *b,
                       float *y)
{
    for (int64_t j0 = 0; j0 < kp; j0 += LAYERS_PANEL) {
        const int64_t w = kp - j0 < LAYERS_PANEL ? kp - j0 : LAYERS_PANEL;
        const float *p = P + j0 * d;
        for (int64_t q = 0; q < w; q++) {
            float a = 0.0f;
            for (int64_t c = 0; c < d; c++)
                a = fmaf(x[c], p[c * w + q], a);
            y[j0 + q] = b[j0 + q] + a;
        }
    }
}

/* split layers (one panel of width kp): 4 chains per output */
static void split_scalar(const float *P, int64_t kp, int64_t d, const float *x, const float *b,
                         float *y)
{
    for (int64_t q = 0; q < kp; q++) {
        float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int64_t c = 0; c < d; c++)
            a[c & 3] = fmaf(x[c], P[c * kp + q], a[c & 3]);
        y[q] = b[q] + ((a[0] + a[1]) + (a[2] + a[3]));
    }
}

#if LAYERS_X86
/* split layers, na x 8 outputs (na <= 3, a constant after inlining) */
__attribute__((target("avx2,fma"), always_inline)) static inline void
split_avx2_n(const float *p, int64_t d, const float *x, const float *b, float *y, const int na)
{
    __m256 a0[3], a1[3], a2[3], a3[3];
    for (int i = 0; i < na; i++)
        a0[i] = a1[i] = a2[i] = a3[i] = _mm256_setzero_ps();
    const int64_t w = 8 * (int64_t)na;
    int64_t c = 0;
    for (; c + 4 <= d; c += 4) {
        const __m256 x0 = _mm256_broadcast_ss(x + c), x1 = _mm256_broadcast_ss(x + c + 1);
        const __m256 x2 = _mm256_broadcast_ss(x + c + 2), x3 = _mm256_broadcast_ss(x + c + 3);
        const float *r = p + c * w;
        for (int i = 0; i < na; i++) {
            a0[i] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r + 8 * i), a0[i]);
            a1[i] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r + w + 8 * i), a1[i]);
            a2[i] = _mm256_fmadd_ps(x2, _mm256_loadu_ps(r + 2 * w + 8 * i), a2[i]);
            a3[i] = _mm256_fmadd_ps(x3, _mm256_loadu_ps(r + 3 * w + 8 * i), a3[i]);
        }
    }
    /* at most 3 inputs left: they continue chains 0, 1, 2 */
    for (int i = 0; i < na && c < d; i++)
        a0[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + c), _mm256_loadu_ps(p + c * w + 8 * i),
                                a0[i]);
    for (int i = 0; i < na && c + 1 < d; i++)
        a1[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + c + 1),
                                _mm256_loadu_ps(p + (c + 1) * w + 8 * i), a1[i]);
    for (int i = 0; i < na && c + 2 < d; i++)
        a2[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + c + 2),
                                _mm256_loadu_ps(p + (c + 2) * w + 8 * i), a2[i]);
    for (int i = 0; i < na; i++) {
        const __m256 s = _mm256_add_ps(_mm256_add_ps(a0[i], a1[i]), _mm256_add_ps(a2[i], a3[i]));
        _mm256_storeu_ps(y + 8 * i, _mm256_add_ps(_mm256_loadu_ps(b + 8 * i), s));
    }
}

__attribute__((target("avx2,fma"))) static void split_avx2(const float *P, int64_t kp, int64_t d,
                                                           const float *x, const float *b,
                                                           float *y)
{
    switch (kp / 8) {
    case 3: split_avx2_n(P, d, x, b, y, 3); break;
    case 2: split_avx2_n(P, d, x, b, y, 2); break;
    default: split_avx2_n(P, d, x, b, y, 1); break;
    }
}

/* one panel of na x 8 outputs (na a constant after inlining) */
__attribute__((target("avx2,fma"), always_inline)) static inline void
panel_avx2(const float *p, int64_t d, const float *x, const float *b, float *y, const int na)
{
    __m256 acc[8];
    for (int i = 0; i < na; i++)
        acc[i] = _mm256_setzero_ps();
    for (int64_t c = 0; c < d; c++) {
        const __m256 xc = _mm256_broadcast_ss(x + c);
        const float *r = p + c * (int64_t)na * 8;
        for (int i = 0; i < na; i++)
            acc[i] = _mm256_fmadd_ps(xc, _mm256_loadu_ps(r + 8 * i), acc[i]);
    }
    for (int i = 0; i < na; i++)
        _mm256_storeu_ps(y + 8 * i, _mm256_add_ps(_mm256_loadu_ps(b + 8 * i), acc[i]));
}

__attribute__((target("avx2,fma"))) static void row_avx2(const float *P, int64_t kp, int64_t d,
                                                         const float *x, const float *b,
                                                         float *y)
{
    for (int64_t j0 = 0; j0 < kp; j0 += LAYERS_PANEL) {
        const int64_t w = kp - j0 < LAYERS_PANEL ? kp - j0 : LAYERS_PANEL;
        const float *p = P + j0 * d;
        switch (w / 8) {
        case 8: panel_avx2(p, d, x, b + j0, y + j0, 8); break;
        case 7: panel_avx2(p, d, x, b + j0, y + j0, 7); break;
        case 6: panel_avx2(p, d, x, b + j0, y + j0, 6); break;
        case 5: panel_avx2(p, d, x, b + j0, y + j0, 5); break;
        case 4: panel_avx2(p, d, x, b + j0, y + j0, 4); break;
        case 3: panel_avx2(p, d, x, b + j0, y + j0, 3); break;
        case 2: panel_avx2(p, d, x, b + j0, y + j0, 2); break;
        default: panel_avx2(p, d, x, b + j0, y + j0, 1); break;
        }
    }
}

/* two full panels at once (8 accumulators of 16 floats) */
__attribute__((target("avx512f"), always_inline)) static inline void
panel2_avx512(const float *p0, const float *p1, int64_t d, const float *x, const float *b,
              float *y)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512 c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    for (int64_t c = 0; c < d; c++) {
        const __m512 xc = _mm512_set1_ps(x[c]);
        const float *r = p0 + c * LAYERS_PANEL, *s = p1 + c * LAYERS_PANEL;
        a0 = _mm512_fmadd_ps(xc, _mm512_loadu_ps(r), a0);
        a1 = _mm512_fmadd_ps(xc, _mm512_loadu_ps(r + 16), a1);
        a2 = _mm512_fmadd_ps(xc, _mm512_loadu_ps(r + 32), a2);
        a3 = _mm512_fmadd_ps(xc, _mm512_loadu_ps(r + 48), a3);
        c0 = _mm512_fmadd_ps(xc, _mm512_loadu_ps(s), c0);
        c1 = _mm512_fmadd_ps(xc, _mm512_loadu_ps(s + 16), c1);
        c2 = _mm512_fmadd_ps(xc, _mm512_loadu_ps(s + 32), c2);
        c3 = _mm512_fmadd_ps(xc, _mm512_loadu_ps(s + 48), c3);
    }
    _mm512_storeu_ps(y, _mm512_add_ps(_mm512_loadu_ps(b), a0));
    _mm512_storeu_ps(y + 16, _mm512_add_ps(_mm512_loadu_ps(b + 16), a1));
    _mm512_storeu_ps(y + 32, _mm512_add_ps(_mm512_loadu_ps(b + 32), a2));
    _mm512_storeu_ps(y + 48, _mm512_add_ps(_mm512_loadu_ps(b + 48), a3));
    _mm512_storeu_ps(y + 64, _mm512_add_ps(_mm512_loadu_ps(b + 64), c0));
    _mm512_storeu_ps(y + 80, _mm512_add_ps(_mm512_loadu_ps(b + 80), c1));
    _mm512_storeu_ps(y + 96, _mm512_add_ps(_mm512_loadu_ps(b + 96), c2));
    _mm512_storeu_ps(y + 112, _mm512_add_ps(_mm512_loadu_ps(b + 112), c3));
}

__attribute__((target("avx512f,avx2,fma"))) static void row_avx512(const float *P, int64_t kp,
                                                                   int64_t d, const float *x,
                                                                   const float *b, float *y)
{
    int64_t j0 = 0;
    for (; j0 + 2 * LAYERS_PANEL <= kp; j0 += 2 * LAYERS_PANEL)
        panel2_avx512(P + j0 * d, P + (j0 + LAYERS_PANEL) * d, d, x, b + j0, y + j0);
    if (j0 < kp)
        row_avx2(P + j0 * d, kp - j0, d, x, b + j0, y + j0);
}

/* ---- several rows at once: the same per-output order as the row kernels
   (so a row gives the same bits alone or in a batch), the weights loaded once
   per block of rows.  X: R rows with stride ldx; Y: R rows with stride ldy. */

/* R rows x na*8 outputs starting at column q0 of a panel of width pw */
__attribute__((target("avx2,fma"), always_inline)) static inline void
blk_avx2(const float *p, int64_t pw, int64_t q0, int64_t d, const float *X, int64_t ldx,
         const float *b, int64_t ldb, float *Y, int64_t ldy, const int R, const int na)
{
    __m256 acc[4][3];
    for (int r = 0; r < R; r++)
        for (int i = 0; i < na; i++)
            acc[r][i] = _mm256_setzero_ps();
    for (int64_t c = 0; c < d; c++) {
        const float *w = p + c * pw + q0;
        __m256 wv[3];
        for (int i = 0; i < na; i++)
            wv[i] = _mm256_loadu_ps(w + 8 * i);
        for (int r = 0; r < R; r++) {
            const __m256 xc = _mm256_broadcast_ss(X + r * ldx + c);
            for (int i = 0; i < na; i++)
                acc[r][i] = _mm256_fmadd_ps(xc, wv[i], acc[r][i]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int i = 0; i < na; i++)
            _mm256_storeu_ps(Y + r * ldy + q0 + 8 * i,
                             _mm256_add_ps(_mm256_loadu_ps(b + r * ldb + q0 + 8 * i), acc[r][i]));
}

#define BLK_AVX2_R(R)                                                                      \
    switch (na) {                                                                          \
    case 3: blk_avx2(p, w, q0, d, X, ldx, b + j0, ldb, Y + j0, ldy, R, 3); break;          \
    case 2: blk_avx2(p, w, q0, d, X, ldx, b + j0, ldb, Y + j0, ldy, R, 2); break;          \
    default: blk_avx2(p, w, q0, d, X, ldx, b + j0, ldb, Y + j0, ldy, R, 1); break;         \
    }

/* R (1..4) rows through one inner block, AVX2: column groups of up to 24
   outputs.  The base added is b + r * ldb: the bias (ldb 0) or Y (later blocks). */
__attribute__((target("avx2,fma"))) static void rows_avx2(const float *P, int64_t kp, int64_t d,
                                                          const float *X, int64_t ldx,
                                                          const float *b, int64_t ldb, float *Y,
                                                          int64_t ldy, int R)
{
    for (int64_t j0 = 0; j0 < kp; j0 += LAYERS_PANEL) {
        const int64_t w = kp - j0 < LAYERS_PANEL ? kp - j0 : LAYERS_PANEL;
        const float *p = P + j0 * d;
        for (int64_t q0 = 0; q0 < w; q0 += 24) {
            const int na = (int)((w - q0) / 8 < 3 ? (w - q0) / 8 : 3);
            switch (R) {
            case 4: BLK_AVX2_R(4) break;
            case 3: BLK_AVX2_R(3) break;
            case 2: BLK_AVX2_R(2) break;
            default: BLK_AVX2_R(1) break;
            }
        }
    }
}

/* R rows x one full panel (64 outputs = 4 zmm) */
__attribute__((target("avx512f"), always_inline)) static inline void
blk_avx512(const float *p, int64_t d, const float *X, int64_t ldx, const float *b, int64_t ldb,
           float *Y, int64_t ldy, const int R)
{
    __m512 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int i = 0; i < 4; i++)
            acc[r][i] = _mm512_setzero_ps();
    for (int64_t c = 0; c < d; c++) {
        const float *w = p + c * LAYERS_PANEL;
        const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16),
                     w2 = _mm512_loadu_ps(w + 32), w3 = _mm512_loadu_ps(w + 48);
        for (int r = 0; r < R; r++) {
            const __m512 xc = _mm512_set1_ps(X[r * ldx + c]);
            acc[r][0] = _mm512_fmadd_ps(xc, w0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(xc, w1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(xc, w2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(xc, w3, acc[r][3]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int i = 0; i < 4; i++)
            _mm512_storeu_ps(Y + r * ldy + 16 * i,
                             _mm512_add_ps(_mm512_loadu_ps(b + r * ldb + 16 * i), acc[r][i]));
}

/* R (1..6) rows through one inner block, AVX-512 for full panels, AVX2 for
   the last */
__attribute__((target("avx512f,avx2,fma"))) static void rows_avx512(const float *P, int64_t kp,
                                                                    int64_t d, const float *X,
                                                                    int64_t ldx, const float *b,
                                                                    int64_t ldb, float *Y,
                                                                    int64_t ldy, int R)
{
    int64_t j0 = 0;
    for (; j0 + LAYERS_PANEL <= kp; j0 += LAYERS_PANEL) {
        const float *p = P + j0 * d;
        switch (R) {
        case 6: blk_avx512(p, d, X, ldx, b + j0, ldb, Y + j0, ldy, 6); break;
        case 5: blk_avx512(p, d, X, ldx, b + j0, ldb, Y + j0, ldy, 5); break;
        case 4: blk_avx512(p, d, X, ldx, b + j0, ldb, Y + j0, ldy, 4); break;
        case 3: blk_avx512(p, d, X, ldx, b + j0, ldb, Y + j0, ldy, 3); break;
        case 2: blk_avx512(p, d, X, ldx, b + j0, ldb, Y + j0, ldy, 2); break;
        default: blk_avx512(p, d, X, ldx, b + j0, ldb, Y + j0, ldy, 1); break;
        }
    }
    if (j0 < kp) {
        for (int r0 = 0; r0 < R; r0 += 4)
            rows_avx2(P + j0 * d, kp - j0, d, X + r0 * ldx, ldx, b + r0 * ldb + j0, ldb,
                      Y + r0 * ldy + j0, ldy, R - r0 < 4 ? R - r0 : 4);
    }
}
#endif

static lkern pick_kernel(void)
{
    const char *force = getenv("CKPT_LAYERS_KERNEL");
    if (force && strcmp(force, "scalar") == 0)
        return K_SCALAR;
#if LAYERS_X86
    __builtin_cpu_init();
    if (force && strcmp(force, "avx2") == 0 && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return K_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return K_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return K_AVX2;
#endif
    return K_SCALAR;
}

/* the activation on n rows of w values (row stride ld) */
static void act_f32(lact a, float *Y, int64_t n, int64_t w, int64_t ld)
{
    for (int64_t r = 0; r < n && a != L_SOFTMAX && a != L_IDENTITY; r++) {
        float *y = Y + r * ld;
        switch (a) {
        case L_RELU:
            for (int64_t i = 0; i < w; i++)
                y[i] = y[i] < 0.0f ? 0.0f : y[i]; /* NaN stays NaN, like torch.relu */
            break;
        case L_GELU:
            for (int64_t i = 0; i < w; i++)
                y[i] = (y[i] * 0.5f) * (1.0f + erff(y[i] * 0.707106781186547524f));
            break;
        case L_TANH:
            for (int64_t i = 0; i < w; i++)
                y[i] = tanhf(y[i]);
            break;
        case L_SIGMOID:
            for (int64_t i = 0; i < w; i++)
                y[i] = 1.0f / (1.0f + expf(-y[i]));
            break;
        default:
            break;
        }
    }
    switch (a) {
    case L_SOFTMAX:
        for (int64_t r = 0; r < n; r++) {
            float *row = Y + r * ld, mx = row[0], s = 0.0f;
            for (int64_t j = 1; j < w; j++)
                if (row[j] > mx)
                    mx = row[j];
            for (int64_t j = 0; j < w; j++) {
                row[j] = expf(row[j] - mx);
                s += row[j];
            }
            const float inv = 1.0f / s;
            for (int64_t j = 0; j < w; j++)
                row[j] *= inv;
        }
        break;
    default:
        break;
    }
}

/* one row through one float32 layer (no activation): dst[0..outp) */
static void layer_row(const layers_impl *m, const layer *y, const float *src, float *dst)
{
    const int64_t kp = y->outp;
    if (y->split) { /* one inner block */
        switch (m->kern) {
#if LAYERS_X86
        case K_AVX512:
        case K_AVX2: split_avx2(y->P32, kp, y->in, src, y->b32, dst); break;
#endif
        default: split_scalar(y->P32, kp, y->in, src, y->b32, dst); break;
        }
        return;
    }
    for (int64_t c0 = 0, len; c0 < y->in; c0 += len) {
        len = kblock(y->in - c0);
        const float *P = y->P32 + c0 * kp, *x = src + c0, *b = c0 ? dst : y->b32;
        switch (m->kern) {
#if LAYERS_X86
        case K_AVX512: row_avx512(P, kp, len, x, b, dst); break;
        case K_AVX2: row_avx2(P, kp, len, x, b, dst); break;
#endif
        default: row_scalar(P, kp, len, x, b, dst); break;
        }
    }
}

/* One row through the float32 stack in stack buffers (m->row_ok). */
static void row_f32(const layers_impl *m, const double *xin, double *out)
{
    float bufA[LAYERS_ROW_MAXW], bufB[LAYERS_ROW_MAXW];
    float *src = bufA, *dst = bufB;
    for (int64_t c = 0; c < m->L[0].in; c++)
        src[c] = (float)xin[c];
    for (int64_t l = 0; l < m->nl; l++) {
        const layer *y = &m->L[l];
        layer_row(m, y, src, dst);
        act_f32(y->act, dst, 1, y->out, y->out);
        float *t = src;
        src = dst;
        dst = t;
    }
    const int64_t ow = m->L[m->nl - 1].out;
    for (int64_t j = 0; j < ow; j++)
        out[j] = src[j];
}

/* nn rows through the float32 stack; A, B hold nn x maxw floats.  With an
   x86 kernel: blocks of rows through the packed panels (row stride = the
   layer's padded width); otherwise PyTorch's call: bias-filled output, sgemm
   with beta = 1. */
static void chunk_f32(const layers_impl *m, const double *xin, int64_t nn, float *A, float *B,
                      double *out)
{
    const int64_t d0 = m->L[0].in;
    for (int64_t i = 0; i < nn * d0; i++)
        A[i] = (float)xin[i];
    float *src = A, *dst = B;
    int64_t lds = d0;
    for (int64_t l = 0; l < m->nl; l++) {
        const layer *y = &m->L[l];
        const int64_t k = y->out;
        int64_t ldd = k;
        switch (y->split && m->kern != K_SCALAR ? -1 : (int)m->kern) {
#if LAYERS_X86
        case -1:
            ldd = y->outp;
            for (int64_t r = 0; r < nn; r++)
                layer_row(m, y, src + r * lds, dst + r * ldd);
            break;
        case K_AVX512:
        case K_AVX2: {
            const int64_t kp = y->outp, step = m->kern == K_AVX512 ? 6 : 4;
            ldd = kp;
            for (int64_t c0 = 0, len; c0 < y->in; c0 += len) {
                len = kblock(y->in - c0);
                const float *P = y->P32 + c0 * kp;
                for (int64_t r = 0; r < nn; r += step) {
                    const int R = (int)(nn - r < step ? nn - r : step);
                    float *Y = dst + r * ldd;
                    const float *b = c0 ? Y : y->b32;
                    const int64_t ldb = c0 ? ldd : 0;
                    if (m->kern == K_AVX512)
                        rows_avx512(P, kp, len, src + r * lds + c0, lds, b, ldb, Y, ldd, R);
                    else
                        rows_avx2(P, kp, len, src + r * lds + c0, lds, b, ldb, Y, ldd, R);
                }
            }
            break;
        }
#endif
        default:
            for (int64_t r = 0; r < nn; r++)
                memcpy(dst + r * k, y->b32, (size_t)k * sizeof(float));
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)nn, (blasint)k,
                        (blasint)y->in, 1.0f, src, (blasint)lds, y->W32, (blasint)y->in, 1.0f,
                        dst, (blasint)k);
            break;
        }
        act_f32(y->act, dst, nn, k, ldd);
        float *t = src;
        src = dst;
        dst = t;
        lds = ldd;
    }
    const int64_t ow = m->L[m->nl - 1].out;
    for (int64_t r = 0; r < nn; r++)
        for (int64_t j = 0; j < ow; j++)
            out[r * ow + j] = src[r * lds + j];
}

/* ------------------------------------------------------------ float64 */

static void act_f64(lact a, double *y, int64_t n, int64_t w)
{
    const int64_t t = n * w;
    switch (a) {
    case L_RELU:
        for (int64_t i = 0; i < t; i++)
            y[i] = y[i] < 0.0 ? 0.0 : y[i];
        break;
    case L_GELU:
        for (int64_t i = 0; i < t; i++)
            y[i] = (y[i] * 0.5) * (1.0 + erf(y[i] * 0.70710678118654752440));
        break;
    case L_TANH:
        for (int64_t i = 0; i < t; i++)
            y[i] = tanh(y[i]);
        break;
    case L_SIGMOID:
        for (int64_t i = 0; i < t; i++)
            y[i] = ckpt_k_expit(y[i]);
        break;
    case L_SOFTMAX:
        for (int64_t r = 0; r < n; r++)
            ckpt_k_softmax(y + r * w, w);
        break;
    default:
        break;
    }
}

/* nn rows through the float64 stack; A, B hold nn x maxw doubles */
static void chunk_f64(const layers_impl *m, const double *xin, int64_t nn, double *A, double *B,
                      double *out)
{
    const double *src = xin;
    double *dst = A;
    for (int64_t l = 0; l < m->nl; l++) {
        const layer *y = &m->L[l];
        ckpt_k_gemm_nt(src, nn, y->in, y->W, y->out, y->b, dst);
        act_f64(y->act, dst, nn, y->out);
        src = dst;
        dst = dst == A ? B : A;
    }
    const int64_t ow = m->L[m->nl - 1].out;
    memcpy(out, src, (size_t)(nn * ow) * sizeof(double));
}

static ckpt_status layers_run(const ckpt_est *e, ckpt_method meth, const ckpt_input *in,
                              const ckpt_output *out, ckpt_error *err)
{
    const layers_impl *m = e->impl;
    (void)meth;
    const int64_t n = in->n_rows, d0 = m->L[0].in, ow = m->L[m->nl - 1].out;
    if (n <= 0)
        return CKPT_OK;
    if (m->row_ok && n <= LAYERS_ROW_BATCH) {
        if (m->f32) {
            for (int64_t r = 0; r < n; r++)
                row_f32(m, in->dense + r * d0, out->values + r * ow);
        } else {
            double A[LAYERS_ROW_MAXW / 2], B[LAYERS_ROW_MAXW / 2];
            for (int64_t r = 0; r < n; r++)
                chunk_f64(m, in->dense + r * d0, 1, A, B, out->values + r * ow);
        }
        return CKPT_OK;
    }
    const int64_t chunk =
        m->f32 && m->kern != K_SCALAR ? LAYERS_CHUNK_ROWS : CKPT_RT_CHUNK_ROWS;
    const int64_t cn = n < chunk ? n : chunk;
    const uint64_t es = m->f32 ? sizeof(float) : sizeof(double);
    void *A = ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->maxw + 1, es);
    void *B = ckpt_rt_calloc((uint64_t)cn * (uint64_t)m->maxw + 1, es);
    if (!A || !B) {
        free(A);
        free(B);
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    }
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        const int64_t nn = n - r0 < chunk ? n - r0 : chunk;
        if (m->f32)
            chunk_f32(m, in->dense + r0 * d0, nn, A, B, out->values + r0 * ow);
        else
            chunk_f64(m, in->dense + r0 * d0, nn, A, B, out->values + r0 * ow);
    }
    free(A);
    free(B);
    return CKPT_OK;
}

static const ckpt_est_vt layers_vt = {layers_run, layers_free};

/* ------------------------------------------------------------ building */

/* `<prefix>.<what>` as float64 (exact for every accepted dtype); want_ndim 2
   (weight) or 1 (bias).  *dt gets the stored dtype. */
static ckpt_status read_param(ckpt_file *f, const char *prefix, const char *what, int want_ndim,
                              int optional, double **out, int64_t shape[2], ckpt_dtype *dt,
                              ckpt_error *err)
{
    char path[CKPT_RT_MAX_LAYER_SPEC + 16];
    snprintf(path, sizeof path, "%s.%s", prefix, what);
    *out = NULL;
    size_t idx;
    if (ckpt_file_find_array(f, path, &idx) != CKPT_OK) {
        if (optional)
            return CKPT_OK;
        ckpt_error_set(err, CKPT_E_MODEL, -1, "layer stack: no tensor '%s'", path);
        ckpt_error_member(err, path);
        return CKPT_E_MODEL;
    }
    const ckpt_array_info *a = ckpt_file_array(f, idx);
    ckpt_dtype t = a->dtype->type;
    if (t != CKPT_DT_FLOAT16 && t != CKPT_DT_BFLOAT16 && t != CKPT_DT_FLOAT32 &&
        t != CKPT_DT_FLOAT64)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "layer stack: '%s' has dtype %s", path,
                              ckpt_dtype_name(t));
    if ((int)a->ndim != want_ndim)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "layer stack: '%s' has %u dimensions", path,
                              a->ndim);
    if (a->nelems > CKPT_RT_MAX_ELEMS)
        return ckpt_error_set(err, CKPT_E_MODEL, -1, "layer stack: '%s' too large", path);
    const void *data;
    ckpt_status st = ckpt_array_data(f, idx, &data, err);
    if (st != CKPT_OK)
        return st;
    double *d = ckpt_rt_calloc(a->nelems + 1, sizeof(double));
    if (!d)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    for (uint64_t i = 0; i < a->nelems; i++)
        d[i] = ckpt_array_get_f64(f, idx, i);
    shape[0] = a->shape[0];
    shape[1] = want_ndim == 2 ? a->shape[1] : 1;
    *dt = t;
    *out = d;
    return CKPT_OK;
}

/* float64 copies -> float32 weights, bias and panels (exact: the values came
   from float32/float16/bfloat16). 0 ok, -1 NOMEM. */
static int to_f32(layer *y, lkern kern)
{
    const uint64_t kd = (uint64_t)y->out * (uint64_t)y->in;
    y->W32 = ckpt_rt_calloc(kd + 1, sizeof(float));
    y->b32 = ckpt_rt_calloc((uint64_t)y->outp + 1, sizeof(float));
    y->P32 = ckpt_rt_calloc((uint64_t)y->outp * (uint64_t)y->in + 1, sizeof(float));
    if (!y->W32 || !y->b32 || !y->P32)
        return -1;
    for (uint64_t i = 0; i < kd; i++)
        y->W32[i] = (float)y->W[i];
    for (int64_t j = 0; y->b && j < y->out; j++)
        y->b32[j] = (float)y->b[j];
    pack(y->W32, y->out, y->outp, y->in, y->P32);
    if (kern != K_SCALAR) { /* only the sgemm fallback reads W32 */
        free(y->W32);
        y->W32 = NULL;
    }
    free(y->W);
    free(y->b);
    y->W = y->b = NULL;
    return 0;
}

ckpt_status ckpt_model_build_layers(ckpt_file *f, const char *spec, const ckpt_model_opts *opts,
                                    ckpt_model **out, ckpt_error *err)
{
    if (!out)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "out is NULL");
    *out = NULL;
    if (!f || !spec || !*spec)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: file and spec are required");
    size_t sl = strlen(spec);
    if (sl >= CKPT_RT_MAX_LAYER_SPEC)
        return ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: spec longer than %d bytes",
                              CKPT_RT_MAX_LAYER_SPEC);
    layers_impl *m = calloc(1, sizeof *m);
    if (!m)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    m->L = calloc(CKPT_RT_MAX_STACK, sizeof *m->L);
    ckpt_status st = CKPT_OK;
    if (!m->L) {
        st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
        goto fail;
    }
    char buf[CKPT_RT_MAX_LAYER_SPEC];
    memcpy(buf, spec, sl + 1);
    char *save = NULL;
    int any64 = 0;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        if (m->nl >= CKPT_RT_MAX_STACK) {
            st = ckpt_error_set(err, CKPT_E_LIMIT, -1, "layer stack: more than %d layers",
                                CKPT_RT_MAX_STACK);
            goto fail;
        }
        char *colon = strchr(item, ':');
        lact a = L_IDENTITY;
        if (colon) {
            *colon = 0;
            const char *an = colon + 1;
            static const char *const names[] = {"identity", "relu", "gelu", "tanh", "sigmoid",
                                                "softmax"};
            int found = 0;
            for (int k = 0; k < 6; k++)
                if (strcmp(an, names[k]) == 0) {
                    a = (lact)k;
                    found = 1;
                }
            if (!found) {
                st = ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: unknown activation '%s'",
                                    an);
                goto fail;
            }
        }
        if (!*item) {
            st = ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: empty layer name in spec");
            goto fail;
        }
        int64_t ws[2], bs[2] = {0, 0};
        ckpt_dtype wt = CKPT_DT_FLOAT32, bt = CKPT_DT_FLOAT32;
        layer *y = &m->L[m->nl];
        m->nl++;
        st = read_param(f, item, "weight", 2, 0, &y->W, ws, &wt, err);
        if (st == CKPT_OK)
            st = read_param(f, item, "bias", 1, 1, &y->b, bs, &bt, err);
        if (st != CKPT_OK)
            goto fail;
        if (wt == CKPT_DT_FLOAT64 || (y->b && bt == CKPT_DT_FLOAT64))
            any64 = 1;
        y->out = ws[0];
        y->in = ws[1];
        y->outp = (ws[0] + 7) / 8 * 8;
        y->act = a;
        y->has_bias = y->b != NULL;
        y->split = y->outp <= LAYERS_SPLIT_MAXOUT && y->in >= LAYERS_SPLIT_MIN_IN &&
                   y->in <= LAYERS_SPLIT_MAX_IN;
        if (ws[0] < 1 || ws[1] < 1 || (y->b && bs[0] != ws[0]) ||
            (m->nl > 1 && y->in != m->L[m->nl - 2].out)) {
            st = ckpt_error_set(err, CKPT_E_MODEL, -1,
                                "layer stack: '%s' (%lld x %lld) does not follow the previous layer",
                                item, (long long)ws[0], (long long)ws[1]);
            goto fail;
        }
        if (y->outp > m->maxw)
            m->maxw = y->outp;
    }
    if (m->nl == 0) {
        st = ckpt_error_set(err, CKPT_E_ARG, -1, "layer stack: no layers in spec");
        goto fail;
    }
    if (m->L[0].in > m->maxw)
        m->maxw = m->L[0].in;
    m->f32 = !any64;
    /* float64 rows in the stack buffers take twice the room */
    m->row_ok = m->maxw <= (m->f32 ? LAYERS_ROW_MAXW : LAYERS_ROW_MAXW / 2);
    m->kern = pick_kernel();
    for (int64_t l = 0; m->f32 && l < m->nl; l++)
        if (to_f32(&m->L[l], m->kern) != 0) {
            st = ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
            goto fail;
        }
    ckpt_est *e = ckpt_est_new(&layers_vt, m, "torch.layers");
    if (!e)
        return ckpt_error_set(err, CKPT_E_NOMEM, -1, "out of memory");
    e->n_features = m->L[0].in;
    e->n_outputs = m->L[m->nl - 1].out;
    ckpt_est_method(e, CKPT_METHOD_PREDICT, CKPT_OUT_F64, e->n_outputs);
    return ckpt_model_wrap(e, opts, out, err);
fail:
    layers_free(m);
    return st;
}
