#ifndef LLAMA_SFT_CK_ROWS_H
#define LLAMA_SFT_CK_ROWS_H
// AVX-512 twins of the Swift element-wise loops of attention's softmax and of SwiGLU
// (Sources/Tensors/SIMDMath.swift, Sources/Autodiff/Ops). Each one performs the same fp32 operations in
// the same order as its Swift original — the same exp polynomial, 16-lane partial sums added up lane 0
// to 15, no fused multiply-adds — so it gives the very same bits (tests compare them); it is only wider.
// Only call when ck_detect_cpu reported avx512f.
#include <stddef.h>

/// Causal softmax of a row tile in place. Row r (0 ≤ r < rows) at s + r·ld holds first + r + 1 scores;
/// they become exp(x − max) / Σ, the row is zeroed from there up to `width` columns, and the row's max
/// and Σ exp(x − max) are written to row_max[r], row_sum[r].
void ck_softmax_rows_avx512(float *s, size_t ld, int first, int rows, int width, float *row_max, float *row_sum);

/// Row r (layout as above): its first + r + 1 entries become exp(x − shift[r·shift_stride]), the rest up
/// to `width` columns zero.
void ck_exp_rows_avx512(float *s, size_t ld, int first, int rows, int width, const float *shift, size_t shift_stride);

/// Softmax backward of a row tile: with P rows at p and dP rows at dp (same layout), the first + r + 1
/// entries of dP's row r become P ⊙ (dP − Σ P⊙dP) · scale, the rest up to `width` columns zero.
void ck_softmax_grad_rows_avx512(const float *p, float *dp, size_t ld, int first, int rows, int width, float scale);

/// SwiGLU forward over n elements: h = g·σ(g)·u.
void ck_swiglu_forward_avx512(const float *g, const float *u, float *h, size_t n);

/// SwiGLU backward over n elements: du (+)= dh·g·σ(g), dg (+)= dh·u·σ(g)·(1 + g·(1 − σ(g))); either output
/// may be NULL; accumulate_* = 1 adds to the existing values, 0 overwrites.
void ck_swiglu_backward_avx512(const float *g, const float *u, const float *dh, float *dg, int accumulate_g,
                               float *du, int accumulate_u, size_t n);

#endif
