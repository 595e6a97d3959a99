/* File helpers (see include/dacc/fileio.h): regular-file checks on input,
 * unique no-follow temporary files and rename on output, mkdir -p, clocks. */
#include "dacc/fileio.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int dacc_open_regular(const char *path, dacc_err *e) {
    /* O_NONBLOCK so that opening a FIFO does not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return dacc_fail(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return dacc_fail(e, "%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return dacc_fail(e, "%s: not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int err = errno;
        close(fd);
        return dacc_fail(e, "%s: %s", path, strerror(err));
    }
    return fd;
}

FILE *dacc_fopen_regular(const char *path, dacc_err *e) {
    int fd = dacc_open_regular(path, e);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        dacc_fail(e, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

int dacc_read_file(const char *path, size_t max, char **out, size_t *n, dacc_err *e) {
    *out = NULL;
    *n = 0;
    int fd = dacc_open_regular(path, e);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return dacc_fail(e, "%s: larger than %zu bytes", path, max);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return dacc_fail(e, "%s: out of memory", path);
    }
    for (;;) { /* the file may grow while we read: stop at the bound */
        if (len + 1 == cap) {
            if (cap - 1 >= max) break;
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) break;
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int err = errno;
            free(buf);
            close(fd);
            return dacc_fail(e, "%s: read failed: %s", path, strerror(err));
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    *out = buf;
    *n = len;
    return 0;
}

int dacc_tmp_create(const char *path, char *tmp, size_t tmp_n, dacc_err *e) {
    for (int attempt = 0; attempt < 16; attempt++) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (uint32_t)(dacc_now_s() * 1e9) ^ ((uint32_t)attempt * 2654435761u);
        int k = snprintf(tmp, tmp_n, "%s.tmp-%ld-%08x", path, (long)getpid(), r);
        if (k < 0 || (size_t)k >= tmp_n) return dacc_fail(e, "%s: path too long", path);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) return fd;
        if (errno != EEXIST) return dacc_fail(e, "%s: cannot create: %s", tmp, strerror(errno));
    }
    return dacc_fail(e, "%s: cannot find a free temporary name", path);
}

void dacc_tmp_abort(int fd, const char *tmp) {
    if (fd >= 0) close(fd);
    unlink(tmp);
}

int dacc_tmp_commit(int fd, const char *tmp, const char *path, dacc_err *e) {
    if (fsync(fd) != 0) {
        int err = errno;
        dacc_tmp_abort(fd, tmp);
        return dacc_fail(e, "%s: cannot flush to disk: %s", path, strerror(err));
    }
    if (close(fd) != 0) {
        int err = errno;
        unlink(tmp);
        return dacc_fail(e, "%s: cannot flush to disk: %s", path, strerror(err));
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return dacc_fail(e, "%s: cannot rename into place: %s", path, strerror(err));
    }
    return 0;
}

void dacc_tmp_remove_all(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char path[4400];
    while ((de = readdir(d))) {
        int k = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".tmp-") && k > 0 && (size_t)k < sizeof path) unlink(path);
    }
    closedir(d);
}

static int write_all(int fd, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int dacc_write_file_atomic(const char *path, const void *data, size_t n, dacc_err *e) {
    char tmp[4200];
    int fd = dacc_tmp_create(path, tmp, sizeof tmp, e);
    if (fd < 0) return -1;
    if (write_all(fd, data, n) != 0) {
        int err = errno;
        dacc_tmp_abort(fd, tmp);
        return dacc_fail(e, "%s: write failed: %s", path, strerror(err));
    }
    return dacc_tmp_commit(fd, tmp, path, e);
}

int dacc_append_file(const char *path, const void *data, size_t n, dacc_err *e) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) return dacc_fail(e, "%s: cannot open for appending: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dacc_fail(e, "%s: not a regular file", path);
    }
    int rc = write_all(fd, data, n);
    int err = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    if (rc != 0) return dacc_fail(e, "%s: write failed: %s", path, strerror(err));
    return 0;
}

int dacc_mkdir_p(const char *path, dacc_err *e) {
    char buf[4096];
    int r = snprintf(buf, sizeof buf, "%s", path);
    if (r <= 0 || (size_t)r >= sizeof buf) return dacc_fail(e, "%s: path too long or empty", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return dacc_fail(e, "%s: cannot create folder: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return dacc_fail(e, "%s: exists and is not a folder", path);
    return 0;
}

double dacc_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
