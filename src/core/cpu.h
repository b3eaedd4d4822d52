/*
 * cpu.h - what the CPU we run on can do, read once from cpuid: which
 * variant of the forward's own code runs (bert_dispatch.c), which BLIS
 * configuration (gemm.c) and which reduced precisions run fast (precision.c).
 * The default build targets plain x86-64 everywhere except those variants,
 * so one binary runs on every x86-64 CPU up to the point where it says it
 * needs AVX2 + FMA (docs/MODEL.md, "One portable binary").
 */
#ifndef SV_CPU_H
#define SV_CPU_H

typedef enum sv_isa {
    SV_ISA_GENERIC, /* x86-64 (SSE2): never chosen by a loaded model      */
    SV_ISA_AVX2,    /* x86-64-v3: AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE    */
    SV_ISA_AVX512,  /* x86-64-v4: v3 + AVX-512 F, BW, CD, DQ, VL           */
} sv_isa;

typedef struct sv_cpu {
    sv_isa isa;
    int amd, intel;
    unsigned family; /* cpuid family, extended family added          */
    int avx512_bf16; /* vdpbf16ps                                    */
    int avx512_vnni; /* vpdpbusd on 512-bit registers                */
    int avx_vnni;    /* vpdpbusd on 256-bit registers (VEX)          */
    int amx_bf16, amx_int8;
} sv_cpu;

/* The features of this CPU (and OS: AVX state enabled), detected once. */
const sv_cpu *sv_cpu_get(void);
const char *sv_isa_name(sv_isa isa);

/* SCIVEC_OK when the CPU has what the forward needs (AVX2 + FMA, i.e.
 * x86-64-v3), else SCIVEC_EUNSUPPORTED with a one-line message saying so. */
int sv_cpu_check(void);

/* The BLIS configuration this CPU should use (BLIS_ARCH_TYPE's value, e.g.
 * BLIS_ARCH_SKX), or -1 to let BLIS decide; *why says which row of the table
 * in cpu.c chose it. */
int sv_cpu_blis_arch(const char **why);

#endif
