/* dacc align: make the AlignMNIST-layout sets (train and test) in the cache,
 * or, with --fit, fit the per-class deformation model anew and write it. */
#include "cli.h"
#include "commands.h"
#include "dacc/align.h"
#include "dacc/alignmnist.h"
#include "dacc/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void align_help(FILE *f) {
    fprintf(f,
            "usage: dacc align [--fit] [--pairs N] [--blocks B] [--seed S] [--scale s]\n"
            "                  [--threads T] [--out DIR] [--data DIR] [--model FILE]\n"
            "                  [--fit-seed S] [--prior smooth|isotropic] [--lambda X]\n"
            "                  [--boundary free|zero] [--quiet]\n"
            "       dacc align --measure FILE [--limit N] [--threads T] [--data DIR]\n"
            "\n"
            "Makes AlignMNIST-layout files for the MNIST training set (60000 images) and\n"
            "test set (10000): x.npy uint8 (N*(B+1),28,28) with block 0 = the originals\n"
            "in file order and blocks 1..B = one random class-dependent deformation of\n"
            "every image; y.npy float64 labels. Prints their paths. Files already in the\n"
            "cache with the same parameters are reused (the names carry a hash of the\n"
            "class model, the images, B, S and s).\n"
            "\n"
            "The deformations come from a per-class Gaussian over CPAB warps, learned by\n"
            "aligning random same-class pairs (docs/ALIGNMNIST.md). The model is taken\n"
            "from --model, else the cache, else the one shipped in engine/data/ when it\n"
            "was fitted with the same settings on the same images, else fitted now\n"
            "(minutes) and cached.\n"
            "\n"
            "options:\n"
            "  --fit          fit the class model anew (ignores cached and shipped models)\n"
            "                 and write it to DIR/alignclass-4x4.bin; no sets are made\n"
            "  --pairs N      same-class pairs aligned per class for a fit (default 1000)\n"
            "  --fit-seed S   seed of the pair selection of a fit (default 1)\n"
            "  --blocks B     transformed blocks per set, 1..75 (default 5)\n"
            "  --seed S       sampling seed of the deformations (default 1)\n"
            "  --scale s      multiply every sampled deformation parameter by s (default 1;\n"
            "                 0 gives copies of the originals)\n"
            "  --threads T    worker threads (default: all CPUs); results do not depend on T\n"
            "  --out DIR      where files go (default <cache>/alignmnist; the cache is\n"
            "                 $DACC_DATA if set, else ~/.cache/dacc)\n"
            "  --data DIR     MNIST IDX files from DIR instead of the cache\n"
            "  --model FILE   use this class model file\n"
            "  --prior P      prior of a fit: smooth (default; cpabDiffeo's covariance over\n"
            "                 the cells' affine entries) or isotropic ((lambda/2)|theta|^2)\n"
            "  --lambda X     prior weight of a fit (default 1)\n"
            "  --boundary B   CPA space of a fit: free (default; valid outside the square,\n"
            "                 d = 58) or zero (zero normal velocity on the border, d = 62)\n"
            "  --measure FILE estimate the displacement statistics of any AlignMNIST-layout\n"
            "                 file (e.g. the released alignmnist.npz) by registering each\n"
            "                 transformed image back to its block-0 original\n"
            "  --limit N      with --measure: only the first N images of each block\n"
            "  --quiet        no progress lines\n"
            "  -h, --help     this text\n"
            "\n"
            "examples:\n"
            "  dacc align                                  # the default sets (~30 s on 2 cores)\n"
            "  dacc align --fit --pairs 1000 --out engine/data   # remake the shipped model\n"
            "  dacc align --blocks 2 --scale 0.5           # milder deformations\n"
            "\n"
            "exit codes: 0 ok, 1 runtime error, 2 usage error\n");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

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

/* --measure FILE: register every transformed image back to its original.
 * The file's block 0 is checked against the MNIST training set, then the
 * test set. */
