#include "ckernels.h"

// The dropout mask of Sources/Autodiff/Ops/Dropout.swift, eight elements per step: the same integer
// hash (SplitMix64's mixer of seed + index·golden ratio, see Sources/Seeds) and the same fp32 multiply,
// so every element equals the scalar Swift loop's bit for bit. 64-bit products are built from 32-bit
// ones (VPMULUDQ), which AVX-512F has; the one-instruction form needs AVX512DQ.
#if defined(__x86_64__)
#include <immintrin.h>

#define CK_TARGET __attribute__((target("avx512f")))

static inline CK_TARGET __attribute__((always_inline)) __m512i mul64(__m512i a, __m512i b) {
    __m512i lo = _mm512_mul_epu32(a, b);
    __m512i cross = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(a, 32), b),
                                     _mm512_mul_epu32(a, _mm512_srli_epi64(b, 32)));
    return _mm512_add_epi64(lo, _mm512_slli_epi64(cross, 32));
}

CK_TARGET void ck_dropout_avx512(uint64_t seed, uint64_t start, float p, float scale,
                                 const float *src, float *dst, size_t count) {
    const __m512i golden = _mm512_set1_epi64((long long)0x9E3779B97F4A7C15ULL);
    const __m512i m1 = _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ULL);
    const __m512i m2 = _mm512_set1_epi64((long long)0x94D049BB133111EBULL);
    const __m512i vseed = _mm512_set1_epi64((long long)seed);
    const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m256 vp = _mm256_set1_ps(p), vs = _mm256_set1_ps(scale), unit = _mm256_set1_ps(1.0f / 16777216.0f);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m512i index = _mm512_add_epi64(_mm512_set1_epi64((long long)(start + i)), lanes);
        __m512i z = _mm512_add_epi64(vseed, mul64(index, golden));
        z = mul64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), m1);
        z = mul64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), m2);
        z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
        // z >> 40 has 24 bits: exact as int32 and as float; times 2^-24 is exact too.
        __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm512_cvtepi64_epi32(_mm512_srli_epi64(z, 40))), unit);
        __m256 keep = _mm256_cmp_ps(u, vp, _CMP_GE_OQ);
        _mm256_storeu_ps(dst + i, _mm256_and_ps(keep, _mm256_mul_ps(_mm256_loadu_ps(src + i), vs)));
    }
    for (; i < count; i++) {
        uint64_t z = seed + (start + i) * 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        float u = (float)(uint32_t)(z >> 40) * (1.0f / 16777216.0f);
        dst[i] = u >= p ? src[i] * scale : 0.0f;
    }
}
#else
void ck_dropout_avx512(uint64_t seed, uint64_t start, float p, float scale, const float *src,
                       float *dst, size_t count) {
    (void)seed; (void)start; (void)p; (void)scale; (void)src; (void)dst; (void)count;
}
#endif
