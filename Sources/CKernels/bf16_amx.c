#include "ckernels.h"
#include <stdlib.h>
#include <string.h>

// AMX (TDPBF16PS) path of the bf16 GEMM: one worker's share of C (+)= A · B, blocked here because the
// tile registers cannot be named from Swift. Built without -march: only these functions carry the AMX
// / AVX-512 target attributes, and callers use them only after ck_amx_enable() returned 1.
//
// Tiles (palette 1, every tile 16 rows × 64 bytes): tmm0-3 a 32×32 fp32 block of C (four 16×16
// quarters), tmm4-5 two A tiles (16 rows × one group of 16 pairs), tmm6-7 the two 16-column halves of
// one group of a B panel. One TDPBF16PS takes one group of 16 pairs: it sums the even elements'
// products in one fp32 chain and the odd elements' in another (both from zero, in k order), then adds
// their sum to C (every addition rounded to nearest even, denormals read and written as zero) —
// measured on this hardware and written out in BF16GEMM.swift's portable-amx kernel. Every C block
// takes its groups in k order, whatever the blocking, so the blocking never changes a bit.
//
// Blocking (one worker): k in blocks of KC groups (512 pairs); in each, the worker's panels in turn;
// for each panel its KC-group block of B (64 KiB, in L1/L2) is reused by every 32-row block of A (tile-packed:
// each A tile is 1 KiB contiguous, see ck_bf16_pack_tiles) runs over it; C is loaded and stored once per
// k block. While one panel runs, the next panel's block is prefetched, a slice per row block.
#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CK_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,prfchw")))

enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18, GROUP = 16, NR = CK_BF16_NR, KC = 32 };
enum { GROUP_WORDS = GROUP * NR, TILE_WORDS = 16 * GROUP };  // one group of a B panel; one A tile

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

static CK_AMX void configure(void) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.colsb[t] = 64; cfg.rows[t] = 16; }
    _tile_loadconfig(&cfg);
}

// Where the B block of (k block, panel) comes from, and how to prefetch the next one.
typedef struct {
    // Panels mode: B panel p at b + p·panel_words; group g of it at + g·GROUP_WORDS.
    const uint32_t *b;
    size_t panel_words, k_pairs;
    // Transposed mode (b_from_forward): the backward panels of W built from W's forward panels.
    int from_forward;
    size_t fwd_pairs, first_panel;
} b_source;

// Cache lines to ask for while a block runs, spread over its groups: a burst of prefetches stalls
// once the line fill buffers are full, one or two per TDPBF16PS do not.
enum { MAX_LINES = KC * GROUP_WORDS * 4 / 64 + 64 };
typedef struct {
    const char *read[MAX_LINES];   // B lines of the next block
    const char *write[64];         // C lines of the next block (written by tile stores)
    size_t reads, writes;
} prefetch_list;

// Adds slice `part` of `parts` of a block of `chunks` chunks (`chunk_bytes` each, `stride` apart).
static inline void add_slice(prefetch_list *l, const char *base, size_t chunks, size_t stride, size_t chunk_bytes,
                             size_t part, size_t parts) {
    const size_t per_chunk = (chunk_bytes + 63) / 64, total = chunks * per_chunk;
    const size_t first = total * part / parts, end = total * (part + 1) / parts;
    size_t chunk = first / per_chunk, line = first % per_chunk;  // one division per slice, not per line
    for (size_t i = first; i < end && l->reads < MAX_LINES; i++) {
        l->read[l->reads++] = base + chunk * stride + line * 64;
        if (++line == per_chunk) { line = 0; chunk++; }
    }
}

// The source chunks of B block (groups g0..<g1, panel p): base, count, stride, bytes.
static inline void block_chunks(const b_source *s, size_t p, size_t g0, size_t g1,
                                const char **base, size_t *chunks, size_t *stride, size_t *bytes) {
    if (s->from_forward) {
        // Backward group g is forward panel g; backward panel p reads its forward pairs 16p..<16p+16.
        const size_t first = GROUP * (s->first_panel + p), q = s->fwd_pairs > first ? s->fwd_pairs - first : 0;
        *base = (const char *)(s->b + (g0 * s->fwd_pairs + first) * NR);
        *chunks = g1 - g0;
        *stride = s->fwd_pairs * NR * 4;
        *bytes = (q < GROUP ? q : GROUP) * NR * 4;
    } else {
        const size_t pairs = s->k_pairs - g0 * GROUP;
        const size_t want = (g1 - g0) * GROUP;
        *base = (const char *)(s->b + p * s->panel_words + g0 * GROUP_WORDS);
        *chunks = 1;
        *stride = 0;
        *bytes = (pairs < want ? pairs : want) * NR * 4;
    }
}