static int align_measure(const char *path, const char *data_dir, const dacc_align_options *o,
                         long limit) {
    dacc_images train = {0}, test = {0};
    char mnist[4096];
    dacc_err e = {{0}};
    if (cli_load_mnist(data_dir, &train, &test, mnist, sizeof mnist, &e))
        return cli_error("align", 1, &e);
    dacc_align_settings s;
    dacc_align_options_fit_settings(o, &s);
    dacc_disp_stats ds;
    double t0 = now_s();
    int rc = dacc_align_measure(path, &train, &s, limit, o->threads, o->verbose, &ds, &e);
    if (rc) {
        dacc_err e2 = {{0}};
        if (dacc_align_measure(path, &test, &s, limit, o->threads, o->verbose, &ds, &e2) == 0)
            rc = 0;
    }
    if (rc == 0) {
        printf("%s: displacement estimated by registration (%s prior, lambda %g, %s boundary),\n"
               "  %s images per block, %.0f s\n",
               path, s.prior == DACC_PRIOR_SMOOTH ? "smooth" : "isotropic", s.lambda,
               s.zero_boundary ? "zero" : "free", limit > 0 ? "first N" : "all", now_s() - t0);
        if (limit > 0) printf("  N = %ld\n", limit);
        dacc_disp_stats_print(&ds, "  ");
    }
    dacc_images_free(&train);
    dacc_images_free(&test);
    return rc ? cli_error("align", 1, &e) : 0;
}

