/* dacc watch DIR: read-only attach to a running or finished study; the
 * dashboard reads only the run directory's files (docs/RUNDIR.md). */
#include "commands.h"
#include "dacc/tui.h"
#include <stdio.h>
#include <string.h>

static void watch_usage(FILE *f) {
    fprintf(f,
            "usage: dacc watch DIR [--plain] [--no-color] [--ascii] [--exit-when-done]\n\n"
            "Shows a study's progress, training curves, results, robustness bars and a\n"
            "digit inspector, live, from the files of its run directory DIR. Read-only:\n"
            "quitting (q) leaves the run going.\n\n"
            "  --plain           timestamped text lines instead of the dashboard (also\n"
            "                    automatic when stdout is not a terminal), final tables at the end\n"
            "  --no-color        no colour (also when NO_COLOR is set)\n"
            "  --ascii           no UTF-8 block and line characters (also automatic when\n"
            "                    the locale is not UTF-8)\n"
            "  --exit-when-done  return when the study is done, failed or interrupted\n"
            "  --help            this text\n\n"
            "Keys: q quit, ? help, Tab/arrows panels and variants, n/p/d digits,\n"
            "t held-out/paper protocol, Ctrl-L redraw. See docs/TUI.md.\n");
}

int cmd_watch(int argc, char **argv) {
    dacc_tui_options opt = {0, 0, 0, 0, 0};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            watch_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--plain")) {
            opt.plain = 1;
        } else if (!strcmp(a, "--no-color") || !strcmp(a, "--no-colour")) {
            opt.no_color = 1;
        } else if (!strcmp(a, "--ascii")) {
            opt.ascii = 1;
        } else if (!strcmp(a, "--exit-when-done")) {
            opt.exit_when_done = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "dacc watch: unknown option '%s' (try dacc watch --help)\n", a);
            return 2;
        } else if (dir) {
            fprintf(stderr, "dacc watch: more than one run directory ('%s' and '%s')\n", dir, a);
            return 2;
        } else {
            dir = a;
        }
    }
    if (!dir) {
        fprintf(stderr, "dacc watch: no run directory given\n");
        watch_usage(stderr);
        return 2;
    }
    dacc_err e = {{0}};
    if (dacc_tui_watch(dir, &opt, &e)) {
        fprintf(stderr, "dacc watch: %s\n", e.msg);
        return 1;
    }
    return 0;
}
