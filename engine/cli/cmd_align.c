/* dacc align: make the AlignMNIST-layout sets (train and test) in the cache,
 * or, with --fit, fit the per-class deformation model anew and write it. */
#include "cli.h"
#include "flags.h"
#include "commands.h"
#include "dacc/align.h"
#include "dacc/alignmnist.h"
#include "dacc/data.h"
#include "dacc/fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const flag_use align_flags[] = {
    {F_FIT, NULL, NULL, NULL, 0},
    {F_PAIRS, NULL, NULL, NULL, 0},
    {F_FIT_SEED, NULL, NULL, NULL, 0},
    {F_BLOCKS, "transformed blocks per set", NULL, "B", 0},
    {F_SEED, "sampling seed of the deformations", NULL, NULL, 0},
    {F_SCALE, NULL, NULL, NULL, 0},
    {F_THREADS, "worker threads (default: all CPUs); results do not depend on T", NULL, "T", 0},
    {F_OUT, "where files go (default <cache>/alignmnist; the cache is\n"
            "$DACC_DATA if set, else ~/.cache/dacc)", NULL, NULL, 0},
    {F_DATA, "MNIST IDX files from DIR instead of the cache", NULL, NULL, 0},
    {F_MODEL, NULL, NULL, NULL, 0},
    {F_PRIOR, NULL, NULL, NULL, 0},
    {F_LAMBDA, NULL, NULL, NULL, 0},
    {F_BOUNDARY, NULL, NULL, NULL, 0},
    {F_MEASURE, NULL, NULL, NULL, 0},
    {F_LIMIT, NULL, NULL, NULL, 0},
    {F_QUIET, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command align_cmd = {
    "align",
    "usage: dacc align [--fit] [--pairs N] [--blocks B] [--seed S] [--scale s]\n"
    "                  [--threads T] [--out DIR] [--data DIR] [--model FILE]\n"
    "                  [--fit-seed S] [--prior smooth|isotropic] [--lambda X]\n"
    "                  [--boundary free|zero] [--quiet]\n"
    "       dacc align --measure FILE [--limit N] [--threads T] [--data DIR]",
    "Makes AlignMNIST-layout files for the MNIST training set (60000 images) and\n"
    "test set (10000): x.npy uint8 (N*(B+1),28,28) with block 0 = the originals\n"
    "in file order and blocks 1..B = one random class-dependent deformation of\n"
    "every image; y.npy float64 labels. Prints their paths. Files already in the\n"
    "cache with the same parameters are reused (the names carry a hash of the\n"
    "class model, the images, B, S and s).\n"
    "\n"
    "The deformations come from a per-class Gaussian over CPAB warps, learned by\n"
    "aligning random same-class pairs (docs/ALIGNMNIST.md). The model is taken\n"
    "from --model, else the cache, else the one shipped in engine/align/ when it\n"
    "was fitted with the same settings on the same images, else fitted now\n"
    "(minutes) and cached. Each set records the displacement statistics of its\n"
    "deformations (printed here and by dacc show).\n",
    align_flags, sizeof align_flags / sizeof align_flags[0],
    "examples:\n"
    "  dacc align                                  # the default sets (~30 s on 2 cores)\n"
    "  dacc align --fit --pairs 1000 --out engine/align  # remake the shipped model\n"
    "  dacc align --blocks 2 --scale 0.5           # milder deformations\n"
    "\n"
    "exit codes: 0 ok, 1 runtime error, 2 usage error\n",
    0, NULL};

static void print_model(const dacc_align_model *m, const char *path) {
    printf("class model %s\n", path);
    printf("  tessellation [%d,%d], %s boundary, d = %d, %d pairs per class (seed %llu),\n"
           "  %s prior",
           m->fit.nx, m->fit.ny, m->fit.zero_boundary ? "zero" : "free", m->d,
           m->fit.pairs_per_class, (unsigned long long)m->fit.seed,
           m->fit.prior == DACC_PRIOR_SMOOTH ? "smooth" : "isotropic");
    if (m->fit.prior == DACC_PRIOR_SMOOTH)
        printf(" (length %g x centroid spacing, linear/translation std %g)", m->fit.prior_length,
               m->fit.prior_lin_ratio);
    printf(", lambda %g, noise %g,\n"
           "  blur %g px, trim %g, coarse-to-fine %s, integration %d steps / %d substeps\n",
           m->fit.lambda, m->fit.noise, m->fit.blur, m->fit.trim, m->fit.coarse_to_fine ? "on" : "off",
           m->fit.nsteps, m->fit.nsub);
    printf("  class  kept  rms before  rms after  theta rms\n");
    for (int k = 0; k < m->nclasses; k++)
        printf("  %5d %5d  %10.4f %10.4f %10.4f\n", k, m->kept[k], m->rms_before[k], m->rms_after[k],
               m->theta_rms[k]);
}

/* --fit: fits the class model on train and writes it to --out (or the
 * cache's alignmnist folder). */
static int align_fit(const dacc_align_options *o, const dacc_images *train, const char *mnist, double t0) {
    char dir[4096], path[4200];
    dacc_err e;
    if (o->cache_dir) {
        snprintf(dir, sizeof dir, "%s", o->cache_dir);
    } else {
        char base[4000];
        if (dacc_data_cache_dir(base, sizeof base, &e)) return cli_error("align", 1, &e);
        snprintf(dir, sizeof dir, "%s/alignmnist", base);
    }
    if (mkdir(dir, 0755) != 0) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "dacc align: %s: cannot create the output folder\n", dir);
            return 1;
        }
    }
    dacc_align_settings s;
    dacc_align_options_fit_settings(o, &s);
    snprintf(path, sizeof path, "%s/alignclass-%dx%d.bin", dir, s.nx, s.ny);
    dacc_align_model m;
    if (dacc_align_model_fit(&s, train, o->threads, o->verbose, &m, &e)) return cli_error("align", 1, &e);
    if (dacc_align_model_save(&m, path, &e)) {
        dacc_align_model_free(&m);
        return cli_error("align", 1, &e);
    }
    print_model(&m, path);
    char hex[65];
    if (dacc_sha256_file(path, hex, &e) == 0) printf("  sha256 %s\n", hex);
    printf("  fitted in %.1f s on %d threads from %s\n", dacc_now_s() - t0, o->threads, mnist);
    dacc_align_model_free(&m);
    return 0;
}