int cmd_align(int argc, char **argv) {
    dacc_align_options o;
    dacc_align_options_default(&o);
    o.verbose = 1;
    int fit = 0;
    const char *data_dir = NULL, *measure = NULL;
    long limit = 0;
    dacc_err e = {{0}};
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        long n;
        double x;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            align_help(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--fit")) {
            fit = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            o.verbose = 0;
        } else if ((v = cli_value(argc, argv, &i, "--pairs", &missing))) {
            if (cli_int("--pairs", v, 2, 100000, &n, &e)) return cli_error("align", 2, &e);
            o.pairs_per_class = (int)n;
        } else if ((v = cli_value(argc, argv, &i, "--blocks", &missing))) {
            if (cli_int("--blocks", v, 1, 75, &n, &e)) return cli_error("align", 2, &e);
            o.blocks = (int)n;
        } else if ((v = cli_value(argc, argv, &i, "--seed", &missing))) {
            if (cli_int("--seed", v, 0, 2147483647L, &n, &e)) return cli_error("align", 2, &e);
            o.seed = (uint64_t)n;
        } else if ((v = cli_value(argc, argv, &i, "--fit-seed", &missing))) {
            if (cli_int("--fit-seed", v, 0, 2147483647L, &n, &e)) return cli_error("align", 2, &e);
            o.fit_seed = (uint64_t)n;
        } else if ((v = cli_value(argc, argv, &i, "--scale", &missing))) {
            if (cli_double("--scale", v, 0, 10, &x, &e)) return cli_error("align", 2, &e);
            o.scale = x;
        } else if ((v = cli_value(argc, argv, &i, "--threads", &missing))) {
            if (cli_int("--threads", v, 1, 1024, &n, &e)) return cli_error("align", 2, &e);
            o.threads = (int)n;
        } else if ((v = cli_value(argc, argv, &i, "--out", &missing))) {
            o.cache_dir = v;
        } else if ((v = cli_value(argc, argv, &i, "--data", &missing))) {
            data_dir = v;
        } else if ((v = cli_value(argc, argv, &i, "--model", &missing))) {
            o.class_model = v;
        } else if ((v = cli_value(argc, argv, &i, "--measure", &missing))) {
            measure = v;
        } else if ((v = cli_value(argc, argv, &i, "--limit", &missing))) {
            if (cli_int("--limit", v, 1, 60000, &n, &e)) return cli_error("align", 2, &e);
            limit = n;
        } else if ((v = cli_value(argc, argv, &i, "--prior", &missing))) {
            if (strcmp(v, "smooth") && strcmp(v, "isotropic")) {
                fprintf(stderr, "dacc align: --prior %s: use smooth or isotropic\n", v);
                return 2;
            }
            o.prior = strcmp(v, "smooth") ? DACC_PRIOR_ISOTROPIC : DACC_PRIOR_SMOOTH;
        } else if ((v = cli_value(argc, argv, &i, "--boundary", &missing))) {
            if (strcmp(v, "free") && strcmp(v, "zero")) {
                fprintf(stderr, "dacc align: --boundary %s: use free or zero\n", v);
                return 2;
            }
            o.zero_boundary = !strcmp(v, "zero");
        } else if ((v = cli_value(argc, argv, &i, "--lambda", &missing))) {
            if (cli_double("--lambda", v, 0, 1e6, &x, &e)) return cli_error("align", 2, &e);
            o.lambda = x;
        } else if (missing) {
            fprintf(stderr, "dacc align: %s needs a value (try dacc align --help)\n", argv[i]);
            return 2;
        } else {
            fprintf(stderr, "dacc align: unknown option '%s' (try dacc align --help)\n", argv[i]);
            return 2;
        }
    }
    if (measure) return align_measure(measure, data_dir, &o, limit);
    if (fit && o.class_model) {
        fprintf(stderr, "dacc align: --fit makes a model; it cannot be combined with --model\n");
        return 2;
    }

    dacc_images train = {0}, test = {0};
    char mnist[4096];
    if (cli_load_mnist(data_dir, &train, fit ? NULL : &test, mnist, sizeof mnist, &e))
        return cli_error("align", 1, &e);
    double t0 = now_s();
    int rc = 0;
    if (fit) {
        char dir[4096], path[4200];
        if (o.cache_dir) {
            snprintf(dir, sizeof dir, "%s", o.cache_dir);
        } else {
            char base[4000];
            if (dacc_data_cache_dir(base, sizeof base, &e)) {
                rc = cli_error("align", 1, &e);
                goto out;
            }
            snprintf(dir, sizeof dir, "%s/alignmnist", base);
        }
        if (mkdir(dir, 0755) != 0) {
            struct stat st;
            if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                fprintf(stderr, "dacc align: %s: cannot create the output folder\n", dir);
                rc = 1;
                goto out;
            }
        }
        dacc_align_settings s;
        dacc_align_options_fit_settings(&o, &s);
        snprintf(path, sizeof path, "%s/alignclass-%dx%d.bin", dir, s.nx, s.ny);
        dacc_align_model m;
        if (dacc_align_model_fit(&s, &train, o.threads, o.verbose, &m, &e) ||
            dacc_align_model_save(&m, path, &e)) {
            rc = cli_error("align", 1, &e);
            goto out;
        }
        print_model(&m, path);
        char hex[65];
        if (dacc_sha256_file(path, hex, &e) == 0) printf("  sha256 %s\n", hex);
        printf("  fitted in %.1f s on %d threads from %s\n", now_s() - t0, o.threads, mnist);
        dacc_align_model_free(&m);
    } else {
        char trp[4096], tep[4096], mpath[4096];
        dacc_align_model m;
        /* find (or fit) the model first so its provenance can be printed */
        if (dacc_align_model_ensure(&o, &train, &m, mpath, sizeof mpath, &e)) {
            rc = cli_error("align", 1, &e);
            goto out;
        }
        if (o.verbose) print_model(&m, mpath);
        dacc_align_model_free(&m);
        o.class_model = mpath;
        if (dacc_alignmnist_ensure(&o, &train, &test, trp, tep, sizeof trp, &e)) {
            rc = cli_error("align", 1, &e);
            goto out;
        }
        printf("train %s\n", trp);
        print_displacement(trp, &train);
        printf("test  %s\n", tep);
        print_displacement(tep, &test);
        if (o.verbose)
            fprintf(stderr, "align: %d blocks, seed %llu, scale %g: ready in %.1f s\n", o.blocks,
                    (unsigned long long)o.seed, o.scale, now_s() - t0);
    }
out:
    dacc_images_free(&train);
    dacc_images_free(&test);
    return rc;
}
