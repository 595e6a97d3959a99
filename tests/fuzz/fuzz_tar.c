/* libFuzzer target: the MNIST fetch's tar reader (engine/data/tar.c). The
 * first byte picks the mode: even -> the rest is gzip-compressed by the
 * harness (the fuzzer explores tar headers); odd -> written as is. The
 * visitor reads small members whole and leaves big ones to the walker. */
#include "data/tar.h"
#include "fuzz_util.h"

#include <fcntl.h>
#include <string.h>

static int visit(void *user, const char *name, char type, int64_t size, gzFile f,
                 dacc_err *e) {
    (void)type;
    if (!name[0] && size > 0) return 0;
    size_t l = strlen(name);
    if (name[0] == '/' || strstr(name, "/../") || !strncmp(name, "../", 3) || !strcmp(name, "..") ||
        (l >= 3 && !strcmp(name + l - 3, "/..")))
        abort(); /* unsafe paths must not reach the visitor */
    if (size < 0 || size > DACC_TAR_MAX_MEMBER) abort();
    if (size > 65536) return 0;
    uint8_t *buf = malloc((size_t)size + 1);
    if (!buf) return -1;
    int rc = dacc_tar_read(f, *(const char **)user, buf, (unsigned)size, e);
    free(buf);
    return rc ? -1 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *p = fuzz_path("in.tgz");
    if (data[0] & 1) fuzz_write(p, data + 1, size - 1);
    else fuzz_write_gz(p, data + 1, size - 1);
    gzFile f = gzopen(p, "rb");
    if (!f) return 0;
    dacc_err e;
    dacc_tar_walk(f, p, visit, &p, &e);
    gzclose(f);
    return 0;
}
