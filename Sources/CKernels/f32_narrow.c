#include "ckernels.h"

// fp32 micro-kernel for products whose output is only a few columns wide (a LoRA rank): both operands
// are read along k, so every 16-float load feeds a full vector FMA however narrow the output is. Built
// without -march: only these functions carry the AVX-512 target attribute; callers check cpuid first.
#if defined(__x86_64__)
#include <immintrin.h>

#define CK_TARGET __attribute__((target("avx512f")))

// Sums of eight 16-lane vectors, as the eight lanes of one 256-bit vector (a fixed tree of additions:
// lanes pairwise within 128-bit chunks, then the four chunks).
static inline CK_TARGET __attribute__((always_inline)) __m256 sum8(const __m512 *v) {
    __m512 t01 = _mm512_add_ps(_mm512_unpacklo_ps(v[0], v[1]), _mm512_unpackhi_ps(v[0], v[1]));
    __m512 t23 = _mm512_add_ps(_mm512_unpacklo_ps(v[2], v[3]), _mm512_unpackhi_ps(v[2], v[3]));
    __m512 t45 = _mm512_add_ps(_mm512_unpacklo_ps(v[4], v[5]), _mm512_unpackhi_ps(v[4], v[5]));
    __m512 t67 = _mm512_add_ps(_mm512_unpacklo_ps(v[6], v[7]), _mm512_unpackhi_ps(v[6], v[7]));
    // Each 128-bit chunk now holds [v0, v1, v0, v1]-partials; pairing 64-bit halves gives [v0..v3].
    __m512 u0 = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t01), _mm512_castps_pd(t23))),
                              _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t01), _mm512_castps_pd(t23))));
    __m512 u1 = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t45), _mm512_castps_pd(t67))),
                              _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t45), _mm512_castps_pd(t67))));
    // u0: chunks c0..c3 of [v0..v3]; u1 likewise of [v4..v7]. Add chunks (0+1), (2+3), then the halves.
    __m512 w = _mm512_add_ps(_mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(3, 1, 3, 1)));
    // w chunks: [u0 c0+c1, u0 c2+c3, u1 c0+c1, u1 c2+c3].
    __m512 z = _mm512_add_ps(_mm512_shuffle_f32x4(w, w, _MM_SHUFFLE(3, 2, 2, 0)),
                             _mm512_shuffle_f32x4(w, w, _MM_SHUFFLE(3, 2, 3, 1)));
    return _mm512_castps512_ps256(z);
}

// R rows of X against NC rows of W (both read along k), NC ≤ 8.
static inline CK_TARGET __attribute__((always_inline)) void dots(
    const int R, const int NC, size_t k, const float *x, size_t ldx, const float *w, size_t ldw,
    float *c, size_t ldc, float alpha, int accumulate) {
    __m512 acc[CK_DOT_MR][8];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 8; j++) acc[r][j] = _mm512_setzero_ps();
    size_t p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 xv[CK_DOT_MR];
        for (int r = 0; r < R; r++) xv[r] = _mm512_loadu_ps(x + r * ldx + p);
        for (int j = 0; j < NC; j++) {
            __m512 wv = _mm512_loadu_ps(w + j * ldw + p);
            for (int r = 0; r < R; r++) acc[r][j] = _mm512_fmadd_ps(xv[r], wv, acc[r][j]);
        }
    }
    if (p < k) {
        // The short last group: absent lanes load as zeros and add 0·0.
        __mmask16 m = (__mmask16)((1u << (k - p)) - 1);
        __m512 xv[CK_DOT_MR];
        for (int r = 0; r < R; r++) xv[r] = _mm512_maskz_loadu_ps(m, x + r * ldx + p);
        for (int j = 0; j < NC; j++) {
            __m512 wv = _mm512_maskz_loadu_ps(m, w + j * ldw + p);
            for (int r = 0; r < R; r++) acc[r][j] = _mm512_fmadd_ps(xv[r], wv, acc[r][j]);
        }
    }
    const __mmask16 out = (__mmask16)((1u << NC) - 1);
    const __m512 s = _mm512_set1_ps(alpha);
    for (int r = 0; r < R; r++) {
        __m512 sums = _mm512_castps256_ps512(sum8(acc[r]));
        float *cr = c + r * ldc;
        __m512 v = accumulate ? _mm512_fmadd_ps(s, sums, _mm512_maskz_loadu_ps(out, cr)) : _mm512_mul_ps(s, sums);
        _mm512_mask_storeu_ps(cr, out, v);
    }
}

#define CK_DOTS_ROWS(R)                                                                        \
    switch (cols) {                                                                            \
    case 8: dots(R, 8, k, x, ldx, w, ldw, c, ldc, alpha, accumulate); break;                  \
    case 7: dots(R, 7, k, x, ldx, w, ldw, c, ldc, alpha, accumulate); break;                  \
    case 6: dots(R, 6, k, x, ldx, w, ldw, c, ldc, alpha, accumulate); break;                  \
    case 5: dots(R, 5, k, x, ldx, w, ldw, c, ldc, alpha, accumulate); break;                  \
    case 4: dots(R, 4, k, x, ldx, w, ldw, c, ldc, alpha, accumulate); break;                  \
    case 3: dots(R, 3, k, x, ldx, w, ldw, c, ldc, alpha, accumulate); break;                  \
    case 2: dots(R, 2, k, x, ldx, w, ldw, c, ldc, alpha, accumulate); break;                  \
    case 1: dots(R, 1, k, x, ldx, w, ldw, c, ldc, alpha, accumulate); break;                  \
    default: break;                                                                            \
    }

CK_TARGET void ck_f32_dots_avx512(int rows, int cols, size_t k, const float *x, size_t ldx,
                                  const float *w, size_t ldw, float *c, size_t ldc, float alpha,
                                  int accumulate) {
    switch (rows) {
    case 3: CK_DOTS_ROWS(3) break;
    case 2: CK_DOTS_ROWS(2) break;
    case 1: CK_DOTS_ROWS(1) break;
    default: break;
    }
}
#else
void ck_f32_dots_avx512(int rows, int cols, size_t k, const float *x, size_t ldx, const float *w,
                        size_t ldw, float *c, size_t ldc, float alpha, int accumulate) {
    (void)rows; (void)cols; (void)k; (void)x; (void)ldx; (void)w; (void)ldw; (void)c; (void)ldc;
    (void)alpha; (void)accumulate;
}
#endif
