#include "ckernels.h"
#include <string.h>

// fp32 activations rounded to bf16 and packed, 16 bf16 pairs per AVX-512 step. The rounding is the
// integer one of floatToBF16 in Sources/Tensors/Conversion.swift (add 0x7FFF plus the lowest kept bit,
// keep the high half; a NaN keeps its high half with the quiet bit set), so every input, denormals and
// NaNs included, gives the same bits as the scalar code. VCVTNE2PS2BF16 would be one instruction but
// flushes denormal inputs to zero, which the scalar code does not.
#if defined(__x86_64__)
#include <immintrin.h>

#define CK_F __attribute__((target("avx512f")))

// Rounds 16 floats to bf16 (16-bit results).
static inline CK_F __attribute__((always_inline)) __m256i round16(__m512 x) {
    const __m512i b = _mm512_castps_si512(x);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(b, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(b, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
    r = _mm512_mask_or_epi32(r, nan, b, _mm512_set1_epi32(0x00400000));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

// Floats [0, count) of `src` (count ≤ 32; the rest read as +0, whose bf16 is 0) as 16 pairs into dst
// (element 2p in the low half of word p).
static inline CK_F __attribute__((always_inline)) void pairs16(const float *src, size_t count, uint32_t *dst) {
    const __mmask16 m0 = count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1);
    const __mmask16 m1 = count >= 32 ? 0xFFFF : count <= 16 ? 0 : (__mmask16)((1u << (count - 16)) - 1);
    _mm256_storeu_si256((__m256i *)dst, round16(_mm512_maskz_loadu_ps(m0, src)));
    _mm256_storeu_si256((__m256i *)(dst + 8), round16(_mm512_maskz_loadu_ps(m1, src + 16)));
}

CK_F void ck_bf16_pack_rows(size_t rows, size_t k, const float *a, size_t lda, uint32_t *dst) {
    const size_t k_pairs = (k + 1) / 2;
    for (size_t i = 0; i < rows; i++) {
        const float *src = a + i * lda;
        uint32_t *out = dst + i * k_pairs;
        size_t p = 0;
        for (; p + 16 <= k_pairs; p += 16) pairs16(src + 2 * p, k - 2 * p < 32 ? k - 2 * p : 32, out + p);
        if (p < k_pairs) {
            uint32_t last[16];
            pairs16(src + 2 * p, k - 2 * p, last);
            memcpy(out + p, last, (k_pairs - p) * 4);
        }
    }
}

CK_F void ck_bf16_pack_tiles(size_t m, size_t k, const float *a, size_t lda, size_t first_tile, size_t end_tile, uint32_t *dst) {
    const size_t groups = (k + 31) / 32;
    for (size_t t = first_tile; t < end_tile; t++)
        for (size_t r = 0; r < 16; r++) {
            const size_t row = t * 16 + r;
            uint32_t *out = dst + t * groups * 256 + r * 16;
            for (size_t g = 0; g < groups; g++) {
                if (row < m) pairs16(a + row * lda + 32 * g, k - 32 * g < 32 ? k - 32 * g : 32, out + g * 256);
                else memset(out + g * 256, 0, 64);
            }
        }
}
#else
void ck_bf16_pack_rows(size_t rows, size_t k, const float *a, size_t lda, uint32_t *dst) {
    (void)rows; (void)k; (void)a; (void)lda; (void)dst;
}
void ck_bf16_pack_tiles(size_t m, size_t k, const float *a, size_t lda, size_t first_tile, size_t end_tile, uint32_t *dst) {
    (void)m; (void)k; (void)a; (void)lda; (void)first_tile; (void)end_tile; (void)dst;
}
#endif
