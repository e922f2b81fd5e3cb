#include "ckernels.h"

// Built without any -march flag: only these functions carry the AVX-512 target attribute, so the rest
// of the binary runs on any x86-64 and the caller dispatches here after checking cpuid.
#if defined(__x86_64__)
#include <immintrin.h>

#define CK_TARGET __attribute__((target("avx512f,avx512bf16,avx512vl")))

// One micro-tile with a compile-time row count (the switch below instantiates 1…8), so the 2·R
// accumulators stay in registers.
static inline CK_TARGET __attribute__((always_inline)) void tile(
    const int R, size_t k_pairs, const uint32_t *a, size_t lda, const uint32_t *b, float *c, size_t ldc,
    int n_valid, int accumulate) {
    __mmask16 m0 = n_valid >= 16 ? 0xFFFF : (__mmask16)((1u << n_valid) - 1);
    __mmask16 m1 = n_valid >= 32 ? 0xFFFF : n_valid <= 16 ? 0 : (__mmask16)((1u << (n_valid - 16)) - 1);
    __m512 acc0[CK_BF16_MR], acc1[CK_BF16_MR];
    for (int r = 0; r < R; r++) {
        acc0[r] = accumulate ? _mm512_maskz_loadu_ps(m0, c + r * ldc) : _mm512_setzero_ps();
        acc1[r] = accumulate ? _mm512_maskz_loadu_ps(m1, c + r * ldc + 16) : _mm512_setzero_ps();
    }
    for (size_t p = 0; p < k_pairs; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * CK_BF16_NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + p * CK_BF16_NR + 16);
        for (int r = 0; r < R; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * lda + p]);
            acc0[r] = _mm512_dpbf16_ps(acc0[r], x, b0);
            acc1[r] = _mm512_dpbf16_ps(acc1[r], x, b1);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc0[r]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc1[r]);
    }
}

CK_TARGET void ck_bf16_tile_avx512(int rows, size_t k_pairs, const uint32_t *a, size_t lda,
                                   const uint32_t *b, float *c, size_t ldc, int n_valid, int accumulate) {
    switch (rows) {
    case 8: tile(8, k_pairs, a, lda, b, c, ldc, n_valid, accumulate); break;
    case 7: tile(7, k_pairs, a, lda, b, c, ldc, n_valid, accumulate); break;
    case 6: tile(6, k_pairs, a, lda, b, c, ldc, n_valid, accumulate); break;
    case 5: tile(5, k_pairs, a, lda, b, c, ldc, n_valid, accumulate); break;
    case 4: tile(4, k_pairs, a, lda, b, c, ldc, n_valid, accumulate); break;
    case 3: tile(3, k_pairs, a, lda, b, c, ldc, n_valid, accumulate); break;
    case 2: tile(2, k_pairs, a, lda, b, c, ldc, n_valid, accumulate); break;
    case 1: tile(1, k_pairs, a, lda, b, c, ldc, n_valid, accumulate); break;
    default: break;
    }
}
#else
void ck_bf16_tile_avx512(int rows, size_t k_pairs, const uint32_t *a, size_t lda,
                         const uint32_t *b, float *c, size_t ldc, int n_valid, int accumulate) {
    (void)rows; (void)k_pairs; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)n_valid; (void)accumulate;
}
#endif
