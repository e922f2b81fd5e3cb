#ifndef LLAMA_SFT_CKERNELS_H
#define LLAMA_SFT_CKERNELS_H
// The few things Swift cannot express: cpuid/xgetbv, the AVX512_BF16 dot-product instruction, the
// AMX tile instructions and an AVX-512 fp32 micro-kernel (Swift's SIMD types do not reach 512-bit FMAs
// in a portable build).
// Everything above these (packing, blocking, threading, dispatch) is Swift (Sources/Tensors).
#include <stddef.h>
#include <stdint.h>

/// CPU features usable by this process (the CPU has them and the OS saves their register state).
typedef struct {
    int avx2, fma, avx512f, avx512bf16, avx512vnni, amx, amxbf16;
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


/// Rows per fp32 micro-tile (columns: CK_BF16_NR).
enum { CK_F32_MR = 8 };

/// C[i, 0..<n_valid] = alpha · Σ_p A(i, p) · B[p, 0..<n_valid] (+ C[i, ·] when `accumulate`) for
/// `rows` ≤ CK_F32_MR rows and n_valid ≤ 32 columns, fp32 with AVX-512 FMAs: each output sums its k
/// products in order from zero with one fused multiply-add each, then C = alpha·sum (+ C, fused).
/// A(i, p) is a[i·a_row + p·a_col] (so A or Aᵀ can be read in place); B row p at b + p·ldb.
/// Only call when ck_detect_cpu reported avx512f.
void ck_f32_tile_avx512(int rows, size_t k, const float *a, size_t a_row, size_t a_col,
                        const float *b, size_t ldb, float *c, size_t ldc, int n_valid,
                        float alpha, int accumulate);

/// Asks Linux for the AMX tile state (once per process is enough; threads that already exist are
/// covered too). 1 when tiles may be used, 0 when the OS refused or this is not x86-64 Linux.
int ck_amx_enable(void);

/// Rounds fp32 to bf16 pairs exactly as the scalar floatToBF16 (nearest even; denormals kept; a NaN
/// quieted) into the row layout of ck_bf16_tile_avx512's A: row i at dst + i·((k + 1) / 2), the odd
/// tail paired with 0. Only call when ck_detect_cpu reported avx512f.
void ck_bf16_pack_rows(size_t rows, size_t k, const float *a, size_t lda, uint32_t *dst);

/// The same rounding into the AMX A layout: tiles of 16 rows × one group of 16 pairs, 1 KiB each; tile
/// t (rows 16t..<16t+16) holds its groups g = 0..<G (G = (k + 31) / 32) at dst + (t·G + g)·256, row r of
/// the tile at + r·16. Rows ≥ m and pairs ≥ (k + 1) / 2 are zero. Writes tiles first_tile..<end_tile.
void ck_bf16_pack_tiles(size_t m, size_t k, const float *a, size_t lda, size_t first_tile, size_t end_tile, uint32_t *dst);

/// One worker's share of C[i, 0..<n_valid] (+)= Σ_p A[i, pair p] · B[pair p, :] with TDPBF16PS (see
/// bf16_amx.c for the arithmetic and blocking): `rows` rows of A packed by ck_bf16_pack_tiles (k_pairs
/// pairs; `a` at the share's first tile, a multiple of 32 rows), `panels` packed panels of B from `b`
/// (each k_pairs × CK_BF16_NR words), C row stride ldc. `accumulate` = 0 starts
/// from zero, 1 from C. Loads and releases the tile configuration itself.
void ck_bf16_gemm_amx(size_t rows, size_t k_pairs, const uint32_t *a, const uint32_t *b, size_t panels,
                      size_t n_valid, float *c, size_t ldc, int accumulate);

/// As ck_bf16_gemm_amx for `dY · W`, with B = W's backward panels (k = W's rows) built on the fly from
/// its forward panels (`forward`, forward_pairs pairs each): backward panels first_panel..<first_panel +
/// panels, bit for bit the panels BF16Panels.repackBackward builds.
void ck_bf16_gemm_amx_from_forward(size_t rows, size_t k_pairs, const uint32_t *a, const uint32_t *forward,
                                   size_t forward_pairs, size_t first_panel, size_t panels, size_t n_valid,
                                   float *c, size_t ldc, int accumulate);

#endif
