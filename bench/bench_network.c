/* Whole-network benchmark: training and inference throughput of one variant
 * through the engine's public API (dacc_model_forward/loss/backward/
 * adam_step), the peak resident memory of a process that loads MNIST, builds
 * the model and trains a few hundred batches, and a per-layer breakdown of a
 * training step.
 *
 * The breakdown instruments the bench, not the engine: the model's kernel
 * table pointer is swapped for a copy whose entries wrap the real kernels,
 * time each call per thread, and attribute it to a layer from the activation
 * tensor its pointer lies in (the layer list tells which layer reads or
 * writes that tensor). Time on a thread between two kernel calls ("gap":
 * thread-pool hand-offs, waiting for the other thread, dropout mask
 * generation, weight-gradient reduction, BN coefficient math, the loss loop)
 * is charged to the row of the kernel that ends it. The throughput figures
 * are measured separately with the real table.
 *
 * Order: peak memory first (load data, build, train --mem-batches batches,
 * read VmHWM: nothing else has been allocated yet), which doubles as the
 * warm-up; then training samples, inference samples, the breakdown, and the
 * FMA peak (engine/nn/fma_peak.c) for the "%pk" column. Every figure is the median
 * over --reps samples of about --seconds each.
 *
 * FLOPs: 2 x multiply-accumulates of the convolutions (the Linear layer
 * included, padding taps counted), forward; a training step is forward +
 * backward-weights + backward-data (none for the first conv), i.e. ~58.6
 * MFLOP per image for Original. Elementwise ops are not counted.
 *
 * Serve mode (for bench/vs_pytorch, which interleaves dacc with PyTorch in
 * one run): --serve builds the models, warms up, prints "ready", then
 * answers lines on stdin:
 *   train SECONDS          -> "train IMAGES_PER_S STEPS CPU_IMAGES_PER_S"
 *   infer BATCH SECONDS    -> "infer BATCH IMAGES_PER_S STEPS CPU_IMAGES_PER_S"
 * (CPU_IMAGES_PER_S: images per second of process CPU time per thread)
 *   mem                    -> "mem VMHWM_KB MAXRSS_KB"
 *   quit
 *
 * usage: bench_network [--variant NAME] [--threads N] [--batch 64]
 *          [--infer-batches 64,256,1024] [--reps 7] [--seconds 1.0]
 *          [--mem-batches 200] [--mnist DIR | --random] [--no-breakdown]
 *          [--serve] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"
#include "nn/model_internal.h"
#include "dacc/data.h"
#include "core/threadpool.h"

/* ---------------------------------------------------------------- FLOPs */

static void network_flops(const dacc_model *m, double *fwd, double *train) {
    double f = 0, t = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_CONV) continue;
        double mac = (double)l->oh * l->ow * l->oc * l->k * l->k * l->c;
        f += 2 * mac;
        t += 2 * mac * (l->in == 0 ? 2 : 3);
    }
    *fwd = f;
    *train = t;
}

/* ---------------------------------------------------------------- main */

static int parse_list(const char *s, int *out, int max) {
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c) break;
        s = c + 1;
    }
    return n;
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [--variant NAME] [--threads N] [--batch 64] [--infer-batches 64,256,1024]\n"
            "       [--reps 7] [--seconds 1.0] [--mem-batches 200] [--mnist DIR | --random]\n"
            "       [--no-breakdown] [--serve]\n",
            argv0);
}

