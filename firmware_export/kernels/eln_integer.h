/* eln_integer.h: the integer-only contract of the engine's binaries, and how its helpers are declared. */
#ifndef ELN_INTEGER_H
#define ELN_INTEGER_H

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

#endif /* ELN_INTEGER_H */
