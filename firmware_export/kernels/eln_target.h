/* eln_target.h: the compile-time path of this build, the integer-only contract of the engine's binaries,
 * and how its helpers are declared. */
#ifndef ELN_TARGET_H
#define ELN_TARGET_H

/* Four compile-time paths, chosen by the compiler's feature macros, exactly one macro defined, all
 * bit-identical. Every kernel is one function with the paths side by side, the portable loop last:
 * - Helium (ELN_MVE, from __ARM_FEATURE_MVE: Cortex-M55/M85 with MVE): VMLADAVA on int8 vectors, im2col
 *   columns, exact vector requantization (eln_requant_mve.h; docs/helium.md). Feature maps between Helium
 *   kernels are channel-last (H, W, C), and the weights have their own layout (layout_mve.py). MVE
 *   instructions need coprocessors CP10/CP11 enabled (CPACR bits 20-23, as for the FPU; example/startup.c
 *   sets them); no FP instruction is used;
 * - DSP (ELN_DSP, from __ARM_FEATURE_DSP: Cortex-M4/M7/M33, M55 without MVE): SMLAD on 16-bit pairs, int8
 *   weights widened at run time (ELN_CONV_INT8, ELN_FC_INT8: export-c --optimize size) or stored as pairs
 *   (speed);
 * - Thumb (ELN_THUMB: an ARM core without the DSP extension, Cortex-M0/M0+/M3): int8 weights, no zero
 *   padding, unconnected input maps skipped; within it ELN_THUMB1 marks the ARMv6-M instruction set of
 *   Cortex-M0/M0+ (Thumb-1: 8 low registers, no 64-bit multiply), which has inline-asm loops of its own;
 * - host (none of them): the portable C loops, shaped for compilers that vectorise.
 * Chosen here, once, ahead of the integer-only region below: GCC's target pragma defines the feature
 * macros again, which would undo a -U__ARM_FEATURE_DSP (the Thumb path on a DSP core, for comparisons). */
#if defined(__ARM_FEATURE_MVE)
#define ELN_MVE 1
#elif defined(__ARM_FEATURE_DSP)
#define ELN_DSP 1
#elif defined(__arm__) || defined(__thumb__)
#define ELN_THUMB 1
#if defined(__thumb__) && !defined(__thumb2__)
#define ELN_THUMB1 1
#endif
#endif

/* Integer-only binaries: the engine's functions use the core registers only, so an engine built for a
 * core with an FPU (Cortex-M4F, M7, M33, M55 without MVE) runs with the FPU off and needs no FP context
 * in an RTOS task. GCC otherwise keeps 64-bit constants in D registers or spills to S registers, and
 * vectorises with MVE: GCC compiles the engine with general-regs-only (clang uses core registers for
 * integer code by itself; tests/e2e/test_c_targets.py disassembles both). The Helium path is the
 * exception: builds with __ARM_FEATURE_MVE use the vector registers on purpose.
 * The engine wraps everything it defines in ELN_INTEGER_BEGIN ... ELN_INTEGER_END. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__arm__) && !defined(__ARM_FEATURE_MVE)
#define ELN_INTEGER_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"general-regs-only\")")
#define ELN_INTEGER_END _Pragma("GCC pop_options")
#else
#define ELN_INTEGER_BEGIN
#define ELN_INTEGER_END
#endif

/* The helpers pasted into the engine: not every model uses every one, and clang warns about an unused
 * static function of the main file. */
#if defined(__GNUC__)
#define ELN_INLINE static inline __attribute__((__unused__))
#else
#define ELN_INLINE static inline
#endif

#endif /* ELN_TARGET_H */
