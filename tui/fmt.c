/* Formatting that copes with NaN and absurd values from a damaged file. */
#include "fmt.h"
#include <math.h>
#include <stdio.h>
#include <time.h>

const char *tf_duration(double s, char *buf, size_t n) {
    if (!(s >= 0) || s > 1e9) { snprintf(buf, n, "-"); return buf; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

const char *tf_pct(double frac, int d, char *buf, size_t n) {
    if (isnan(frac)) snprintf(buf, n, "-");
    else if (isinf(frac) || fabs(frac) > 1e6) snprintf(buf, n, "%s", frac > 0 ? "inf" : "-inf");
    else snprintf(buf, n, "%.*f", d, 100.0 * frac);
    return buf;
}

const char *tf_pp(double frac, int d, char *buf, size_t n) {
    if (isnan(frac)) snprintf(buf, n, "-");
    else if (isinf(frac) || fabs(frac) > 1e6) snprintf(buf, n, "%s", frac > 0 ? "inf" : "-inf");
    else snprintf(buf, n, "%+.*f", d, 100.0 * frac);
    return buf;
}

const char *tf_num(double v, char *buf, size_t n) {
    if (isnan(v)) snprintf(buf, n, "-");
    else if (isinf(v)) snprintf(buf, n, "%s", v > 0 ? "inf" : "-inf");
    else if (fabs(v) >= 1e6 || (v != 0 && fabs(v) < 1e-3)) snprintf(buf, n, "%.2e", v);
    else if (fabs(v) >= 100) snprintf(buf, n, "%.1f", v);
    else snprintf(buf, n, "%.4f", v);
    return buf;
}

const char *tf_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}
