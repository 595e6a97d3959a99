/* Plain-C helpers of the vector dropout-mask kernels, which draw eight
 * streams at once (one per lane) and collect eight draws' compare bits in
 * a 64-bit word: byte t holds draw j+t, bit i stream i. */
#ifndef DACC_DROPOUT_MASK_BITS_H
#define DACC_DROPOUT_MASK_BITS_H
#include <stdint.h>
#include <string.h>

/* Transpose the 8x8 bit matrix (bit 8r + c <-> bit 8c + r): byte i then
 * holds stream i's bits for draws j..j+7. */
static inline uint64_t dm_transpose8(uint64_t x) {
    uint64_t t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x ^= t ^ (t << 28);
    return x;
}

/* The 8 bits of b as 8 bytes 0 or 1, bit t in byte t. */
static inline uint64_t dm_bits_to_bytes(uint64_t b) {
    b = (b | b << 28) & 0x0000000F0000000FULL;
    b = (b | b << 14) & 0x0003000300030003ULL;
    b = (b | b << 7) & 0x0101010101010101ULL;
    return b;
}

/* Store 8 draws (bits, as collected above) of `lanes` streams at mask +
 * i * stride + j, only the first `count` draws (1..8). */
static inline void dm_store8(uint64_t bits, int lanes, uint8_t *mask, size_t stride, size_t j,
                             int count) {
    const uint64_t tr = dm_transpose8(bits);
    for (int i = 0; i < lanes; i++) {
        const uint64_t bytes = dm_bits_to_bytes(tr >> (8 * i) & 0xff);
        memcpy(mask + (size_t)i * stride + j, &bytes, (size_t)count); /* little-endian: byte t = draw j+t */
    }
}
#endif
