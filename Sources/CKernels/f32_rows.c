#include "ck_rows.h"

// AVX-512 twins of Swift element-wise loops (see ck_rows.h): the same operations in the same order, so
// the results are bit-identical and fp32 runs may use them. Built without -march: only these functions
// carry the AVX-512 target attribute; callers check cpuid first. Contraction into fused multiply-adds is
// off for the whole file because the Swift originals round every product.
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define CK_TARGET __attribute__((target("avx512f")))
#define CK_INLINE static inline CK_TARGET __attribute__((always_inline))

// vmax/vmin of SIMDMath.swift: compare + blend (a NaN in `a` survives).
CK_INLINE __m512 vmax(__m512 a, __m512 b) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), a, b); }
CK_INLINE __m512 vmin(__m512 a, __m512 b) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, a, _CMP_LT_OQ), a, b); }

// exp16 of SIMDMath.swift, operation for operation.
CK_INLINE __m512 exp16(__m512 x0) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);  // 1.5·2^23
    __m512 x = vmin(vmax(x0, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 tm = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), magic);
    __m512 n = _mm512_sub_ps(tm, magic);
    __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, _mm512_mul_ps(r, r)), r), _mm512_set1_ps(1.0f));
    __m512i ti = _mm512_sub_epi32(_mm512_castps_si512(tm), _mm512_castps_si512(magic));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(ti, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(p, scale);
}

CK_INLINE __mmask16 tail_mask(int count) { return (__mmask16)((1u << count) - 1); }

// SIMD16.sum(): lanes added one by one, lane 0 first, from −0.
CK_INLINE float lane_sum(__m512 v) {
    float lanes[16];
    _mm512_storeu_ps(lanes, v);
    float s = -0.0f;
    for (int l = 0; l < 16; l++) s += lanes[l];
    return s;
}

// maxElement of SIMDMath.swift.
CK_INLINE float row_max(const float *x, int n) {
    float m = -__builtin_inff();
    int i = 0;
    if (n >= 16) {
        __m512 acc = _mm512_loadu_ps(x);
        for (i = 16; i + 16 <= n; i += 16) acc = vmax(acc, _mm512_loadu_ps(x + i));
        float lanes[16];
        _mm512_storeu_ps(lanes, acc);
        for (int l = 0; l < 16; l++) if (lanes[l] > m) m = lanes[l];
    }
    for (; i < n; i++) if (x[i] > m) m = x[i];
    return m;
}

// expShiftSum of SIMDMath.swift: x = exp(x − shift) in place, returns the sum (16-lane partial sums,
// then the tail one element at a time; the tail's exps come from one masked vector, lane by lane equal
// to the scalar expScalar).
CK_INLINE float exp_shift_sum(float *x, int n, float shift) {
    __m512 acc = _mm512_setzero_ps(), s = _mm512_set1_ps(shift);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
        _mm512_storeu_ps(x + i, e);
        acc = _mm512_add_ps(acc, e);
    }
    float total = lane_sum(acc);
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        float lanes[16];
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s));
        _mm512_mask_storeu_ps(x + i, m, e);
        _mm512_storeu_ps(lanes, e);
        for (int l = 0; l < n - i; l++) total += lanes[l];
    }
    return total;
}

// dot of SIMDMath.swift.
CK_INLINE float row_dot(const float *a, const float *b, int n) {
    __m512 acc = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    float s = lane_sum(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

CK_INLINE void zero_from(float *row, int from, int width) {
    for (int j = from; j < width; j += 16) {
        int count = width - j < 16 ? width - j : 16;
        _mm512_mask_storeu_ps(row + j, tail_mask(count), _mm512_setzero_ps());
    }
}

CK_TARGET void ck_softmax_rows_avx512(float *s, size_t ld, int first, int rows, int width, float *max_out, float *sum_out) {
    for (int r = 0; r < rows; r++) {
        float *row = s + (size_t)r * ld;
        int n = first + r + 1;
        float m = row_max(row, n);
        float sum = exp_shift_sum(row, n, m);
        __m512 inv = _mm512_set1_ps(1.0f / sum);
        for (int j = 0; j < n; j += 16) {
            __mmask16 k = n - j < 16 ? tail_mask(n - j) : 0xFFFF;
            _mm512_mask_storeu_ps(row + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + j), inv));
        }
        zero_from(row, n, width);
        max_out[r] = m;
        sum_out[r] = sum;
    }
}

