/* dacc_err helpers: formatting of error messages that travel up as values. */
#include "dacc/err.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dacc_fail(dacc_err *e, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int dacc_fail_wrap(dacc_err *e, const char *fmt, ...) {
    if (e) {
        char prefix[256];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
        va_end(ap);
        if (n < 0) return -1;
        size_t plen = strlen(prefix);
        memcpy(prefix + plen, ": ", 3);
        plen += 2;
        size_t old = strnlen(e->msg, sizeof e->msg - 1);
        if (plen + old >= sizeof e->msg) old = sizeof e->msg - 1 - plen;
        memmove(e->msg + plen, e->msg, old);
        memcpy(e->msg, prefix, plen);
        e->msg[plen + old] = 0;
    }
    return -1;
}
