/*
 * kernel_variant.h - renames bert.c's external functions when it is compiled
 * as one of its instruction-set variants (CMakeLists.txt builds it three
 * times: generic x86-64, x86-64-v3 = AVX2 + FMA, x86-64-v4 = AVX-512, each
 * with -DSV_ISA=generic|avx2|avx512). bert_dispatch.c defines the plain names
 * and forwards every call to the variant the CPU can run (cpu.h).
 *
 * Included first by bert.c, so bert.h's prototypes are renamed with it.
 */
#ifndef SV_KERNEL_VARIANT_H
#define SV_KERNEL_VARIANT_H

#ifdef SV_ISA
#define SV_ISA_CAT2(name, isa)  name##_##isa
#define SV_ISA_CAT(name, isa)   SV_ISA_CAT2(name, isa)
#define sv_bert_workspace_free  SV_ISA_CAT(sv_bert_workspace_free, SV_ISA)
#define sv_layernorm_row        SV_ISA_CAT(sv_layernorm_row, SV_ISA)
#define sv_bert_forward         SV_ISA_CAT(sv_bert_forward, SV_ISA)
#define sv_bert_forward_adapter SV_ISA_CAT(sv_bert_forward_adapter, SV_ISA)
#define sv_bert_forward_cls     SV_ISA_CAT(sv_bert_forward_cls, SV_ISA)
#endif

#endif
