/* dacc watch DIR: read-only attach to a running or finished study; the
 * dashboard reads only the run directory's files (docs/RUNDIR.md). */
#include "commands.h"
#include "flags.h"
#include "dacc/tui.h"
#include <stdio.h>
#include <string.h>

static const flag_use watch_flags[] = {
    {F_PLAIN, "timestamped text lines instead of the dashboard (also\n"
              "automatic when stdout is not a terminal), final tables at the end", NULL, NULL, 0},
    {F_NO_COLOR, "no colour (also when NO_COLOR is set)", NULL, NULL, 0},
    {F_ASCII, NULL, NULL, NULL, 0},
    {F_EXIT_WHEN_DONE, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command watch_cmd = {
    "watch", "usage: dacc watch DIR [--plain] [--no-color] [--ascii] [--exit-when-done]",
    "Shows a study's progress, training curves, results, robustness bars and a\n"
    "digit inspector, live, from the files of its run directory DIR. Read-only:\n"
    "quitting (q) leaves the run going.\n",
    watch_flags, sizeof watch_flags / sizeof watch_flags[0],
    "Keys: q quit, ? help, Tab/arrows panels and variants, n/p/d digits,\n"
    "t held-out/paper protocol, Ctrl-L redraw. See docs/TUI.md.\n",
    1, "DIR"};

int cmd_watch(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&watch_cmd, argc, argv, &v);
    if (code >= 0) return code;
    if (v.npos < 1) {
        flags_usage_error(&watch_cmd, "no run directory given");
        flags_help(&watch_cmd, stderr);
        return 2;
    }
    dacc_tui_options opt = {0, 0, 0, 0, 0};
    opt.plain = v.set[F_PLAIN];
    opt.no_color = v.set[F_NO_COLOR];
    opt.ascii = v.set[F_ASCII];
    opt.exit_when_done = v.set[F_EXIT_WHEN_DONE];
    dacc_err e = {{0}};
    if (dacc_tui_watch(v.pos[0], &opt, &e)) {
        fprintf(stderr, "dacc watch: %s\n", e.msg);
        return 1;
    }
    return 0;
}