static int serve(trainer *t, dacc_model *im, const dataset *d, int max_infer) {
    printf("ready\n");
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        double secs = 1;
        int b = 0;
        long steps = 0;
        if (sscanf(line, "train %lf", &secs) == 1) {
            double cips, ips = net_train_for(t, secs, &steps, &cips);
            printf("train %.2f %ld %.2f\n", ips, steps, cips);
        } else if (sscanf(line, "infer %d %lf", &b, &secs) == 2) {
            if (b < 1 || b > max_infer) {
                printf("error batch %d not in 1..%d\n", b, max_infer);
            } else {
                double cips, ips = net_infer_for(im, d, b, secs, &steps, &cips);
                printf("infer %d %.2f %ld %.2f\n", b, ips, steps, cips);
            }
        } else if (!strncmp(line, "mem", 3)) {
            printf("mem %ld %ld\n", net_status_kb("VmHWM"), net_maxrss_kb());
        } else if (!strncmp(line, "quit", 4)) {
            break;
        } else {
            printf("error unknown command\n");
        }
        fflush(stdout);
    }
    return 0;
}

/* The command line. */
typedef struct options {
    const char *vname, *mnist;
    int threads, batch, reps, mem_batches, random_data, do_breakdown, serve_mode;
    int infer_b[8], n_infer, max_infer;
    double seconds;
} options;

/* 0 on success, 1 for --help (exit 0), 2 for a usage error. */
static int parse_args(int argc, char **argv, options *o) {
    *o = (options){.vname = "Original", .threads = 1, .batch = 64, .reps = 7, .mem_batches = 200,
                   .do_breakdown = 1, .infer_b = {64, 256, 1024}, .n_infer = 3, .seconds = 1.0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--random")) o->random_data = 1;
        else if (!strcmp(a, "--no-breakdown")) o->do_breakdown = 0;
        else if (!strcmp(a, "--serve")) o->serve_mode = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        else if (!v) return 2;
        else {
            i++;
            if (!strcmp(a, "--variant")) o->vname = v;
            else if (!strcmp(a, "--threads")) o->threads = atoi(v);
            else if (!strcmp(a, "--batch")) o->batch = atoi(v);
            else if (!strcmp(a, "--infer-batches")) o->n_infer = parse_list(v, o->infer_b, 8);
            else if (!strcmp(a, "--reps")) o->reps = atoi(v);
            else if (!strcmp(a, "--seconds")) o->seconds = atof(v);
            else if (!strcmp(a, "--mem-batches")) o->mem_batches = atoi(v);
            else if (!strcmp(a, "--mnist")) o->mnist = v;
            else return 2;
        }
    }
    if (o->threads < 1 || o->batch < 1 || o->reps < 1 || o->reps > 64 || o->n_infer < 1 || o->seconds <= 0)
        return 2;
    o->max_infer = 0;
    for (int i = 0; i < o->n_infer; i++) {
        if (o->infer_b[i] < 1) return 2;
        if (o->infer_b[i] > o->max_infer) o->max_infer = o->infer_b[i];
    }
    return 0;
}

/* What the memory phase saw: RSS before and after loading the data, the
 * peaks after training, the losses and how long it took. */
typedef struct mem_phase {
    long rss0, rss_data, hwm, maxrss;
    double loss0, loss, warm;
} mem_phase;

/* Phase 1, peak memory of data + model + a few hundred training batches
 * (also the warm-up): loads d, builds and trains m, then builds the eval
 * model im with m's weights. Prints the error and returns 1 on failure. */
static int setup(const options *o, const dacc_variant *var, dataset *d, dacc_model *m, dacc_model *im,
                 trainer *t, mem_phase *mp) {
    dacc_err e;
    mp->rss0 = net_status_kb("VmRSS");
    if (net_load_data(o->mnist, o->random_data, d)) {
        fprintf(stderr, "bench_network: cannot load data\n");
        return 1;
    }
    mp->rss_data = net_status_kb("VmRSS");
    if (dacc_model_init(m, var, o->batch, o->threads, 42, &e)) {
        fprintf(stderr, "bench_network: %s\n", e.msg);
        return 1;
    }
    *t = (trainer){m, d, o->batch, 0, 0};
    double t0 = bench_now();
    mp->loss0 = mp->loss = net_train_step(t);
    for (int i = 1; i < o->mem_batches; i++) mp->loss = net_train_step(t);
    mp->warm = bench_now() - t0;
    mp->hwm = net_status_kb("VmHWM");
    mp->maxrss = net_maxrss_kb();
    if (!isfinite(mp->loss)) {
        fprintf(stderr, "bench_network: training diverged (loss %g)\n", mp->loss);
        return 1;
    }
    if (dacc_model_init(im, var, o->max_infer, o->threads, 42, &e)) {
        fprintf(stderr, "bench_network: %s\n", e.msg);
        return 1;
    }
    memcpy(im->params, m->params, sizeof(float) * m->n_params);
    memcpy(im->buffers, m->buffers, sizeof(float) * m->n_buffers);
    return 0;
}

