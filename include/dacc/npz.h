/* npz (a zip of .npy arrays): a streaming reader and an atomic writer.
 *
 * Reader: central directory with ZIP64 (EOCD locator/record, 64-bit extra
 * fields), members stored or deflated, data descriptors, CRC-32 checked when
 * a member has been read through to its end. npy header versions 1, 2 and 3;
 * dtypes |b1, |i1 |u1, <i2..<i8, <u2..<u8, <f4, <f8 (and big-endian '>'
 * variants); C order only. Arrays are never loaded whole unless asked: stored
 * members are read with pread at an offset, deflated ones through one inflate
 * cursor per array that restarts from the member start only when a read goes
 * backwards.
 *
 * Writer: writes PATH.tmp, fsyncs and renames onto PATH on close, so a killed
 * writer never leaves a half file under the final name. ZIP64 records are
 * written whenever a size, offset or count needs them (or always, if forced).
 * npy headers are version 1.0 (2.0 if the header would not fit), padded to a
 * multiple of 64 bytes as numpy does. */
#ifndef DACC_NPZ_H
#define DACC_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "dacc/err.h"

#define DACC_NPY_MAXDIM 8

typedef struct dacc_npy_array {
    char name[128];  /* member name without .npy */
    char dtype[8];   /* as in the file, e.g. "|u1", "<f4" */
    int ndim;
    int64_t shape[DACC_NPY_MAXDIM];
    int64_t count;   /* elements (product of shape; 1 for a 0-d array) */
} dacc_npy_array;

typedef struct dacc_npz dacc_npz;

int dacc_npz_open(const char *path, dacc_npz **out, dacc_err *e);
int dacc_npz_count(const dacc_npz *z);
const dacc_npy_array *dacc_npz_array(const dacc_npz *z, int i);
/* "x" or "x.npy"; NULL if absent. */
const dacc_npy_array *dacc_npz_find(const dacc_npz *z, const char *name);
const char *dacc_npz_path(const dacc_npz *z);
/* Bytes per element of a's dtype. */
int dacc_npy_itemsize(const dacc_npy_array *a);
/* Bytes per element of a dtype string ("<f4" -> 4), 0 if unsupported. */
int dacc_npy_dtype_size(const char *dtype);

/* Elements [first, first+count) in flat C order, converted to the target
 * type. u8 conversion fails on values that are not integers in 0..255;
 * f32/f64 accept every supported dtype. */
int dacc_npz_read_u8(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                     uint8_t *dst, dacc_err *e);
int dacc_npz_read_f32(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                      float *dst, dacc_err *e);
int dacc_npz_read_f64(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                      double *dst, dacc_err *e);
/* Integers (from any integer, bool, or integral float dtype) into int64. */
int dacc_npz_read_i64(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                      int64_t *dst, dacc_err *e);
void dacc_npz_close(dacc_npz *z);

/* ---- writer ------------------------------------------------------------ */
typedef struct dacc_npz_writer dacc_npz_writer;

/* compress: 0 = stored, non-zero = deflate. */
int dacc_npz_writer_open(const char *path, int compress, dacc_npz_writer **w, dacc_err *e);
/* Write ZIP64 extra fields and end records even when nothing needs them
 * (tests; call before the first member). */
void dacc_npz_writer_force_zip64(dacc_npz_writer *w);
/* One whole array: data holds count*itemsize bytes in C order, little-endian.
 * name: "x" or "x.npy"; dtype one of the reader's dtypes. */
int dacc_npz_writer_add(dacc_npz_writer *w, const char *name, const char *dtype, int ndim,
                        const int64_t *shape, const void *data, dacc_err *e);
/* Streaming for big arrays: begin, write the bytes in any chunks, end. The
 * bytes written must add up to exactly count*itemsize. */
int dacc_npz_writer_begin(dacc_npz_writer *w, const char *name, const char *dtype, int ndim,
                          const int64_t *shape, dacc_err *e);
int dacc_npz_writer_write(dacc_npz_writer *w, const void *data, size_t bytes, dacc_err *e);
int dacc_npz_writer_end(dacc_npz_writer *w, dacc_err *e);
/* Writes the central directory, fsyncs, renames the temporary file onto PATH and frees
 * w. On failure the temporary file is removed and w is freed too. */
int dacc_npz_writer_close(dacc_npz_writer *w, dacc_err *e);
/* Removes the temporary file and frees w (NULL is fine). */
void dacc_npz_writer_abort(dacc_npz_writer *w);

#endif
