/* Errors are values: a function that can fail returns 0 on success or -1 and
 * fills a dacc_err whose message names the file/argument and what was wrong.
 * Only main() prints and exits. */
#ifndef DACC_ERR_H
#define DACC_ERR_H

typedef struct dacc_err {
    char msg[768];
} dacc_err;

/* printf-style: fills e (if non-NULL) and returns -1, so callers can write
 * `return dacc_fail(e, "%s: truncated", path);` */
int dacc_fail(dacc_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to an existing message (context on the way up). */
int dacc_fail_wrap(dacc_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
