/* The dashboard's line chart (tui/chart.c), a pure function into a grid:
 * labels show the range, the lines go where their values say, stay connected,
 * leave gaps at NaN, later series draw over earlier ones, ASCII mode writes
 * only ASCII, points at uneven x go where x says, and a grid too small is
 * refused blank. */
#include "harness.h"
#include "../../tui/chart.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 40
#define H 12
#define X0 8 /* first plot column: LABEL_W + axis */

static wchar_t cells[W * H];
static unsigned char owner[W * H];

static int row_text(int r, const char *want) { /* does row r contain want? */
    char b[W + 1];
    for (int x = 0; x < W; x++) b[x] = cells[r * W + x] < 0x80 ? (char)cells[r * W + x] : '?';
    b[W] = 0;
    return strstr(b, want) != NULL;
}

/* Rows of the plot (0..H-3) where series id has a cell in column x; -1 none. */
static void rows_of(int id, int x, int *top, int *bottom) {
    *top = *bottom = -1;
    for (int r = 0; r < H - 2; r++)
        if (owner[r * W + x] == id) {
            if (*top < 0) *top = r;
            *bottom = r;
        }
}

int main(void) {
    uint64_t seed = test_seed();
    dacc_chart_opts o = {0, 100, "%.2f", NULL};
    double down[5] = {0.90, 0.95, 0.97, 0.98, 0.99}; /* accuracy rising */
    dacc_chart_series s[2] = {{down, 5}, {NULL, 0}};
    CHECK(dacc_chart_render(s, 1, &o, W, H, cells, owner) == 0, "render 40x12");
    CHECK(row_text(0, "99.00"), "top label is the maximum in percent");
    CHECK(row_text(H - 3, "90.00"), "bottom label is the minimum");
    CHECK(row_text(H - 1, "1") && row_text(H - 1, "5"), "x labels 1 .. 5");
    int t, b;
    rows_of(1, X0, &t, &b);
    CHECK(b == H - 3, "first epoch at the bottom row (got %d)", b);
    rows_of(1, W - 1, &t, &b);
    CHECK(t == 0, "last epoch at the top row (got %d)", t);
    int connected = 1, prev_t = -1, prev_b = -1;
    for (int x = X0; x < W; x++) {
        rows_of(1, x, &t, &b);
        if (t < 0 || (prev_t >= 0 && (t > prev_b + 1 || b < prev_t - 1))) connected = 0;
        prev_t = t, prev_b = b;
    }
    CHECK(connected, "the line has a cell in every column, joined to the last");
    double zig[9] = {0, 1, 0, 1, 0, 1, 0, 1, 0}; /* steeper than a cell per column */
    dacc_chart_series zs = {zig, 9};
    dacc_chart_render(&zs, 1, &o, W, H, cells, owner);
    connected = 1, prev_t = prev_b = -1;
    for (int x = X0; x < W; x++) {
        rows_of(1, x, &t, &b);
        if (t < 0 || (prev_t >= 0 && (t > prev_b + 1 || b < prev_t - 1))) connected = 0;
        prev_t = t, prev_b = b;
    }
    CHECK(connected, "a steep zigzag stays connected");
    int top_hit = 0, bottom_hit = 0;
    for (int x = X0; x < W; x++) top_hit += owner[x] == 1, bottom_hit += owner[(H - 3) * W + x] == 1;
    CHECK(top_hit >= 4 && bottom_hit >= 4, "the zigzag reaches the top (%d) and bottom (%d) rows", top_hit, bottom_hit);
    dacc_chart_render(s, 1, &o, W, H, cells, owner);
    CHECK(cells[0 * W + 7] == 0x2502 && cells[(H - 2) * W + 7] == 0x2514, "y axis and corner");
    int braille = 0;
    for (int i = 0; i < W * H; i++) braille += owner[i] && cells[i] >= 0x2801 && cells[i] <= 0x28FF;
    CHECK(braille > 0, "lines drawn in braille");

    /* a random second series drawn over the first where they meet */
    double other[5];
    for (int i = 0; i < 5; i++) other[i] = test_rand_uniform(&seed, 0.9f, 0.99f);
    s[1] = (dacc_chart_series){other, 5};
    dacc_chart_render(s, 2, &o, W, H, cells, owner);
    int twos = 0, ones = 0;
    for (int i = 0; i < W * H; i++) twos += owner[i] == 2, ones += owner[i] == 1;
    CHECK(twos >= W - X0 && ones > 0, "both series drawn (%d, %d cells)", ones, twos);
    s[1] = (dacc_chart_series){down, 5}; /* identical: the later one owns every cell */
    dacc_chart_render(s, 2, &o, W, H, cells, owner);
    ones = 0;
    for (int i = 0; i < W * H; i++) ones += owner[i] == 1;
    CHECK(ones == 0, "a later series draws over an earlier one (%d cells left)", ones);

    /* a gap: no cell between epochs 2 and 4 when epoch 3 is NaN */
    double gap[5] = {0.5, 0.6, NAN, 0.8, 0.9};
    dacc_chart_series g = {gap, 5};
    dacc_chart_render(&g, 1, &o, W, H, cells, owner);
    int mid = X0 + (W - X0) / 2;
    rows_of(1, mid, &t, &b);
    CHECK(t < 0, "no line across a NaN epoch");
    rows_of(1, X0, &t, &b);
    CHECK(t >= 0, "the line before the gap is drawn");

    /* ASCII: only ASCII characters, markers per series */
    o.ascii = 1;
    dacc_chart_render(s, 1, &o, W, H, cells, owner);
    int non_ascii = 0, stars = 0;
    for (int i = 0; i < W * H; i++) non_ascii += cells[i] >= 0x80, stars += cells[i] == '*' && owner[i] == 1;
    CHECK(non_ascii == 0, "ASCII mode: %d non-ASCII cells", non_ascii);
    CHECK(stars == W - X0, "ASCII: one marker per column (%d)", stars);

    /* uneven x (the deformation scales): points sit at their x, not their
     * index. In ASCII (one dot per cell) over 32 columns from x = 0 to 2,
     * the middle column is x = 1, where the line from (0, 0) to (1.5, -0.3)
     * is at -0.2, half way down to -0.4 (by index it would be x = 2.5 of 4
     * points: -0.325, 81% down). */
    double xs[4] = {0, 1.5, 1.75, 2}, dv[4] = {0, -0.3, -0.35, -0.4};
    dacc_chart_series sx = {dv, 4};
    dacc_chart_opts ox = {1, 100, "%.1f", xs};
    CHECK(dacc_chart_render(&sx, 1, &ox, W, H, cells, owner) == 0, "uneven x renders");
    CHECK(row_text(H - 1, " 0 ") && row_text(H - 1, " 1 ") && row_text(H - 1, "2"), "x labels 0, 1, 2");
    CHECK(row_text(0, "0.0") && row_text(H - 3, "-40.0"), "y labels in points");
    int qx = X0 + (W - X0 - 1) / 2;
    rows_of(1, qx, &t, &b);
    CHECK(t >= 4 && t <= 5, "x = 1 half way down, rows 4..5 of 0..9 (got %d)", t);

    /* one epoch, a flat line, too small */
    double one[1] = {0.42};
    dacc_chart_series s1 = {one, 1};
    CHECK(dacc_chart_render(&s1, 1, &o, W, H, cells, owner) == 0, "one epoch renders");
    CHECK(dacc_chart_render(&s1, 1, &o, 15, H, cells, owner) == -1, "too narrow refused");
    int blank = 1;
    for (int i = 0; i < 15 * H; i++) blank &= cells[i] == L' ' && owner[i] == 0;
    CHECK(blank, "a refused grid is blank");
    return test_finish();
}
