/* `dacc bench --json` on a tiny batch: the output is one JSON document, it
 * names every ISA this CPU runs, and every (layer, op) asked for has a row
 * per ISA whose result matched the scalar table and has a time. Speeds are
 * never asserted. Also the flag errors of --isa. */
#include "harness.h"
#include "core/json.h"
#include "dacc/kernels.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>

/* stdout of a shell command (at most 4 MB) and its exit status. */
static char *run(const char *cmd, int *status, size_t *len) {
    FILE *p = popen(cmd, "r");
    size_t cap = 4u << 20, n = 0;
    char *buf = p ? malloc(cap + 1) : NULL;
    while (buf && n < cap) {
        size_t k = fread(buf + n, 1, cap - n, p);
        if (!k) break;
        n += k;
    }
    *status = p ? pclose(p) : -1;
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

static int count_rows(const dacc_jv *rows, const char *layer, const char *op, const char *isa) {
    int n = 0;
    for (const dacc_jv *r = rows ? rows->child : NULL; r; r = r->next)
        n += !strcmp(dacc_json_str(dacc_json_get(r, "layer"), ""), layer) &&
             !strcmp(dacc_json_str(dacc_json_get(r, "op"), ""), op) &&
             !strcmp(dacc_json_str(dacc_json_get(r, "isa"), ""), isa);
    return n;
}

/* Every ISA the CPU runs is listed and has one row per op of layer;
 * every row was checked against the scalar table and has a time. */
static void check_doc(const char *text, const char *layer, const char *const *ops, int nops, int threads) {
    char err[128] = "";
    dacc_jdoc *d = dacc_json_parse(text, strlen(text), err, sizeof err);
    CHECK(d != NULL, "%s: the output does not parse: %s", layer, err);
    const dacc_jv *root = dacc_json_root(d);
    const dacc_jv *isas = dacc_json_get(root, "isas"), *rows = dacc_json_get(root, "rows");
    CHECK(dacc_json_num(dacc_json_get(root, "batch"), 0) == 2, "batch not echoed");
    CHECK(dacc_json_num(dacc_json_get(root, "threads"), 0) == threads, "threads not echoed");
    for (int i = 0; i < DACC_ISA_COUNT; i++) {
        const char *name = dacc_isa_name((dacc_isa)i);
        int listed = 0;
        for (const dacc_jv *s = isas ? isas->child : NULL; s; s = s->next) listed += !strcmp(dacc_json_str(s, ""), name);
        CHECK(listed == (dacc_cpu_supports((dacc_isa)i) ? 1 : 0), "isa %s listed %d times", name, listed);
        for (int k = 0; k < nops && dacc_cpu_supports((dacc_isa)i); k++)
            CHECK(count_rows(rows, layer, ops[k], name) == 1, "%s %s %s: no row", layer, ops[k], name);
    }
    for (const dacc_jv *r = rows ? rows->child : NULL; r; r = r->next) {
        const dacc_jv *chk = dacc_json_get(r, "checked");
        CHECK(chk && chk->type == DACC_J_TRUE, "%s %s %s: not checked against scalar",
              dacc_json_str(dacc_json_get(r, "layer"), "?"), dacc_json_str(dacc_json_get(r, "op"), "?"),
              dacc_json_str(dacc_json_get(r, "isa"), "?"));
        CHECK(dacc_json_num(dacc_json_get(r, "median_ms"), -1) > 0, "a row without a time");
        const char *algo = dacc_json_str(dacc_json_get(r, "algo"), "");
        CHECK(!strcmp(algo, "-") || !strcmp(algo, "direct") || !strncmp(algo, "winograd-f", 10) ||
                  !strncmp(algo, "poly-winograd-f", 15), "algo %s", algo);
    }
    dacc_json_free(d);
}

static void bench_json(const char *bin, const char *layer, const char *const *ops, int nops, int threads) {
    char cmd[4400];
    int st;
    size_t n;
    snprintf(cmd, sizeof cmd, "'%s' bench --json --batch 2 --reps 1 --threads %d --layer %s", bin, threads, layer);
    char *out = run(cmd, &st, &n);
    CHECK(out && st == 0, "%s: exit status %d", cmd, st);
    if (out) check_doc(out, layer, ops, nops, threads);
    free(out);
}

int main(void) {
    const char *bin = getenv("DACC_BIN");
    if (!bin) {
        SKIP("DACC_BIN not set");
        return test_finish();
    }
    static const char *const conv_ops[] = {"fwd", "fwd-eval", "bwd-data", "bwd-weights"};
    static const char *const adam_ops[] = {"step"};
    bench_json(bin, "conv64_2", conv_ops, 4, 2);
    bench_json(bin, "pool_2", conv_ops, 4, 1); /* ConvPool's 5x5 stride-2 conv (polyphase form) */
    bench_json(bin, "adam", adam_ops, 1, 1);
    char cmd[4400];
    int st;
    size_t n;
    snprintf(cmd, sizeof cmd, "'%s' bench --isa fancy >/dev/null 2>&1", bin);
    free(run(cmd, &st, &n));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "--isa fancy: exit status %d, want 2", st);
    snprintf(cmd, sizeof cmd, "'%s' bench --layer nosuchlayer --isa scalar 2>&1", bin);
    char *msg = run(cmd, &st, &n);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1 && msg && strstr(msg, "no layer matches"), "unknown layer: %s", msg);
    free(msg);
    return test_finish();
}
