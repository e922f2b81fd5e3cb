#include "ckernels.h"

// fp32 micro-kernel for the small per-head attention products of a bf16 run (OpenBLAS may run old
// SSE kernels on CPUs it does not know). Built without -march: only this function carries the AVX-512
// target attribute; callers check cpuid first.
#if defined(__x86_64__)
#include <immintrin.h>

#define CK_TARGET __attribute__((target("avx512f")))

static inline CK_TARGET __attribute__((always_inline)) void tile(
    const int R, size_t k, const float *a, size_t a_row, size_t a_col, const float *b, size_t ldb,
    float *c, size_t ldc, int n_valid, float alpha, int accumulate) {
    __mmask16 m0 = n_valid >= 16 ? 0xFFFF : (__mmask16)((1u << n_valid) - 1);
    __mmask16 m1 = n_valid >= 32 ? 0xFFFF : n_valid <= 16 ? 0 : (__mmask16)((1u << (n_valid - 16)) - 1);
    __m512 acc0[CK_F32_MR], acc1[CK_F32_MR];
    for (int r = 0; r < R; r++) { acc0[r] = _mm512_setzero_ps(); acc1[r] = _mm512_setzero_ps(); }
    for (size_t p = 0; p < k; p++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b + p * ldb);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, b + p * ldb + 16);
        for (int r = 0; r < R; r++) {
            __m512 x = _mm512_set1_ps(a[r * a_row + p * a_col]);
            acc0[r] = _mm512_fmadd_ps(x, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(x, b1, acc1[r]);
        }
    }
    __m512 s = _mm512_set1_ps(alpha);
    for (int r = 0; r < R; r++) {
        float *cr = c + r * ldc;
        if (accumulate) {
            acc0[r] = _mm512_fmadd_ps(s, acc0[r], _mm512_maskz_loadu_ps(m0, cr));
            acc1[r] = _mm512_fmadd_ps(s, acc1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
        } else {
            acc0[r] = _mm512_mul_ps(s, acc0[r]);
            acc1[r] = _mm512_mul_ps(s, acc1[r]);
        }
        _mm512_mask_storeu_ps(cr, m0, acc0[r]);
        _mm512_mask_storeu_ps(cr + 16, m1, acc1[r]);
    }
}

CK_TARGET void ck_f32_tile_avx512(int rows, size_t k, const float *a, size_t a_row, size_t a_col,
                                  const float *b, size_t ldb, float *c, size_t ldc, int n_valid,
                                  float alpha, int accumulate) {
    switch (rows) {
    case 8: tile(8, k, a, a_row, a_col, b, ldb, c, ldc, n_valid, alpha, accumulate); break;
    case 7: tile(7, k, a, a_row, a_col, b, ldb, c, ldc, n_valid, alpha, accumulate); break;
    case 6: tile(6, k, a, a_row, a_col, b, ldb, c, ldc, n_valid, alpha, accumulate); break;
    case 5: tile(5, k, a, a_row, a_col, b, ldb, c, ldc, n_valid, alpha, accumulate); break;
    case 4: tile(4, k, a, a_row, a_col, b, ldb, c, ldc, n_valid, alpha, accumulate); break;
    case 3: tile(3, k, a, a_row, a_col, b, ldb, c, ldc, n_valid, alpha, accumulate); break;
    case 2: tile(2, k, a, a_row, a_col, b, ldb, c, ldc, n_valid, alpha, accumulate); break;
    case 1: tile(1, k, a, a_row, a_col, b, ldb, c, ldc, n_valid, alpha, accumulate); break;
    default: break;
    }
}
#else
void ck_f32_tile_avx512(int rows, size_t k, const float *a, size_t a_row, size_t a_col,
                        const float *b, size_t ldb, float *c, size_t ldc, int n_valid,
                        float alpha, int accumulate) {
    (void)rows; (void)k; (void)a; (void)a_row; (void)a_col; (void)b; (void)ldb; (void)c; (void)ldc;
    (void)n_valid; (void)alpha; (void)accumulate;
}
#endif
