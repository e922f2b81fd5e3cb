#include "ckernels.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

void ck_detect_cpu(ck_cpu_features *out) {
    memset(out, 0, sizeof *out);
    unsigned a, b, c, d;
    unsigned maxLeaf = __get_cpuid_max(0, 0);
    if (maxLeaf < 1) return;
    __cpuid(1, a, b, c, d);
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    // The OS must save YMM (bits 1-2), ZMM/opmask (5-7) and AMX tile (17-18) state for them to be usable.
    int ymmOS = (xcr0 & 0x6) == 0x6, zmmOS = ymmOS && (xcr0 & 0xE0) == 0xE0, tileOS = (xcr0 & 0x60000) == 0x60000;
    out->fma = fma && avx && ymmOS;
    if (maxLeaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        out->avx2 = ((b >> 5) & 1) && ymmOS;
        out->avx512f = ((b >> 16) & 1) && zmmOS;
        out->avx512vnni = ((c >> 11) & 1) && zmmOS;
        out->amx = ((d >> 24) & 1) && tileOS;  // AMX-TILE
        out->amxbf16 = out->amx && ((d >> 22) & 1);
        unsigned subleaves = a;
        if (subleaves >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            out->avx512bf16 = ((a >> 5) & 1) && zmmOS;
        }
    }
    if (__get_cpuid_max(0x80000000, 0) >= 0x80000004) {
        unsigned *w = (unsigned *)out->brand;
        for (unsigned leaf = 0; leaf < 3; leaf++) __cpuid(0x80000002 + leaf, w[4 * leaf], w[4 * leaf + 1], w[4 * leaf + 2], w[4 * leaf + 3]);
        out->brand[48] = 0;
    }
}
#else
void ck_detect_cpu(ck_cpu_features *out) { memset(out, 0, sizeof *out); }
#endif
