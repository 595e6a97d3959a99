/* Small formatting helpers shared by the text and curses front ends. */
#ifndef DACC_TUI_FMT_H
#define DACC_TUI_FMT_H
#include <stddef.h>

/* "1:02:03", "4:05", or "-" for NaN/negative. */
const char *tf_duration(double s, char *buf, size_t n);
/* accuracy fraction as percent with d decimals ("99.21"), "-" for NaN */
const char *tf_pct(double frac, int d, char *buf, size_t n);
/* signed percentage points ("-0.75"), "-" for NaN */
const char *tf_pp(double frac, int d, char *buf, size_t n);
/* number with 4 significant-ish digits ("0.1432", "12.5", "inf"), "-" for NaN */
const char *tf_num(double v, char *buf, size_t n);
/* local time "YYYY-mm-dd HH:MM:SS" of now */
const char *tf_now(char *buf, size_t n);

#endif
