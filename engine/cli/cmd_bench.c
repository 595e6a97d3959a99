/* dacc bench: every op of every layer with every kernel table this CPU runs
 * (engine/nn/layer_bench.c), for kernel tuning. */
#include "cli.h"
#include "flags.h"
#include "commands.h"
#include "core/json.h"
#include "nn/fma_peak.h"
#include "nn/layer_bench.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static const flag_use bench_flags[] = {
    {F_ISA, NULL, NULL, NULL, 0},
    {F_LAYER, NULL, NULL, NULL, 0},
    {F_BATCH, NULL, NULL, NULL, 0},
    {F_THREADS, "threads the batch is split over, by images as in training", "1", NULL, 0},
    {F_REPS, NULL, NULL, NULL, 0},
    {F_JSON, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command bench_cmd = {
    "bench", "usage: dacc bench [--isa LIST] [--layer NAME] [--batch N] [--threads N] [--reps N] [--json]",
    "Times every op of every layer of the network (the six presets' layers:\n"
    "convolution forward, forward as in evaluation, backward-data and\n"
    "backward-weights, and bwd-both where a table runs the two in one pass as\n"
    "training does (its GFLOP/s count both ops' work); pooling, batch-norm,\n"
    "ReLU, dropout forward and backward;\n"
    "the input normalisation, the loss's softmax and the Adam step) with each\n"
    "kernel table (ISA) this CPU runs. Each op's result is first checked\n"
    "against the scalar table's (WRONG and not timed when they differ by more\n"
    "than 1e-3 of the largest value); then one warm-up sample and --reps\n"
    "samples of ~10 ms. Columns: median and fastest ms per call, GFLOP/s of\n"
    "the convolutions (2 x output x ic x k x k, padding taps included), GB/s of\n"
    "the other ops (the bytes they must read and write once), and % of the\n"
    "machine's FMA peak (threads x the best per-core GFLOP/s of the widest\n"
    "FMA loop this CPU runs, measured at the start, as bench/bench_peak).\n"
    "algo is each convolution's algorithm as the engine picks it: direct,\n"
    "winograd-f2, winograd-f4, winograd-f5 or winograd-f6 (the last two in\n"
    "evaluation's forward only), otherwise the same in training and\n"
    "evaluation (engine/nn/conv_algo.c); poly-winograd-f2/f4: a 5x5 stride-2 layer run\n"
    "as the 3x3 Winograd convolution of its input's four phases\n"
    "(engine/nn/conv_ops.h).\n"
    "A batch-norm after a ReLU is timed backward with that ReLU's backward\n"
    "merged in (channel_affine2_relu), as training runs it.\n"
    "On a busy machine the times measure the neighbours too: compare tables\n"
    "within one run.\n",
    bench_flags, sizeof bench_flags / sizeof bench_flags[0], NULL, 0, NULL};

/* --isa: a comma list of ISAs this CPU runs, as bits. */
static int parse_isas(const char *s, unsigned *out) {
    *out = 0;
    if (!s) {
        for (int i = 0; i < DACC_ISA_COUNT; i++)
            if (dacc_cpu_supports((dacc_isa)i)) *out |= 1u << i;
        return 0;
    }
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return flags_usage_error(&bench_cmd, "--isa: a list of %zu characters (expected at most %zu)", strlen(s),
                                 sizeof buf - 1);
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        dacc_isa isa;
        if (dacc_isa_parse(w, &isa))
            return flags_usage_error(&bench_cmd, "--isa: '%.40s' is not an ISA (expected scalar, avx2, avx512, neon or hwy)", w);
        if (!dacc_cpu_supports(isa))
            return flags_usage_error(&bench_cmd, "--isa: this CPU or build cannot run %s (dacc info lists those it can)", w);
        *out |= 1u << isa;
    }
    return *out ? 0 : flags_usage_error(&bench_cmd, "--isa: empty list (expected e.g. scalar,avx2)");
}

typedef struct out { int json, rows; double peak; } out;

static double pct(const out *o, const dacc_bench_row *r, double gflops) {
    return o->peak > 0 && r->flops > 0 ? 100.0 * gflops / (o->peak * r->threads) : -1;
}