/* Prints the recorded displacement statistics of a generated set. */
static void print_displacement(const char *path, const dacc_images *base) {
    dacc_alignmnist *a;
    dacc_err e;
    dacc_disp_stats ds;
    if (dacc_alignmnist_open(path, base, &a, &e)) {
        fprintf(stderr, "dacc align: %s\n", e.msg);
        return;
    }
    int have = dacc_alignmnist_displacement(a, &ds, &e);
    if (have == 0) dacc_disp_stats_print(&ds, "  ");
    if (have < 0) fprintf(stderr, "dacc align: %s\n", e.msg);
    dacc_alignmnist_close(a);
}

/* --measure FILE: registers every transformed image back to its original.
 * Block 0 is checked against the MNIST training set, then the test set. */
static int align_measure(const char *path, const dacc_align_options *o, const dacc_images *train,
                         const dacc_images *test, long limit, double t0) {
    dacc_align_settings s;
    dacc_align_options_fit_settings(o, &s);
    dacc_disp_stats ds;
    dacc_err e, e2;
    int rc = dacc_align_measure(path, train, &s, limit, o->threads, o->verbose, &ds, &e);
    if (rc && dacc_align_measure(path, test, &s, limit, o->threads, o->verbose, &ds, &e2) == 0) rc = 0;
    if (rc) return cli_error("align", 1, &e);
    printf("%s: displacement estimated by registration (%s prior, lambda %g, %s boundary),\n"
           "  %s images per block, %.0f s\n",
           path, s.prior == DACC_PRIOR_SMOOTH ? "smooth" : "isotropic", s.lambda,
           s.zero_boundary ? "zero" : "free", limit > 0 ? "the first N" : "all", dacc_now_s() - t0);
    if (limit > 0) printf("  N = %ld\n", limit);
    dacc_disp_stats_print(&ds, "  ");
    return 0;
}

/* The sets: finds (or fits) the class model, then makes or reuses both. */
static int align_sets(dacc_align_options *o, const dacc_images *train, const dacc_images *test, double t0) {
    char trp[4096], tep[4096], mpath[4096];
    dacc_align_model m;
    dacc_err e;
    /* find (or fit) the model first so its provenance can be printed */
    if (dacc_align_model_ensure(o, train, &m, mpath, sizeof mpath, &e)) return cli_error("align", 1, &e);
    if (o->verbose) print_model(&m, mpath);
    dacc_align_model_free(&m);
    o->class_model = mpath;
    if (dacc_alignmnist_ensure(o, train, test, trp, tep, sizeof trp, &e)) return cli_error("align", 1, &e);
    printf("train %s\n", trp);
    print_displacement(trp, train);
    printf("test  %s\n", tep);
    print_displacement(tep, test);
    if (o->verbose)
        fprintf(stderr, "align: %d blocks, seed %llu, scale %g: ready in %.1f s\n", o->blocks,
                (unsigned long long)o->seed, o->scale, dacc_now_s() - t0);
    return 0;
}

int cmd_align(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&align_cmd, argc, argv, &v);
    if (code >= 0) return code;
    int fit = v.set[F_FIT];
    if (fit && v.set[F_MODEL])
        return flags_usage_error(&align_cmd, "--fit makes a model; it cannot be combined with --model");
    dacc_align_options o;
    dacc_align_options_default(&o);
    o.verbose = !v.set[F_QUIET];
    o.pairs_per_class = (int)v.i[F_PAIRS];
    o.blocks = (int)v.i[F_BLOCKS];
    o.seed = (uint64_t)v.i[F_SEED];
    o.fit_seed = (uint64_t)v.i[F_FIT_SEED];
    o.scale = v.r[F_SCALE];
    if (v.set[F_THREADS]) o.threads = (int)v.i[F_THREADS];
    o.cache_dir = v.s[F_OUT];
    o.class_model = v.s[F_MODEL];
    o.prior = v.i[F_PRIOR] ? DACC_PRIOR_ISOTROPIC : DACC_PRIOR_SMOOTH;
    o.lambda = v.r[F_LAMBDA];
    o.zero_boundary = (int)v.i[F_BOUNDARY];
    if (v.set[F_MEASURE] && (fit || v.set[F_MODEL]))
        return flags_usage_error(&align_cmd, "--measure cannot be combined with --fit or --model");
    dacc_images train = {0}, test = {0};
    char mnist[4096];
    dacc_err e;
    if (cli_load_mnist(v.s[F_DATA], &train, fit ? NULL : &test, mnist, sizeof mnist, &e))
        return cli_error("align", 1, &e);
    double t0 = dacc_now_s();
    if (v.set[F_MEASURE])
        code = align_measure(v.s[F_MEASURE], &o, &train, &test, v.set[F_LIMIT] ? (long)v.i[F_LIMIT] : 0, t0);
    else
        code = fit ? align_fit(&o, &train, mnist, t0) : align_sets(&o, &train, &test, t0);
    dacc_images_free(&train);
    dacc_images_free(&test);
    return code;
}
