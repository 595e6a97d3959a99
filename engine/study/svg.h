/* Small helpers for hand-written SVG (the figures of study/figures.h): a
 * document in a memory stream, escaped text, axes with round ticks and the
 * variant colours. Every drawn element carries a class so tests can count
 * bars, lines and digits. */
#ifndef DACC_STUDY_SVG_H
#define DACC_STUDY_SVG_H
#include <stddef.h>
#include <stdio.h>

typedef struct svg {
    FILE *f;
    char *buf;
    size_t n;
    const void *user; /* the figure's data, for helpers */
} svg;

/* A linear map from data [lo, hi] to pixels [p0, p1]. */
typedef struct axis {
    double lo, hi, p0, p1, step;
} axis;

/* Opens a W x H document with a white background, dark text and fonts every
 * browser has; DESC is its <title>. Returns 0, or -1 out of memory. */
int svg_open(svg *g, int w, int h, const char *desc);
/* Closes the document; returns its text (malloc'd) or NULL. */
char *svg_close(svg *g, size_t *n);
void svg_esc(FILE *f, const char *s);
/* <text> at (x, y); anchor "start", "middle" or "end"; CLS may be NULL. */
void svg_text(svg *g, double x, double y, const char *anchor, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Notes (each line of NOTES, long ones wrapped at MAXC characters) from
 * (x, y) downwards; returns the next y. svg_note_lines: the lines it takes. */
double svg_notes(svg *g, double x, double y, const char *notes, int maxc);
int svg_note_lines(const char *notes, int maxc);
/* Round ticks covering [lo, hi] (about N of them). */
axis axis_make(double lo, double hi, double p0, double p1, int n);
double axis_px(const axis *a, double v);
/* A vertical axis at X with ticks, grid lines to X_END and labels printed
 * with FMT of SCALE * value. */
void svg_yaxis(svg *g, const axis *a, double x, double x_end, double scale, const char *fmt);
const char *svg_color(int i);

#endif
