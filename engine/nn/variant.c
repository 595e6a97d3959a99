/* The six variants of the study as presets of four switches, and the
 * parser for user variants built from the same switches. */
#include "dacc/model.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *const dacc_preset_names[DACC_N_PRESETS] = {
    "Original", "StepLR", "BatchNorm", "Dropout", "ConvPool", "AveragePool"};

int dacc_variant_preset(const char *name, dacc_variant *v) {
    dacc_variant o = {"", 1, DACC_DROPOUT_ALL, DACC_POOL_MAX, 1, DACC_AUGMENT_NONE};
    int i;
    for (i = 0; i < DACC_N_PRESETS; i++)
        if (!strcasecmp(name, dacc_preset_names[i])) break;
    switch (i) {
    case 0: break;
    case 1: o.lr_decay = 0; break;
    case 2: o.bn = 0; break;
    case 3: o.dropout = DACC_DROPOUT_FC; break;
    case 4: o.pool = DACC_POOL_CONV; break;
    case 5: o.pool = DACC_POOL_AVG; break;
    default: return -1;
    }
    snprintf(o.name, sizeof o.name, "%s", dacc_preset_names[i]);
    *v = o;
    return 0;
}

static int parse_onoff(const char *val, int *out) {
    if (!strcmp(val, "on") || !strcmp(val, "1") || !strcmp(val, "yes")) return *out = 1, 0;
    if (!strcmp(val, "off") || !strcmp(val, "0") || !strcmp(val, "no")) return *out = 0, 0;
    return -1;
}

int dacc_variant_parse(const char *spec, dacc_variant *v, dacc_err *e) {
    if (!strchr(spec, '=')) {
        if (dacc_variant_preset(spec, v))
            return dacc_fail(e, "--variant %s: unknown variant (presets: Original, StepLR, "
                                "BatchNorm, Dropout, ConvPool, AveragePool; or key=value "
                                "pairs such as name=Mine,bn=off,pool=avg)", spec);
        return 0;
    }
    dacc_variant_preset("Original", v);
    int named = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return dacc_fail(e, "--variant %s: '%s' is not key=value", spec, tok);
        *eq = 0;
        const char *key = tok, *val = eq + 1;
        int bad = 0;
        if (!strcmp(key, "name")) {
            if (!*val || strlen(val) >= sizeof v->name || strpbrk(val, "/ \t\"\\"))
                return dacc_fail(e, "--variant %s: name must be 1-31 characters without "
                                    "spaces, quotes or slashes", spec);
            snprintf(v->name, sizeof v->name, "%s", val);
            named = 1;
        } else if (!strcmp(key, "base")) {
            char keep[32];
            memcpy(keep, v->name, sizeof keep);
            if (dacc_variant_preset(val, v)) bad = 1;
            if (named) memcpy(v->name, keep, sizeof keep);
        } else if (!strcmp(key, "bn")) {
            bad = parse_onoff(val, &v->bn);
        } else if (!strcmp(key, "lr_decay")) {
            bad = parse_onoff(val, &v->lr_decay);
        } else if (!strcmp(key, "dropout")) {
            if (!strcmp(val, "all")) v->dropout = DACC_DROPOUT_ALL;
            else if (!strcmp(val, "fc")) v->dropout = DACC_DROPOUT_FC;
            else if (!strcmp(val, "none")) v->dropout = DACC_DROPOUT_NONE;
            else bad = 1;
        } else if (!strcmp(key, "pool")) {
            if (!strcmp(val, "max")) v->pool = DACC_POOL_MAX;
            else if (!strcmp(val, "avg")) v->pool = DACC_POOL_AVG;
            else if (!strcmp(val, "conv")) v->pool = DACC_POOL_CONV;
            else bad = 1;
        } else if (!strcmp(key, "augment")) {
            if (!strcmp(val, "none")) v->augment = DACC_AUGMENT_NONE;
            else if (!strcmp(val, "align")) v->augment = DACC_AUGMENT_ALIGN;
            else bad = 1;
        } else {
            return dacc_fail(e, "--variant %s: unknown key '%s' (name, base, bn, dropout, "
                                "pool, lr_decay, augment)", spec, key);
        }
        if (bad) return dacc_fail(e, "--variant %s: bad value '%s' for %s", spec, val, key);
    }
    if (!named) snprintf(v->name, sizeof v->name, "Custom");
    return 0;
}

void dacc_variant_switches(const dacc_variant *v, char *buf, size_t n) {
    static const char *const drop[] = {"all", "fc", "none"}, *const pool[] = {"max", "avg", "conv"};
    snprintf(buf, n, "bn=%s,dropout=%s,pool=%s,lr_decay=%s%s", v->bn ? "on" : "off",
             drop[v->dropout], pool[v->pool], v->lr_decay ? "on" : "off",
             v->augment == DACC_AUGMENT_ALIGN ? ",augment=align" : "");
}
