/* CPU feature detection: CPUID + XGETBV on x86 (the OS must save the wider
 * registers, not just the CPU have them), HWCAP on Arm. */
#include "dacc/kernels.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#endif

static int has[DACC_ISA_COUNT];
static char description[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void detect(void) {
    has[DACC_ISA_SCALAR] = 1;
#if defined(DACC_HAVE_HWY)
    has[DACC_ISA_HWY] = 1; /* Highway dispatches to what the CPU has itself */
#endif
    char flags[160] = "";
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    char brand[49] = "";
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        unsigned *p = (unsigned *)brand;
        for (unsigned leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &p[leaf * 4], &p[leaf * 4 + 1], &p[leaf * 4 + 2],
                        &p[leaf * 4 + 3]);
        brand[48] = 0;
    }
    int osxsave = 0, avx = 0, fma = 0, avx2 = 0, f = 0, dq = 0, bw = 0, vl = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        osxsave = (c >> 27) & 1;
        avx = (c >> 28) & 1;
        fma = (c >> 12) & 1;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        avx2 = (b >> 5) & 1;
        f = (b >> 16) & 1;
        dq = (b >> 17) & 1;
        bw = (b >> 30) & 1;
        vl = (b >> 31) & 1;
    }
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    int ymm_os = (xcr0 & 0x6) == 0x6, zmm_os = (xcr0 & 0xe6) == 0xe6;
#if defined(DACC_HAVE_AVX2)
    has[DACC_ISA_AVX2] = avx && fma && avx2 && ymm_os;
#endif
#if defined(DACC_HAVE_AVX512)
    has[DACC_ISA_AVX512] = f && dq && bw && vl && avx2 && fma && zmm_os;
#endif
    snprintf(flags, sizeof flags, "%s%s%s%s", avx2 && fma ? "avx2 fma " : "",
             f ? "avx512f " : "", bw && dq && vl ? "avx512bw/dq/vl " : "",
             zmm_os ? "(zmm state on)" : "");
    /* trim the brand string's padding */
    char *bp = brand;
    while (*bp == ' ') bp++;
    snprintf(description, sizeof description, "%s; %s", *bp ? bp : "x86-64", flags);
#elif defined(__aarch64__)
    unsigned long hw = getauxval(AT_HWCAP);
#if defined(DACC_HAVE_NEON)
    has[DACC_ISA_NEON] = (hw & HWCAP_ASIMD) != 0;
#endif
    snprintf(description, sizeof description, "aarch64; %s", (hw & HWCAP_ASIMD) ? "asimd" : "");
#else
    snprintf(description, sizeof description, "unknown CPU");
#endif
    (void)flags;
}

int dacc_cpu_supports(dacc_isa isa) {
    pthread_once(&once, detect);
    return (unsigned)isa < DACC_ISA_COUNT && has[isa];
}

const char *dacc_cpu_description(void) {
    pthread_once(&once, detect);
    return description;
}
