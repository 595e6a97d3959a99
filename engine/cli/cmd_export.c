/* dacc export / dacc import: weights as .npz under PyTorch's names. */
#include "cli.h"
#include "commands.h"
#include "flags.h"
#include "dacc/checkpoint.h"
#include "dacc/interop.h"
#include <stdio.h>
#include <string.h>

static const flag_use export_flags[] = {
    {F_NPZ, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command export_cmd = {
    "export", "usage: dacc export CHECKPOINT --npz FILE",
    "Writes the weights and batch-norm buffers of CHECKPOINT as an .npz of float32\n"
    "arrays named and shaped as the PyTorch state_dict of STUDY.md's network\n"
    "(conv32_1.weight [32,1,3,3], BN32_1.running_mean, ..., fc.weight [10,128]).\n"
    "In PyTorch: sd = {k: torch.from_numpy(v) for k, v in np.load(FILE).items()};\n"
    "model.load_state_dict(sd).\n",
    export_flags, sizeof export_flags / sizeof export_flags[0], NULL, 1, "CHECKPOINT"};

int cmd_export(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&export_cmd, argc, argv, &v);
    if (code >= 0) return code;
    if (v.npos < 1 || !v.set[F_NPZ])
        return flags_usage_error(&export_cmd, "need CHECKPOINT and --npz FILE (try --help)");
    const char *ckpt = v.pos[0], *out = v.s[F_NPZ];
    dacc_err e;
    dacc_checkpoint c;
    if (dacc_checkpoint_read(ckpt, &c, &e)) return cli_error("export", 1, &e);
    dacc_model *m = dacc_model_new(&c.cfg.variant, 1, 1, 0, &e);
    int rc = !m;
    if (m) {
        rc = dacc_checkpoint_apply(&c, m, 0, ckpt, &e) || dacc_export_npz(m, out, &e);
        dacc_model_delete(m);
    }
    dacc_checkpoint_free(&c);
    if (rc) return cli_error("export", 1, &e);
    printf("wrote %s\n", out);
    return 0;
}

static const flag_use import_flags[] = {
    {F_OUT, "the checkpoint to write", NULL, "CHECKPOINT", 0},
    {F_VARIANT, "the variant the weights belong to (a spec as for dacc train)", NULL, NULL, 0},
    {F_PROTOCOL, "the protocol recorded in the checkpoint: default or paper", NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command import_cmd = {
    "import", "usage: dacc import FILE.npz --out CHECKPOINT [--variant SPEC] [--protocol P]",
    "Reads weights named as PyTorch's state_dict (as written by dacc export or by\n"
    "np.savez(FILE, **{k: v.numpy() for k, v in model.state_dict().items()}))\n"
    "into a dacc checkpoint for the given variant (default Original), ready for\n"
    "dacc eval. Every weight of the variant must be present with its shape.\n",
    import_flags, sizeof import_flags / sizeof import_flags[0], NULL, 1, "FILE.npz"};

int cmd_import(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&import_cmd, argc, argv, &v);
    if (code >= 0) return code;
    if (v.npos < 1 || !v.set[F_OUT])
        return flags_usage_error(&import_cmd, "need FILE.npz and --out CHECKPOINT (try --help)");
    const char *npz = v.pos[0], *out = v.s[F_OUT];
    dacc_train_config cfg;
    dacc_train_config_default(&cfg);
    dacc_err e;
    if (dacc_variant_parse(v.s[F_VARIANT], &cfg.variant, &e)) return cli_error("import", 2, &e);
    cfg.paper = v.i[F_PROTOCOL] == 1;
    dacc_model *m = dacc_model_new(&cfg.variant, 1, 1, 0, &e);
    if (!m) return cli_error("import", 1, &e);
    /* epochs 0 = no training record: eval says so instead of claiming a
     * finished training, and train --resume trains for its own --epochs */
    cfg.epochs = 0;
    int rc = dacc_import_npz(m, npz, &e) || dacc_checkpoint_save(out, m, &cfg, 0, &e);
    dacc_model_delete(m);
    if (rc) return cli_error("import", 1, &e);
    printf("wrote %s (variant %s)\n", out, cfg.variant.name);
    return 0;
}
