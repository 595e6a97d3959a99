/* Locks in a run directory (see include/dacc/runlock.h). */
#include "dacc/runlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct dacc_lock {
    int fd;
};

/* Opens (creating) the lock file without following a link. */
static int open_lock_file(const char *path, dacc_err *e) {
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == ELOOP) return dacc_fail(e, "%s: is a symbolic link; refusing to use it as a lock", path);
        return dacc_fail(e, "%s: cannot create the lock file: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dacc_fail(e, "%s: not a regular file; refusing to use it as a lock", path);
    }
    return fd;
}

/* Records who holds the lock: "pid host\n". Advisory only: the lock itself
 * is the flock, so a failed write is not an error. */
static void write_holder(int fd) {
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    char line[320];
    int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), host);
    if (ftruncate(fd, 0) == 0 && n > 0) {
        ssize_t w = pwrite(fd, line, (size_t)n, 0);
        (void)w;
    }
}

/* "pid P on host H" from a held lock file. Its holder writes the line just
 * after taking the lock, so an empty file is read again a few times. */
static void read_holder(int fd, char *out, size_t n) {
    char buf[320];
    for (int attempt = 0; attempt < 20; attempt++) {
        ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
        long pid = 0;
        char host[256];
        if (r > 0) {
            buf[r] = 0;
            if (sscanf(buf, "%ld %255s", &pid, host) == 2 && pid > 0) {
                snprintf(out, n, "pid %ld on host %s", pid, host);
                return;
            }
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(out, n, "an unknown process");
}

static int wrap(int fd, dacc_lock **out, const char *path, dacc_err *e) {
    dacc_lock *l = malloc(sizeof *l);
    if (!l) {
        close(fd);
        return dacc_fail(e, "%s: out of memory", path);
    }
    write_holder(fd);
    l->fd = fd;
    *out = l;
    return 0;
}

int dacc_lock_try(const char *path, dacc_lock **out, char *holder, size_t holder_n, dacc_err *e) {
    *out = NULL;
    int fd = open_lock_file(path, e);
    if (fd < 0) return -1;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        if (err == EWOULDBLOCK) {
            if (holder && holder_n) read_holder(fd, holder, holder_n);
            close(fd);
            return 1;
        }
        close(fd);
        return dacc_fail(e, "%s: cannot lock: %s", path, strerror(err));
    }
    return wrap(fd, out, path, e);
}

int dacc_lock_wait(const char *path, dacc_lock **out, dacc_err *e) {
    *out = NULL;
    int fd = open_lock_file(path, e);
    if (fd < 0) return -1;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        close(fd);
        return dacc_fail(e, "%s: cannot lock: %s", path, strerror(err));
    }
    return wrap(fd, out, path, e);
}

int dacc_lock_shard(const char *dir, int shard_i, int shard_n, dacc_lock **out, dacc_err *e) {
    *out = NULL;
    if (shard_n < 1) shard_n = 1, shard_i = 0;
    char path[4200], holder[320];
    int k = snprintf(path, sizeof path, "%s/.lock-shard-%d-of-%d", dir, shard_i, shard_n);
    if (k < 0 || (size_t)k >= sizeof path) return dacc_fail(e, "%s: path too long", dir);
    int rc = dacc_lock_try(path, out, holder, sizeof holder, e);
    if (rc > 0)
        return dacc_fail(e, "%s: shard %d/%d of this run directory is already running (%s); "
                            "wait for it to end or stop it, then run this again",
                         dir, shard_i, shard_n, holder);
    return rc;
}

void dacc_lock_release(dacc_lock *l) {
    if (!l) return;
    flock(l->fd, LOCK_UN);
    close(l->fd);
    free(l);
}
