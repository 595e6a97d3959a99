/* dacc: the command-line entry point. Dispatches to a subcommand; one table,
 * so --help, unknown-command errors and the README list stay in step. */
#include "commands.h"
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifndef DACC_VERSION
#ifndef DACC_VERSION
#error "DACC_VERSION comes from project() in CMakeLists.txt"
#endif
#endif

static const dacc_command commands[] = {
    {"run", cmd_run, "the study: train all variants, evaluate clean and AlignMNIST, report"},
    {"train", cmd_train, "train one variant and save a checkpoint"},
    {"eval", cmd_eval, "evaluate a checkpoint on MNIST (and AlignMNIST)"},
    {"info", cmd_info, "CPU, chosen kernels, build, data found"},
    {"data", cmd_data, "fetch and verify MNIST"},
    {"export", cmd_export, "write a checkpoint's weights as .npz with PyTorch names"},
    {"align", cmd_align, "make the AlignMNIST-layout sets (or --fit the class model)"},
    {"show", cmd_show, "print a digit and its AlignMNIST transformations as ASCII art"},
    {"import", cmd_import, "read PyTorch-named weights from .npz into a checkpoint"},
    {"watch", cmd_watch, "live dashboard over a run directory (read-only; --plain for logs)"},
    {"report", cmd_report, "merge run directories/shards: tables with intervals and tests vs Original"},
    {"bench", cmd_bench, "time every op of every layer with each kernel table (for kernel tuning)"},
    {"plan", cmd_plan, "list a study's tasks in run order and the shard that runs each"},
};

static void usage(FILE *f) {
    fprintf(f, "dacc %s: how robust are small image classifiers?\n\n"
               "usage: dacc <command> [options]   (dacc <command> --help for details)\n\n"
               "commands:\n", DACC_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

/* glibc maps a block of at least its threshold on its own and unmaps it
 * at free, but raises the threshold to the size of each such block freed
 * (up to 32 MB) and keeps up to twice that free in a heap: once a study's
 * first model is freed, the next models of each job come from that job's
 * heap, which then holds its largest footprint so far for the rest of the
 * run (a 6-task study with 2 jobs grew by ~8 MB, docs/PERFORMANCE.md).
 * Fixing the threshold at glibc's starting value (128 KB) turns the
 * raising off: models and evaluation buffers go back when freed. */
static void malloc_policy(void) {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

int main(int argc, char **argv) {
    malloc_policy();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dacc %s\n", DACC_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dacc: unknown command '%s' (try dacc --help)\n", argv[1]);
    return 2;
}