static void print_json_row(out *o, const dacc_bench_row *r) {
    double g = r->ok && r->flops > 0 ? r->flops / r->med_s * 1e-9 : NAN;
    double gb = r->ok && r->bytes > 0 ? r->bytes / r->med_s * 1e-9 : NAN, p = pct(o, r, g);
    printf("%s\n  {\"layer\":", o->rows++ ? "," : "");
    dacc_json_put_str(stdout, r->layer);
    printf(",\"op\":\"%s\",\"isa\":\"%s\",\"algo\":\"%s\",\"shape\":", r->op, dacc_isa_name(r->isa), r->algo);
    dacc_json_put_str(stdout, r->shape);
    printf(",\"threads\":%d,\"checked\":%s,\"rel_err\":", r->threads, r->ok ? "true" : "false");
    dacc_json_put_num(stdout, r->rel_err, "%.3g");
    printf(",\"median_ms\":");
    dacc_json_put_num(stdout, r->ok ? r->med_s * 1e3 : NAN, "%.6g");
    printf(",\"best_ms\":");
    dacc_json_put_num(stdout, r->ok ? r->best_s * 1e3 : NAN, "%.6g");
    printf(",\"gflops\":");
    dacc_json_put_num(stdout, g, "%.4g");
    printf(",\"gb_per_s\":");
    dacc_json_put_num(stdout, gb, "%.4g");
    printf(",\"peak_pct\":");
    dacc_json_put_num(stdout, p >= 0 ? p : NAN, "%.3g");
    printf("}");
}

static int emit(void *u, const dacc_bench_row *r) {
    out *o = u;
    if (o->json) {
        print_json_row(o, r);
    } else if (!r->ok) {
        printf("%-16s %-11s %-7s %-16s WRONG RESULT (rel err %.3g vs scalar), not timed\n", r->layer, r->op,
               dacc_isa_name(r->isa), r->algo, r->rel_err);
    } else {
        double g = r->flops / r->med_s * 1e-9, p = pct(o, r, g);
        char rate[32] = "", pk[16] = "";
        if (r->flops > 0) snprintf(rate, sizeof rate, "%8.2f GFLOP/s", g);
        else if (r->bytes > 0) snprintf(rate, sizeof rate, "%8.2f GB/s", r->bytes / r->med_s * 1e-9);
        if (p >= 0) snprintf(pk, sizeof pk, "%5.1f%%", p);
        printf("%-16s %-11s %-7s %-16s %-22s %9.4f %9.4f %-16s %6s\n", r->layer, r->op, dacc_isa_name(r->isa),
               r->algo, r->shape, r->med_s * 1e3, r->best_s * 1e3, rate, pk);
    }
    fflush(stdout);
    return 0;
}

static void header(const out *o, const dacc_bench_opts *b) {
    if (o->json) {
        printf("{\"cpu\":");
        dacc_json_put_str(stdout, dacc_cpu_description());
        printf(",\"batch\":%d,\"threads\":%d,\"reps\":%d,\"peak_gflops_per_core\":", b->batch, b->threads, b->reps);
        dacc_json_put_num(stdout, o->peak > 0 ? o->peak : NAN, "%.4g");
        printf(",\"isas\":[");
        for (int i = 0, n = 0; i < DACC_ISA_COUNT; i++)
            if (b->isas >> i & 1) printf("%s\"%s\"", n++ ? "," : "", dacc_isa_name((dacc_isa)i));
        printf("],\"rows\":[");
        return;
    }
    printf("cpu: %s\nbatch %d, %d thread%s, median of %d samples after a warm-up\n", dacc_cpu_description(),
           b->batch, b->threads, b->threads == 1 ? "" : "s", b->reps);
    if (o->peak > 0) printf("FMA peak: %.1f GFLOP/s per core (measured)\n\n", o->peak);
    else printf("FMA peak: no FMA loop for this CPU; %% of peak not shown\n\n");
    printf("%-16s %-11s %-7s %-16s %-22s %9s %9s %-16s %6s\n", "layer", "op", "isa", "algo", "shape", "med ms",
           "best ms", "rate", "%peak");
}

int cmd_bench(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&bench_cmd, argc, argv, &v);
    if (code >= 0) return code;
    dacc_bench_opts b = {0, v.s[F_LAYER], 0, (int)v.i[F_BATCH], (int)v.i[F_THREADS], (int)v.i[F_REPS], 0.01};
    if (parse_isas(v.s[F_ISA], &b.isas)) return 2;
    out o = {v.set[F_JSON] != 0, 0, dacc_fma_peak_machine(15, 1000000L)};
    header(&o, &b);
    dacc_err e;
    int rc = dacc_layer_bench(&b, emit, &o, &e);
    if (o.json) printf("\n]}\n");
    if (rc) return cli_error("bench", 1, &e);
    return 0;
}
