/* The npy format's text parts (engine/data/npy_header.c): the dtype string
 * and the header dict literal. Internal to the npz reader. */
#ifndef DACC_DATA_NPY_HEADER_H
#define DACC_DATA_NPY_HEADER_H
#include <stddef.h>

#include "dacc/npz.h"

/* "<f4", "|u1", ...: kind 'b', 'i', 'u' or 'f', bytes per element, and
 * whether the data is big-endian. -1 for anything else. */
int npy_parse_dtype(const char *d, char *kind, int *size, int *swap);

/* Parses the header dict ({'descr': ..., 'fortran_order': ..., 'shape': (...)})
 * of len bytes into a->dtype, a->ndim, a->shape and *fortran. -1 with what
 * was wrong in msg. Never reads past txt + len. */
int npy_parse_header(const char *txt, size_t len, dacc_npy_array *a, int *fortran, char *msg,
                     size_t msgn);

#endif