/* The lines about the machine, the model, the FLOPs and the memory phase. */
static void print_setup(const options *o, const dacc_variant *var, const dataset *d, const dacc_model *m,
                        const mem_phase *mp, double fwd_flop, double train_flop) {
    printf("cpu: %s\n", dacc_cpu_description());
    char sw[128];
    dacc_variant_switches(var, sw, sizeof sw);
    printf("variant %s (%s), %d thread%s, training batch %d; data: %s\n", var->name, sw, o->threads,
           o->threads > 1 ? "s" : "", o->batch, d->source);
    printf("kernels:");
    for (int op = 0; op < DACC_OP_COUNT; op++)
        if (op == DACC_OP_conv_fwd || op == DACC_OP_conv_bwd_data || op == DACC_OP_conv_bwd_filter)
            printf(" %s", m->k->names[op]);
    printf(" (isa %s)\n", dacc_isa_name(m->k->isa));
    printf("FLOP per image: forward %.2f M, training step %.2f M (2 x conv MACs; fwd + bwd-weights + "
           "bwd-data)\n", fwd_flop * 1e-6, train_flop * 1e-6);
    printf("%d samples of >= %.2f s each; figures are medians (min..max in brackets)\n\n", o->reps,
           o->seconds);

    printf("Memory (process that loaded the data, built the model and trained %d batches of %d,\n"
           "loss %.3f -> %.3f, %.1f s):\n", o->mem_batches, o->batch, mp->loss0, mp->loss, mp->warm);
    printf("  peak RSS: VmHWM %.1f MB, ru_maxrss %.1f MB\n", mp->hwm / 1024.0, mp->maxrss / 1024.0);
    printf("  of which: start %.1f MB, training data %.1f MB (%lld images), model arenas %.1f MB\n\n",
           mp->rss0 / 1024.0, (mp->rss_data - mp->rss0) / 1024.0, (long long)d->n,
           net_model_bytes(m) / 1048576.0);
}

/* Images/s of one row of the throughput table: median and range on the
 * wall clock, median on process CPU time per thread. */
typedef struct rate { double wall, cpu, lo, hi; } rate;

static rate rate_of(const double *s, const double *sc, int reps) {
    rate r = {net_median(s, reps), net_median(sc, reps), s[0], s[0]};
    for (int i = 0; i < reps; i++) {
        r.lo = fmin(r.lo, s[i]);
        r.hi = fmax(r.hi, s[i]);
    }
    return r;
}

/* Phase 2: training and inference throughput, printed as a table against
 * the FMA peak. tr = training, inf[i] = inference at infer_b[i]. */
