/* dacc info: what this machine and build will use. */
#include "cli.h"
#include "flags.h"
#include "commands.h"
#include "dacc/kernels.h"
#include "core/threadpool.h"
#include <stdio.h>
#include <string.h>

static const flag_use info_flags[] = {{F_HELP, NULL, NULL, NULL, 0}};

static const flag_command info_cmd = {
    "info", "usage: dacc info",
    "Prints the CPU, the ISAs this build and CPU can run, the kernel\n"
    "chosen for every op (DACC_ISA=scalar|avx2|avx512|neon|hwy forces a path),\n"
    "the default thread count and where the MNIST data is.\n",
    info_flags, 1, NULL, 0, NULL};

int cmd_info(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&info_cmd, argc, argv, &v);
    if (code >= 0) return code;
    printf("cpu:      %s\n", dacc_cpu_description());
    printf("isas:    ");
    for (int i = 0; i < DACC_ISA_COUNT; i++)
        if (dacc_cpu_supports((dacc_isa)i)) printf(" %s", dacc_isa_name((dacc_isa)i));
    printf("\nthreads:  %d (default)\n", dacc_default_threads());
    const dacc_kernels *k = dacc_kernels_get();
    if (!k) {
        fprintf(stderr, "dacc info: %s\n", dacc_kernels_error());
        return 1;
    }
    printf("path:     %s\nkernels:\n", dacc_isa_name(k->isa));
    for (int i = 0; i < DACC_OP_COUNT; i++) printf("  %-16s %s\n", dacc_op_name((dacc_op)i), k->names[i]);
    char dir[4096];
    dacc_err e;
    if (dacc_data_resolve(NULL, 0, dir, sizeof dir, &e) == 0) printf("mnist:    %s\n", dir);
    else printf("mnist:    not found (%s); `dacc data` fetches it\n", e.msg);
    return 0;
}
