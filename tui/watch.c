/* dacc_tui_watch: resolves the options (locale, NO_COLOR, terminal or not),
 * installs flag-only signal handlers, and runs the curses dashboard or the
 * plain line-oriented watcher. */
#include "internal.h"
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

volatile sig_atomic_t tui_stop_flag;

static void on_signal(int sig) {
    (void)sig;
    tui_stop_flag = 1;
}

int tw_run_ended(const dacc_rd_run *r, double now, double *bad_since, dacc_err *e) {
    if (!r->progress_unreadable) {
        *bad_since = -1;
        return r->progress.valid && dacc_rd_state_final(r->progress.state);
    }
    if (*bad_since < 0) *bad_since = now;
    if (now - *bad_since < TW_UNREADABLE_S) return 0;
    return dacc_fail(e, "%s/progress.json: unreadable for %.0f s (truncated or not JSON), so the end of the run "
                      "cannot be seen; stopping", r->dir, TW_UNREADABLE_S);
}

int dacc_tui_watch(const char *run_dir, const dacc_tui_options *opt_in, dacc_err *e) {
    dacc_tui_options opt = {0, 0, 0, 0, 0};
    if (opt_in) opt = *opt_in;
    if (!run_dir || !run_dir[0]) return dacc_fail(e, "watch: no run directory given");
    if (opt.refresh_ms <= 0) opt.refresh_ms = 500;
    if (opt.refresh_ms < 50) opt.refresh_ms = 50;
    if (opt.refresh_ms > 10000) opt.refresh_ms = 10000;

    /* The user's locale decides UTF-8 or not; numbers stay in the C locale
     * so strtod/printf keep '.' as the decimal point. */
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    const char *cs = nl_langinfo(CODESET);
    if (!cs || (strcasecmp(cs, "UTF-8") && strcasecmp(cs, "utf8"))) opt.ascii = 1;
    const char *nc = getenv("NO_COLOR");
    if (nc && nc[0]) opt.no_color = 1;
#ifndef DACC_HAVE_TUI
    opt.plain = 1; /* built without ncurses */
#endif
    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) opt.plain = 1;

    dacc_rd_run *r;
    if (dacc_rd_run_open(&r, run_dir, e)) return -1;

    /* Flag-only handlers, but only where nobody handles the signal yet: a
     * caller such as `dacc run` keeps its own Ctrl-C handling (it marks the
     * run interrupted, which ends a watch with exit_when_done). */
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, old[3];
    int mine[3] = {0, 0, 0};
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    tui_stop_flag = 0;
    for (int i = 0; i < 3; i++)
        if (sigaction(sigs[i], NULL, &old[i]) == 0 && old[i].sa_handler == SIG_DFL)
            mine[i] = sigaction(sigs[i], &sa, NULL) == 0;

    int rc = opt.plain ? tt_plain_watch(r, &opt, stdout, e) : td_dashboard(r, &opt, e);

    for (int i = 0; i < 3; i++)
        if (mine[i]) sigaction(sigs[i], &old[i], NULL);
    dacc_rd_run_free(r);
    return rc;
}