CK_TARGET void ck_exp_rows_avx512(float *s, size_t ld, int first, int rows, int width, const float *shift, size_t shift_stride) {
    for (int r = 0; r < rows; r++) {
        float *row = s + (size_t)r * ld;
        int n = first + r + 1;
        __m512 sh = _mm512_set1_ps(shift[(size_t)r * shift_stride]);
        for (int j = 0; j < n; j += 16) {
            __mmask16 k = n - j < 16 ? tail_mask(n - j) : 0xFFFF;
            _mm512_mask_storeu_ps(row + j, k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + j), sh)));
        }
        zero_from(row, n, width);
    }
}

CK_TARGET void ck_softmax_grad_rows_avx512(const float *p, float *dp, size_t ld, int first, int rows, int width, float scale) {
    __m512 sc = _mm512_set1_ps(scale);
    for (int r = 0; r < rows; r++) {
        const float *pr = p + (size_t)r * ld;
        float *dr = dp + (size_t)r * ld;
        int n = first + r + 1;
        __m512 dot = _mm512_set1_ps(row_dot(pr, dr, n));
        for (int j = 0; j < n; j += 16) {
            __mmask16 k = n - j < 16 ? tail_mask(n - j) : 0xFFFF;
            __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, dr + j), dot);
            _mm512_mask_storeu_ps(dr + j, k, _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, pr + j), d), sc));
        }
        zero_from(dr, n, width);
    }
}

// σ(g) as SwiGLU computes it: 1 / (1 + exp(−g)), −g by flipping the sign bit as Swift's negation does.
CK_INLINE __m512 sigmoid(__m512 g) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 minus_g = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(g), _mm512_set1_epi32((int)0x80000000u)));
    return _mm512_div_ps(one, _mm512_add_ps(one, exp16(minus_g)));
}

CK_TARGET void ck_swiglu_forward_avx512(const float *g, const float *u, float *h, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i < 16 ? tail_mask((int)(n - i)) : 0xFFFF;
        __m512 gv = _mm512_maskz_loadu_ps(k, g + i);
        __m512 hv = _mm512_mul_ps(_mm512_mul_ps(gv, sigmoid(gv)), _mm512_maskz_loadu_ps(k, u + i));
        _mm512_mask_storeu_ps(h + i, k, hv);
    }
}

CK_TARGET void ck_swiglu_backward_avx512(const float *g, const float *u, const float *dh, float *dg, int accumulate_g,
                                         float *du, int accumulate_u, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i < 16 ? tail_mask((int)(n - i)) : 0xFFFF;
        __m512 gv = _mm512_maskz_loadu_ps(k, g + i), d = _mm512_maskz_loadu_ps(k, dh + i);
        __m512 sig = sigmoid(gv);
        if (du) {
            __m512 v = _mm512_mul_ps(_mm512_mul_ps(d, gv), sig);
            if (accumulate_u) v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, du + i), v);
            _mm512_mask_storeu_ps(du + i, k, v);
        }
        if (dg) {
            __m512 uv = _mm512_maskz_loadu_ps(k, u + i);
            __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(d, uv), sig),
                                     _mm512_add_ps(one, _mm512_mul_ps(gv, _mm512_sub_ps(one, sig))));
            if (accumulate_g) v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, dg + i), v);
            _mm512_mask_storeu_ps(dg + i, k, v);
        }
    }
}

#else
// Not x86-64: never called (callers check cpuid), defined so the target links.
void ck_softmax_rows_avx512(float *s, size_t ld, int first, int rows, int width, float *max_out, float *sum_out) {
    (void)s; (void)ld; (void)first; (void)rows; (void)width; (void)max_out; (void)sum_out;
}
void ck_exp_rows_avx512(float *s, size_t ld, int first, int rows, int width, const float *shift, size_t shift_stride) {
    (void)s; (void)ld; (void)first; (void)rows; (void)width; (void)shift; (void)shift_stride;
}
void ck_softmax_grad_rows_avx512(const float *p, float *dp, size_t ld, int first, int rows, int width, float scale) {
    (void)p; (void)dp; (void)ld; (void)first; (void)rows; (void)width; (void)scale;
}
void ck_swiglu_forward_avx512(const float *g, const float *u, float *h, size_t n) { (void)g; (void)u; (void)h; (void)n; }
void ck_swiglu_backward_avx512(const float *g, const float *u, const float *dh, float *dg, int accumulate_g,
                               float *du, int accumulate_u, size_t n) {
    (void)g; (void)u; (void)dh; (void)dg; (void)accumulate_g; (void)du; (void)accumulate_u; (void)n;
}
#endif
