#ifndef LLAMA_SFT_CKERNELS_H
#define LLAMA_SFT_CKERNELS_H
// The few things Swift cannot express: cpuid/xgetbv and the AVX512_BF16 dot-product instruction.
// Everything above these (packing, blocking, threading, dispatch) is Swift (Sources/Tensors).
#include <stddef.h>
#include <stdint.h>

/// CPU features usable by this process (the CPU has them and the OS saves their register state).
typedef struct {
    int avx2, fma, avx512f, avx512bf16, avx512vnni, amx;
    char brand[49];  // cpuid brand string, NUL-terminated ("" when the CPU has none)
} ck_cpu_features;

void ck_detect_cpu(ck_cpu_features *out);

/// Columns per packed weight panel and rows per micro-tile of the bf16 GEMM.
enum { CK_BF16_NR = 32, CK_BF16_MR = 8 };

/// C[i, 0..<n_valid] (+)= Σ_p A[i, pair p] · B[pair p, :] for `rows` ≤ CK_BF16_MR rows, with VDPBF16PS.
///
/// `a`: bf16 pairs, row i at a + i·lda (in 32-bit pairs); `b`: one packed panel, k_pairs × CK_BF16_NR
/// pairs (pair p of column j at b[p·NR + j]); `c`: row stride ldc floats. `accumulate` = 0 starts
/// from zero, 1 from the current C. Only call when ck_detect_cpu reported avx512bf16.
void ck_bf16_tile_avx512(int rows, size_t k_pairs, const uint32_t *a, size_t lda,
                         const uint32_t *b, float *c, size_t ldc, int n_valid, int accumulate);

#endif