// Backward group (16 pairs × 32 words) from the forward panel block at `src` (16 forward pairs ×
// 32 words, only the first `q` pairs present; the rest reads as zero). Read as 64-bit elements (two
// words), backward element (p, q) is forward element (q, p) with its two middle bf16 halves swapped
// (BF16Panels.repackBackward, which this equals word for word).
static inline CK_AMX __attribute__((always_inline)) __m512i swap_middle(__m512i x) {
    // 16-bit lanes of each 64-bit element: 0 1 2 3 → 0 2 1 3.
    const __m512i idx = _mm512_set_epi16(31, 29, 30, 28, 27, 25, 26, 24, 23, 21, 22, 20, 19, 17, 18, 16,
                                         15, 13, 14, 12, 11, 9, 10, 8, 7, 5, 6, 4, 3, 1, 2, 0);
    return _mm512_permutexvar_epi16(idx, x);
}

// out[j] = column j of the 8×8 matrix of 64-bit elements whose rows are r[0..7].
static inline CK_AMX __attribute__((always_inline)) void transpose8(const __m512i r[8], __m512i out[8]) {
    const __m512i lo1 = _mm512_set_epi64(14, 6, 12, 4, 10, 2, 8, 0), hi1 = _mm512_set_epi64(15, 7, 13, 5, 11, 3, 9, 1);
    const __m512i lo2 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0), hi2 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    const __m512i lo4 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0), hi4 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    __m512i a[8], b[8];
    for (int i = 0; i < 4; i++) {
        a[2 * i] = _mm512_permutex2var_epi64(r[2 * i], lo1, r[2 * i + 1]);      // cols 0 2 4 6 of rows 2i, 2i+1
        a[2 * i + 1] = _mm512_permutex2var_epi64(r[2 * i], hi1, r[2 * i + 1]);  // cols 1 3 5 7
    }
    for (int h = 0; h < 2; h++)
        for (int odd = 0; odd < 2; odd++) {
            const __m512i x = a[4 * h + odd], y = a[4 * h + 2 + odd];
            b[4 * h + odd] = _mm512_permutex2var_epi64(x, lo2, y);      // cols odd, 4+odd of rows 4h..4h+3
            b[4 * h + 2 + odd] = _mm512_permutex2var_epi64(x, hi2, y);  // cols 2+odd, 6+odd
        }
    for (int c = 0; c < 4; c++) {
        out[c] = _mm512_permutex2var_epi64(b[c], lo4, b[4 + c]);
        out[c + 4] = _mm512_permutex2var_epi64(b[c], hi4, b[4 + c]);
    }
}

static inline CK_AMX void backward_group(const uint32_t *src, size_t q, uint32_t *dst) {
    __m512i rows[16][2];
    for (size_t i = 0; i < 16; i++)
        for (int h = 0; h < 2; h++)
            rows[i][h] = i < q ? _mm512_loadu_si512(src + i * NR + 16 * h) : _mm512_setzero_si512();
    for (int qb = 0; qb < 2; qb++)      // forward pairs 8qb..<8qb+8 → backward words 16qb..<16qb+16
        for (int pb = 0; pb < 2; pb++) {  // forward columns (64-bit elements) 8pb..<8pb+8 → backward pairs
            __m512i in[8], out[8];
            for (int i = 0; i < 8; i++) in[i] = rows[8 * qb + i][pb];
            transpose8(in, out);
            for (int j = 0; j < 8; j++) _mm512_storeu_si512(dst + (8 * pb + j) * NR + 16 * qb, swap_middle(out[j]));
        }
}

