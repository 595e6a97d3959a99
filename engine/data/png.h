/* A minimal PNG writer for figures: 8-bit greyscale, no filter, one IDAT
 * compressed with zlib; and base64 to embed it in SVG/HTML. */
#ifndef DACC_DATA_PNG_H
#define DACC_DATA_PNG_H
#include <stddef.h>
#include <stdint.h>

/* PX is W x H bytes, row-major (0 black .. 255 white). Returns the file's
 * bytes (malloc'd, *N its length), or NULL on bad sizes or no memory. */
uint8_t *dacc_png_gray8(const uint8_t *px, int w, int h, size_t *n);
/* Base64 (RFC 4648, padded) of N bytes, malloc'd and NUL-terminated. */
char *dacc_base64(const uint8_t *b, size_t n);

#endif