static void throughput(const options *o, trainer *t, dacc_model *im, const dataset *d, double fwd_flop,
                       double train_flop, rate *tr, rate *inf) {
    double *s = calloc(o->reps, sizeof(double)), *sc = calloc(o->reps, sizeof(double));
    for (int r = 0; r < o->reps; r++) s[r] = net_train_for(t, o->seconds, NULL, &sc[r]);
    *tr = rate_of(s, sc, o->reps);
    for (int i = 0; i < o->n_infer; i++) {
        net_infer_for(im, d, o->infer_b[i], 0.2, NULL, NULL); /* warm-up at this size */
        for (int r = 0; r < o->reps; r++) s[r] = net_infer_for(im, d, o->infer_b[i], o->seconds / 2, NULL, &sc[r]);
        inf[i] = rate_of(s, sc, o->reps);
    }
    free(s);
    free(sc);
    /* the peak is a ceiling: the best run of the FMA loop (engine/nn/fma_peak.c) */
    dacc_isa pisa = dacc_cpu_supports(DACC_ISA_AVX512) ? DACC_ISA_AVX512 : DACC_ISA_AVX2;
    double peak = dacc_fma_peak(pisa, 1, 15, 1000000L, 1);
    printf("%-22s %9s %18s %9s %6s %11s %6s\n", "", "images/s", "(min..max)", "GFLOP/s", "%pk",
           "cpu img/s", "%pk");
    for (int i = -1; i < o->n_infer; i++) {
        char label[32];
        const rate *x = i < 0 ? tr : &inf[i];
        double w = x->wall, c = x->cpu, f = i < 0 ? train_flop : fwd_flop;
        if (i < 0) snprintf(label, sizeof label, "training, batch %d", o->batch);
        else snprintf(label, sizeof label, "inference, batch %d", o->infer_b[i]);
        double pw = peak > 0 ? 100 * w * f * 1e-9 / (peak * o->threads) : 0;
        double pc = peak > 0 ? 100 * c * f * 1e-9 / (peak * o->threads) : 0;
        printf("%-22s %9.0f %8.0f..%-8.0f %9.1f %6.1f %11.0f %6.1f\n", label, w, x->lo, x->hi, w * f * 1e-9,
               pw, c, pc);
    }
    if (peak > 0)
        printf("%%pk: of %d x %.1f GFLOP/s (%s FMA peak per core, best run of bench_peak's loop)\n",
               o->threads, peak, dacc_isa_name(pisa));
    printf("cpu img/s: images per second of process CPU time per thread (descheduled time left out)\n");
    printf("epoch of 60000 at this rate: %.1f s training\n", 60000.0 / tr->wall);
}

int main(int argc, char **argv) {
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        usage(argv[0]);
        return rc == 1 ? 0 : 2;
    }
    dacc_variant var;
    dacc_err e;
    if (dacc_variant_parse(o.vname, &var, &e)) {
        fprintf(stderr, "bench_network: %s\n", e.msg);
        return 2;
    }
    dataset d;
    dacc_model m, im;
    trainer t;
    mem_phase mp;
    if (setup(&o, &var, &d, &m, &im, &t, &mp)) return 1;
    if (o.serve_mode) {
        rc = serve(&t, &im, &d, o.max_infer);
        dacc_model_free(&im);
        dacc_model_free(&m);
        return rc;
    }
    double fwd_flop, train_flop;
    network_flops(&m, &fwd_flop, &train_flop);
    print_setup(&o, &var, &d, &m, &mp, fwd_flop, train_flop);
    rate tr, inf[8];
    throughput(&o, &t, &im, &d, fwd_flop, train_flop, &tr, inf);
    /* 3. breakdown */
    if (o.do_breakdown) {
        net_breakdown(&t, 0, o.reps, o.seconds / 2);
        trainer ti = {&im, &d, o.batch <= o.max_infer ? o.batch : o.max_infer, 0, 0};
        net_breakdown(&ti, 1, o.reps, o.seconds / 2);
    }
    printf("\nRESULT variant=%s threads=%d batch=%d train_ips=%.1f", var.name, o.threads, o.batch, tr.wall);
    for (int i = 0; i < o.n_infer; i++) printf(" infer%d_ips=%.1f", o.infer_b[i], inf[i].wall);
    printf(" vmhwm_mb=%.1f maxrss_mb=%.1f\n", mp.hwm / 1024.0, mp.maxrss / 1024.0);
    dacc_model_free(&im);
    dacc_model_free(&m);
    free(d.pixels);
    free(d.labels);
    return 0;
}