// One C block (32 rows, or 16 when !two) × one panel over `groups` groups: A tiles at a0 / a1 (group g
// at + g·TILE_WORDS), B at b (group g at + g·GROUP_WORDS, rows 128 bytes apart). Issues the prefetches
// of `pf` a few per group.
static inline CK_AMX __attribute__((always_inline)) void block(
    int two, size_t groups, const uint32_t *a0, const uint32_t *a1, const uint32_t *b, float *c, size_t ldc, int load_c,
    const prefetch_list *pf) {
    const size_t sc = ldc * 4;
    const size_t reads = (pf->reads + groups - 1) / groups, writes = (pf->writes + groups - 1) / groups;
    size_t r = 0, w = 0;
    if (load_c) {
        _tile_loadd(0, c, sc); _tile_loadd(1, c + 16, sc);
        if (two) { _tile_loadd(2, c + 16 * ldc, sc); _tile_loadd(3, c + 16 * ldc + 16, sc); }
    } else {
        _tile_zero(0); _tile_zero(1);
        if (two) { _tile_zero(2); _tile_zero(3); }
    }
    for (size_t g = 0; g < groups; g++) {
        for (size_t e = r + reads < pf->reads ? r + reads : pf->reads; r < e; r++) _mm_prefetch(pf->read[r], _MM_HINT_T0);
        for (size_t e = w + writes < pf->writes ? w + writes : pf->writes; w < e; w++) _m_prefetchw(pf->write[w]);
        const uint32_t *bg = b + g * GROUP_WORDS;
        _tile_loadd(6, bg, NR * 4);
        _tile_loadd(7, bg + 16, NR * 4);
        _tile_loadd(4, a0 + g * TILE_WORDS, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        if (two) {
            _tile_loadd(5, a1 + g * TILE_WORDS, 64);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, c, sc); _tile_stored(1, c + 16, sc);
    if (two) { _tile_stored(2, c + 16 * ldc, sc); _tile_stored(3, c + 16 * ldc + 16, sc); }
}

static CK_AMX void gemm(size_t rows, size_t groups, const uint32_t *a, const b_source *src, size_t panels,
                        size_t n_valid, float *c, size_t ldc, int accumulate) {
    if (rows == 0 || panels == 0) return;
    // One k block of B for one panel when it must be built (transposed, or a short last group).
    uint32_t *buffer = aligned_alloc(64, KC * GROUP_WORDS * 4);
    prefetch_list *pf = malloc(sizeof *pf);
    if (!buffer || !pf) abort();
    const size_t row_blocks = (rows + 31) / 32;
    configure();
    for (size_t g0 = 0; g0 < groups; g0 += KC) {
        const size_t g1 = g0 + KC < groups ? g0 + KC : groups;
        for (size_t p = 0; p < panels; p++) {
            const uint32_t *bb;
            if (src->from_forward) {
                const size_t first = GROUP * (src->first_panel + p), q = src->fwd_pairs > first ? src->fwd_pairs - first : 0;
                for (size_t g = g0; g < g1; g++)
                    backward_group(src->b + (g * src->fwd_pairs + first) * NR, q < GROUP ? q : GROUP, buffer + (g - g0) * GROUP_WORDS);
                bb = buffer;
            } else {
                bb = src->b + p * src->panel_words + g0 * GROUP_WORDS;
                const size_t pairs = src->k_pairs - g0 * GROUP;
                if (pairs < (g1 - g0) * GROUP) {
                    // The last group is short: copy the block next to zeros. A zero pair adds +0 to each
                    // chain, which leaves it unchanged (a chain that starts at +0 never becomes -0), so
                    // the result is that of a short group.
                    memcpy(buffer, bb, pairs * NR * 4);
                    memset(buffer + pairs * NR, 0, ((g1 - g0) * GROUP - pairs) * NR * 4);
                    bb = buffer;
                }
            }
            // The block after this one (next panel, or the first panel of the next k block).
            const char *next = NULL;
            size_t chunks = 0, stride = 0, bytes = 0;
            if (p + 1 < panels) block_chunks(src, p + 1, g0, g1, &next, &chunks, &stride, &bytes);
            else if (g1 < groups) block_chunks(src, 0, g1, g1 + KC < groups ? g1 + KC : groups, &next, &chunks, &stride, &bytes);

            const size_t valid = n_valid - p * NR < NR ? n_valid - p * NR : NR;
            for (size_t rb = 0; rb < row_blocks; rb++) {
                const size_t i = rb * 32, r = rows - i < 32 ? rows - i : 32;
                pf->reads = pf->writes = 0;
                if (next) add_slice(pf, next, chunks, stride, bytes, rb, row_blocks);
                // The next C block (rows of this panel, or the next panel's first rows) for writing: tile
                // stores to lines not in cache wait for each line, so ask for them one block ahead.
                const size_t ni = rb + 1 < row_blocks ? i + 32 : 0, np = rb + 1 < row_blocks ? p : p + 1;
                if (np < panels) {
                    const char *cn = (const char *)(c + ni * ldc + np * NR);
                    for (size_t j = 0, nr = rows - ni < 32 ? rows - ni : 32; j < nr; j++) {
                        pf->write[pf->writes++] = cn + j * ldc * 4;
                        pf->write[pf->writes++] = cn + j * ldc * 4 + 64;
                    }
                }
                const int two = r > 16;
                const uint32_t *a0 = a + (i / 16) * groups * TILE_WORDS, *a1 = a0 + groups * TILE_WORDS;
                float *ci = c + i * ldc + p * NR;
                const int load = accumulate || g0 > 0;
                if (r == (two ? 32u : 16u) && valid == NR) {
                    block(two, g1 - g0, a0 + g0 * TILE_WORDS, a1 + g0 * TILE_WORDS, bb, ci, ldc, load, pf);
                } else {
                    // A partial block works in a 32×32 copy of C so no tile touches memory outside the
                    // caller's rows and columns.
                    float scratch[32 * 32];
                    memset(scratch, 0, sizeof scratch);
                    if (load)
                        for (size_t j = 0; j < r; j++) memcpy(scratch + j * 32, ci + j * ldc, valid * sizeof(float));
                    block(two, g1 - g0, a0 + g0 * TILE_WORDS, a1 + g0 * TILE_WORDS, bb, scratch, 32, load, pf);
                    for (size_t j = 0; j < r; j++) memcpy(ci + j * ldc, scratch + j * 32, valid * sizeof(float));
                }
            }
        }
    }
    _tile_release();
    free(pf);
    free(buffer);
}

CK_AMX void ck_bf16_gemm_amx(size_t rows, size_t k_pairs, const uint32_t *a, const uint32_t *b, size_t panels,
                             size_t n_valid, float *c, size_t ldc, int accumulate) {
    const b_source src = {.b = b, .panel_words = k_pairs * NR, .k_pairs = k_pairs, .from_forward = 0, .fwd_pairs = 0, .first_panel = 0};
    gemm(rows, (k_pairs + GROUP - 1) / GROUP, a, &src, panels, n_valid, c, ldc, accumulate);
}

CK_AMX void ck_bf16_gemm_amx_from_forward(size_t rows, size_t k_pairs, const uint32_t *a, const uint32_t *forward,
                                          size_t forward_pairs, size_t first_panel, size_t panels, size_t n_valid,
                                          float *c, size_t ldc, int accumulate) {
    const b_source src = {.b = forward, .panel_words = 0, .k_pairs = k_pairs, .from_forward = 1,
                          .fwd_pairs = forward_pairs, .first_panel = first_panel};
    gemm(rows, (k_pairs + GROUP - 1) / GROUP, a, &src, panels, n_valid, c, ldc, accumulate);
}
#else
int ck_amx_enable(void) { return 0; }
void ck_bf16_gemm_amx(size_t rows, size_t k_pairs, const uint32_t *a, const uint32_t *b, size_t panels,
                      size_t n_valid, float *c, size_t ldc, int accumulate) {
    (void)rows; (void)k_pairs; (void)a; (void)b; (void)panels; (void)n_valid; (void)c; (void)ldc; (void)accumulate;
}
void ck_bf16_gemm_amx_from_forward(size_t rows, size_t k_pairs, const uint32_t *a, const uint32_t *forward,
                                   size_t forward_pairs, size_t first_panel, size_t panels, size_t n_valid,
                                   float *c, size_t ldc, int accumulate) {
    (void)rows; (void)k_pairs; (void)a; (void)forward; (void)forward_pairs; (void)first_panel; (void)panels;
    (void)n_valid; (void)c; (void)ldc; (void)accumulate;
}
#endif
