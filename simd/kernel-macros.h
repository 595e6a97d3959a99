/* Per-ISA entry macros for the list.inc files: an entry of an ISA this build
 * leaves out expands to nothing. Before including, define
 * DACC_KERNEL(op, isa, symbol). */
#ifndef DACC_KERNEL_MACROS_H
#define DACC_KERNEL_MACROS_H

#define DACC_KERNEL_SCALAR(op, sym) DACC_KERNEL(op, DACC_ISA_SCALAR, sym)
#if defined(DACC_HAVE_AVX2)
#define DACC_KERNEL_AVX2(op, sym) DACC_KERNEL(op, DACC_ISA_AVX2, sym)
#else
#define DACC_KERNEL_AVX2(op, sym)
#endif
#if defined(DACC_HAVE_AVX512)
#define DACC_KERNEL_AVX512(op, sym) DACC_KERNEL(op, DACC_ISA_AVX512, sym)
#else
#define DACC_KERNEL_AVX512(op, sym)
#endif
#if defined(DACC_HAVE_NEON)
#define DACC_KERNEL_NEON(op, sym) DACC_KERNEL(op, DACC_ISA_NEON, sym)
#else
#define DACC_KERNEL_NEON(op, sym)
#endif
#if defined(DACC_HAVE_HWY)
#define DACC_KERNEL_HWY(op, sym) DACC_KERNEL(op, DACC_ISA_HWY, sym)
#else
#define DACC_KERNEL_HWY(op, sym)
#endif

#endif
