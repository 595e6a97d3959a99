/* dacc export / dacc import: weights as .npz under PyTorch's names. */
#include "cli.h"
#include "commands.h"
#include "dacc/checkpoint.h"
#include "dacc/interop.h"
#include <stdio.h>
#include <string.h>

int cmd_export(int argc, char **argv) {
    const char *ckpt = NULL, *out = NULL, *v;
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: dacc export CHECKPOINT --npz FILE\n\n"
                   "Writes the weights and batch-norm buffers of CHECKPOINT as an .npz of float32\n"
                   "arrays named and shaped as the PyTorch state_dict of STUDY.md's network\n"
                   "(conv32_1.weight [32,1,3,3], BN32_1.running_mean, ..., fc.weight [10,128]).\n"
                   "In PyTorch: sd = {k: torch.from_numpy(v) for k, v in np.load(FILE).items()};\n"
                   "model.load_state_dict(sd).\n");
            return 0;
        } else if ((v = cli_value(argc, argv, &i, "--npz", &miss))) {
            out = v;
        } else if (argv[i][0] != '-' && !ckpt) {
            ckpt = argv[i];
        } else {
            fprintf(stderr, "dacc export: %s '%s' (try --help)\n", miss ? "missing value for" : "unknown option", argv[i]);
            return 2;
        }
    }
    if (!ckpt || !out) {
        fprintf(stderr, "dacc export: need CHECKPOINT and --npz FILE (try --help)\n");
        return 2;
    }
    dacc_err e;
    dacc_checkpoint c;
    if (dacc_checkpoint_read(ckpt, &c, &e)) return cli_error("export", 1, &e);
    dacc_model m;
    int rc = dacc_model_init(&m, &c.cfg.variant, 1, 1, 0, &e);
    if (rc == 0) {
        rc = dacc_checkpoint_apply(&c, &m, 0, ckpt, &e) || dacc_export_npz(&m, out, &e);
        dacc_model_free(&m);
    }
    dacc_checkpoint_free(&c);
    if (rc) return cli_error("export", 1, &e);
    printf("wrote %s\n", out);
    return 0;
}

int cmd_import(int argc, char **argv) {
    const char *npz = NULL, *out = NULL, *v;
    dacc_train_config cfg;
    dacc_train_config_default(&cfg);
    dacc_err e;
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: dacc import FILE.npz --out CHECKPOINT [--variant SPEC] [--protocol P]\n\n"
                   "Reads weights named as PyTorch's state_dict (as written by dacc export or by\n"
                   "np.savez(FILE, **{k: v.numpy() for k, v in model.state_dict().items()}))\n"
                   "into a dacc checkpoint for the given variant (default Original), ready for\n"
                   "dacc eval. Every weight of the variant must be present with its shape.\n");
            return 0;
        } else if ((v = cli_value(argc, argv, &i, "--out", &miss))) {
            out = v;
        } else if ((v = cli_value(argc, argv, &i, "--variant", &miss))) {
            if (dacc_variant_parse(v, &cfg.variant, &e)) return cli_error("import", 2, &e);
        } else if ((v = cli_value(argc, argv, &i, "--protocol", &miss))) {
            cfg.paper = !strcmp(v, "paper");
        } else if (argv[i][0] != '-' && !npz) {
            npz = argv[i];
        } else {
            fprintf(stderr, "dacc import: %s '%s' (try --help)\n", miss ? "missing value for" : "unknown option", argv[i]);
            return 2;
        }
    }
    if (!npz || !out) {
        fprintf(stderr, "dacc import: need FILE.npz and --out CHECKPOINT (try --help)\n");
        return 2;
    }
    dacc_model m;
    if (dacc_model_init(&m, &cfg.variant, 1, 1, 0, &e)) return cli_error("import", 1, &e);
    /* epochs 0 = no training record: eval says so instead of claiming a
     * finished training, and train --resume trains for its own --epochs */
    cfg.epochs = 0;
    int rc = dacc_import_npz(&m, npz, &e) || dacc_checkpoint_save(out, &m, &cfg, 0, &e);
    dacc_model_free(&m);
    if (rc) return cli_error("import", 1, &e);
    printf("wrote %s (variant %s)\n", out, cfg.variant.name);
    return 0;
}
