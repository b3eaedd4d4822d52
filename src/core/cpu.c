/*
 * cpu.c - the CPU's features from cpuid, once (see cpu.h), and the table
 * that picks BLIS's configuration from them.
 */
#include <blis.h>
#include <stddef.h>

#include "core/cpu.h"
#include "core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* Every register state the OS saves (XCR0), 0 without XSAVE. */
static unsigned long long os_saved_state(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static void detect(sv_cpu *cpu) {
    // libgcc's detection also checks that the OS saves the AVX / AVX-512 state
    __builtin_cpu_init();
    // the features of -march=x86-64-v3 / -v4, spelled out: clang 14 (the
    // fuzz build) knows no "x86-64-v4" here
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
    if (v4)
        cpu->isa = SV_ISA_AVX512;
    else if (v3)
        cpu->isa = SV_ISA_AVX2;
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
        cpu->amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;   /* AuthenticAMD */
        cpu->intel = ebx == 0x756e6547 && edx == 0x49656e69 && ecx == 0x6c65746e; /* GenuineIntel */
    }
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        cpu->family = ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff);
    if (cpu->isa < SV_ISA_AVX2 || __get_cpuid_max(0, NULL) < 7) return;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    int avx512 = cpu->isa == SV_ISA_AVX512;
    cpu->avx512_vnni = avx512 && (ecx & (1u << 11));
    int amx_os = (os_saved_state() & (3ull << 17)) == (3ull << 17); /* XTILECFG, XTILEDATA */
    cpu->amx_bf16 = amx_os && (edx & (1u << 22)) && (edx & (1u << 24));
    cpu->amx_int8 = amx_os && (edx & (1u << 25)) && (edx & (1u << 24));
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    cpu->avx_vnni = (eax & (1u << 4)) != 0;
    cpu->avx512_bf16 = avx512 && (eax & (1u << 5));
}
#else
static void detect(sv_cpu *cpu) { (void)cpu; }
#endif

/* Detected on first use; the answer never changes, so a race between two
 * first callers only writes the same values twice. */
const sv_cpu *sv_cpu_get(void) {
    static sv_cpu cpu;
    static volatile int done;
    if (!done) {
        sv_cpu fresh = {0};
        detect(&fresh);
        cpu = fresh;
        done = 1;
    }
    return &cpu;
}

const char *sv_isa_name(sv_isa isa) {
    switch (isa) {
        case SV_ISA_AVX512: return "avx512";
        case SV_ISA_AVX2: return "avx2";
        default: return "generic";
    }
}

int sv_cpu_check(void) {
    if (sv_cpu_get()->isa >= SV_ISA_AVX2) return SCIVEC_OK;
    return sv_error(SCIVEC_EUNSUPPORTED,
                    "this CPU lacks AVX2 + FMA (x86-64-v3), which scivec's kernels need "
                    "(Intel Haswell / AMD Zen or newer)");
}

int scivec_cpu_check(void) { return sv_cpu_check(); }

/* Which BLIS configuration, by CPU (BLIS 0.9 as Debian 12 ships it):
 *
 *   CPU                                 BLIS config  why
 *   AMD family 0x19 (Zen 3, Zen 4)      zen3         AVX2 kernels; Zen 4 splits 512-bit
 *                                                    operations, so skx is no faster
 *                                                    (100-108 GFLOP/s either way)
 *   AMD family >= 0x1A (Zen 5) AVX-512  skx          full-width AVX-512: 1.71x zen3
 *                                                    end to end (docs/PERFORMANCE.md)
 *   AMD family >= 0x1A without AVX-512  zen3         BLIS 0.9 does not know the family
 *                                                    and would run its reference kernels
 *   Intel with AVX-512 (x86-64-v4)      skx          BLIS's own choice on most, made
 *                                                    explicit
 *   anything else                       BLIS decides (haswell, zen, zen2, ...)
 *
 * BLIS_ARCH_TYPE set by the user always wins (gemm.c). */
int sv_cpu_blis_arch(const char **why) {
    const sv_cpu *cpu = sv_cpu_get();
    if (cpu->amd && cpu->family == 0x19 && cpu->isa >= SV_ISA_AVX2) {
        *why = "AMD family 0x19 (Zen 3/4)";
        return BLIS_ARCH_ZEN3;
    }
    if (cpu->amd && cpu->family > 0x19 && cpu->isa == SV_ISA_AVX512) {
        *why = "AMD family >= 0x1A with AVX-512 (Zen 5)";
        return BLIS_ARCH_SKX;
    }
    if (cpu->amd && cpu->family > 0x19 && cpu->isa == SV_ISA_AVX2) {
        *why = "AMD family >= 0x1A without AVX-512";
        return BLIS_ARCH_ZEN3;
    }
    if (cpu->intel && cpu->isa == SV_ISA_AVX512) {
        *why = "Intel with AVX-512";
        return BLIS_ARCH_SKX;
    }
    *why = "BLIS's own detection";
    return -1;
}
