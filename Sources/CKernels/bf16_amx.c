#include "ckernels.h"
#include <string.h>

// AMX (TDPBF16PS) path of the bf16 GEMM. Built without -march: only these functions carry the AMX
// target attribute, and callers use them only after ck_amx_enable() returned 1.
//
// Tiles used (palette 1, every tile 16 rows × 64 bytes): tmm0-3 the 32×32 fp32 output block (four
// 16×16 quarters), tmm4-5 two 16-row × 16-pair slices of A, tmm6-7 two 16-pair × 16-column slices of
// one packed B panel. One TDPBF16PS takes 16 pairs of k: it sums the even elements' products in one
// fp32 chain and the odd elements' in another (both from zero, in k order), then adds their sum to C
// (every addition rounded to nearest even, denormals read and written as zero) — measured on this
// hardware and written out in BF16GEMM.swift's portable kernel.
#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CK_AMX __attribute__((target("amx-tile,amx-bf16")))

enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18, GROUP = 16 };

int ck_amx_enable(void) {
    // Linux keeps the 8 KiB tile state off until a process asks; the permission is process-wide and
    // covers threads that already exist, so one successful request serves every worker.
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) tile_config;

CK_AMX void ck_amx_begin(void) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.colsb[t] = 64; cfg.rows[t] = 16; }
    _tile_loadconfig(&cfg);
}

CK_AMX void ck_amx_end(void) { _tile_release(); }

// One 32×32 block over `groups` full groups of 16 pairs, C tiles at `c` (row stride ldc floats).
// With rows ≤ 16 only the upper half is computed.
static inline CK_AMX __attribute__((always_inline)) void block(
    int two_halves, size_t groups, const uint32_t *a, size_t lda, const uint32_t *b, size_t ldb,
    float *c, size_t ldc, int load_c) {
    const size_t sa = lda * 4, sb = ldb * 4, sc = ldc * 4;
    if (load_c) {
        _tile_loadd(0, c, sc); _tile_loadd(1, c + 16, sc);
        if (two_halves) { _tile_loadd(2, c + 16 * ldc, sc); _tile_loadd(3, c + 16 * ldc + 16, sc); }
    } else {
        _tile_zero(0); _tile_zero(1);
        if (two_halves) { _tile_zero(2); _tile_zero(3); }
    }
    for (size_t g = 0; g < groups; g++) {
        const uint32_t *ag = a + g * GROUP, *bg = b + g * GROUP * ldb;
        _tile_loadd(6, bg, sb);
        _tile_loadd(7, bg + 16, sb);
        _tile_loadd(4, ag, sa);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        if (two_halves) {
            _tile_loadd(5, ag + 16 * lda, sa);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, c, sc); _tile_stored(1, c + 16, sc);
    if (two_halves) { _tile_stored(2, c + 16 * ldc, sc); _tile_stored(3, c + 16 * ldc + 16, sc); }
}

CK_AMX void ck_bf16_tile_amx(int rows, size_t k_pairs, const uint32_t *a, size_t lda,
                             const uint32_t *b, float *c, size_t ldc, int n_valid, int accumulate) {
    const int two = rows > 16;
    const size_t full = k_pairs / GROUP, tail = k_pairs % GROUP;
    // A partial block (rows or columns) works in a 32×32 scratch copy of C so no tile touches memory
    // outside the caller's rows and columns.
    float scratch[32 * 32];
    const int direct = rows == (two ? 32 : 16) && n_valid == CK_BF16_NR;
    float *cb = direct ? c : scratch;
    size_t ldcb = direct ? ldc : 32;
    if (!direct) {
        memset(scratch, 0, sizeof scratch);
        if (accumulate)
            for (int r = 0; r < rows; r++) memcpy(scratch + r * 32, c + r * ldc, (size_t)n_valid * sizeof(float));
    }
    if (full) block(two, full, a, lda, b, CK_BF16_NR, cb, ldcb, accumulate || !direct);
    if (tail) {
        // The last group is short: copy it next to zeros. A zero pair adds +0 to each chain, which
        // leaves it unchanged (a chain that starts at +0 never becomes -0), so the result is that of
        // a short group.
        uint32_t at[32 * GROUP], bt[GROUP * CK_BF16_NR];
        memset(at, 0, sizeof at);
        memset(bt, 0, sizeof bt);
        for (int r = 0; r < rows; r++) memcpy(at + r * GROUP, a + r * lda + full * GROUP, tail * 4);
        memcpy(bt, b + full * GROUP * CK_BF16_NR, tail * CK_BF16_NR * 4);
        block(two, 1, at, GROUP, bt, CK_BF16_NR, cb, ldcb, full || accumulate || !direct);
    }
    if (!direct)
        for (int r = 0; r < rows; r++) memcpy(c + r * ldc, scratch + r * 32, (size_t)n_valid * sizeof(float));
}
#else
int ck_amx_enable(void) { return 0; }
void ck_amx_begin(void) {}
void ck_amx_end(void) {}
void ck_bf16_tile_amx(int rows, size_t k_pairs, const uint32_t *a, size_t lda,
                      const uint32_t *b, float *c, size_t ldc, int n_valid, int accumulate) {
    (void)rows; (void)k_pairs; (void)a; (void)lda; (void)b; (void)c; (void)ldc; (void)n_valid; (void)accumulate;
}
#endif
