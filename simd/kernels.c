/* The kernel table: expands every family's list into prototypes and one
 * array of implementations, then picks per op the first one the CPU runs
 * (lists are best first). Chosen once per process (pthread_once). */
#include "dacc/kernels.h"
#include "kernel-macros.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prototypes: each symbol has its op's function type. */
#define DACC_KERNEL(op, isa, sym) dacc_##op##_t sym;
#include "all-kernels.inc"
#undef DACC_KERNEL

static const dacc_kernel_impl impls[] = {
#define DACC_KERNEL(op, isa, sym) {DACC_OP_##op, isa, #sym, (void (*)(void))sym},
#include "all-kernels.inc"
#undef DACC_KERNEL
};

static const char *const isa_names[DACC_ISA_COUNT] = {"scalar", "avx2", "avx512", "neon", "hwy"};
static const char *const op_names[DACC_OP_COUNT] = {
#define X(name, type) #name,
    DACC_OPS(X)
#undef X
};

const char *dacc_isa_name(dacc_isa isa) {
    return (unsigned)isa < DACC_ISA_COUNT ? isa_names[isa] : "?";
}

int dacc_isa_parse(const char *s, dacc_isa *out) {
    for (int i = 0; i < DACC_ISA_COUNT; i++)
        if (!strcmp(s, isa_names[i])) {
            *out = (dacc_isa)i;
            return 0;
        }
    return -1;
}

const char *dacc_op_name(dacc_op op) {
    return (unsigned)op < DACC_OP_COUNT ? op_names[op] : "?";
}

const dacc_kernel_impl *dacc_kernel_impls(int *count) {
    *count = (int)(sizeof impls / sizeof impls[0]);
    return impls;
}

static void set_op(dacc_kernels *k, const dacc_kernel_impl *im) {
    switch (im->op) {
#define X(name, type)                                   \
    case DACC_OP_##name:                                \
        k->name = (type *)im->fn;                       \
        break;
        DACC_OPS(X)
#undef X
    default:
        return;
    }
    k->names[im->op] = im->name;
}

/* Fill every op with the first implementation accepted by `want`. */
static void fill(dacc_kernels *k, int (*want)(dacc_isa, dacc_isa), dacc_isa isa) {
    memset(k, 0, sizeof *k);
    k->isa = isa;
    int n;
    const dacc_kernel_impl *all = dacc_kernel_impls(&n);
    for (int i = 0; i < n; i++)
        if (!k->names[all[i].op] && want(all[i].isa, isa)) set_op(k, &all[i]);
}

static int want_exact_or_scalar(dacc_isa have, dacc_isa asked) {
    return have == asked || have == DACC_ISA_SCALAR;
}

static int want_best_supported(dacc_isa have, dacc_isa unused) {
    (void)unused;
    return dacc_cpu_supports(have);
}

int dacc_kernels_for_isa(dacc_isa isa, dacc_kernels *out) {
    if (!dacc_cpu_supports(isa)) return -1;
    fill(out, want_exact_or_scalar, isa);
    return 0;
}

static dacc_kernels chosen;
static const dacc_kernels *chosen_ptr;
static char chosen_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void) {
    const char *env = getenv("DACC_ISA");
    if (env && *env) {
        dacc_isa isa;
        if (dacc_isa_parse(env, &isa)) {
            snprintf(chosen_error, sizeof chosen_error,
                     "DACC_ISA=%s: unknown ISA (use scalar, avx2, avx512, neon or hwy)", env);
            return;
        }
        if (dacc_kernels_for_isa(isa, &chosen)) {
            snprintf(chosen_error, sizeof chosen_error,
                     "DACC_ISA=%s: this CPU or build cannot run %s kernels (CPU: %s)", env, env,
                     dacc_cpu_description());
            return;
        }
        chosen_ptr = &chosen;
        return;
    }
    /* The best path overall is the best ISA the CPU has; each op takes the
     * first supported entry of its list. */
    dacc_isa best = DACC_ISA_SCALAR;
    static const dacc_isa order[] = {DACC_ISA_AVX512, DACC_ISA_AVX2, DACC_ISA_NEON, DACC_ISA_HWY};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (dacc_cpu_supports(order[i])) {
            best = order[i];
            break;
        }
    fill(&chosen, want_best_supported, best);
    chosen_ptr = &chosen;
}

const dacc_kernels *dacc_kernels_get(void) {
    pthread_once(&once, choose);
    return chosen_ptr;
}

const char *dacc_kernels_error(void) {
    pthread_once(&once, choose);
    return chosen_error;
}
