/* Writers never follow a link planted at a temporary or target name, and the
 * run-directory locks (include/dacc/runlock.h) exclude a second holder, name
 * it, and go away with their process. */
#include "harness.h"

#include "dacc/align.h"
#include "dacc/fileio.h"
#include "dacc/npz.h"
#include "dacc/runlock.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char VICTIM_TEXT[] = "precious\n";

/* A fresh victim file with known content; its path in VICTIM. */
static void make_victim(const char *dir, char *victim, size_t n) {
    snprintf(victim, n, "%s/victim", dir);
    FILE *f = fopen(victim, "wb");
    fputs(VICTIM_TEXT, f);
    fclose(f);
}

static int victim_intact(const char *victim) {
    char buf[64] = "";
    FILE *f = fopen(victim, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return !strcmp(buf, VICTIM_TEXT);
}

static int is_regular_nolink(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Files in DIR whose name starts with PREFIX (left-over temporary files). */
static int count_prefixed(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += !strncmp(de->d_name, prefix, strlen(prefix));
    if (d) closedir(d);
    return n;
}

/* Makes DIR/NAME (plus ".tmp") a link to the victim, as an attacker sharing
 * the run directory would. */
static void plant(const char *dir, const char *name, const char *victim) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.tmp", dir, name);
    unlink(p);
    if (symlink(victim, p) != 0) perror("symlink");
}

static void test_atomic_and_append(const char *dir, const char *victim) {
    dacc_err e;
    char path[1024];
    plant(dir, "progress.json", victim);
    snprintf(path, sizeof path, "%s/progress.json", dir);
    CHECK(dacc_write_file_atomic(path, "{}\n", 3, &e) == 0, "atomic write: %s", e.msg);
    CHECK(victim_intact(victim), "atomic write followed the link at progress.json.tmp");
    CHECK(is_regular_nolink(path), "progress.json is not a regular file");
    CHECK(count_prefixed(dir, "progress.json.tmp-") == 0, "a temporary file was left behind");

    /* an append through a link at the target itself is refused */
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    if (symlink(victim, path) != 0) perror("symlink");
    CHECK(dacc_append_file(path, "x\n", 2, &e) != 0, "append followed a link at metrics.jsonl");
    CHECK(strstr(e.msg, "metrics.jsonl") != NULL, "append error does not name the file: %s", e.msg);
    CHECK(victim_intact(victim), "append wrote through a link");
    unlink(path);
}

/* Left-over temporary files are removed (a link unlinked, not followed);
 * other files stay. */
static void test_tmp_remove_all(const char *dir, const char *victim) {
    char sub[1024], p[1200];
    snprintf(sub, sizeof sub, "%s/task", dir);
    mkdir(sub, 0755);
    const char *names[4] = {"checkpoint.dacc.tmp-123-0badf00d", "results.json.tmp-9-00000001", "results.json",
                            "metrics.jsonl"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", sub, names[i]);
        FILE *f = fopen(p, "wb");
        if (f) fclose(f);
    }
    snprintf(p, sizeof p, "%s/progress.json.tmp-5-12345678", sub);
    if (symlink(victim, p) != 0) perror("symlink");
    dacc_tmp_remove_all(sub);
    CHECK(count_prefixed(sub, "checkpoint.dacc.tmp-") == 0, "a temporary file was not removed");
    CHECK(count_prefixed(sub, "results.json.tmp-") == 0, "a temporary file was not removed");
    CHECK(count_prefixed(sub, "progress.json.tmp-") == 0, "a temporary link was not removed");
    CHECK(count_prefixed(sub, "results.json") == 1 && count_prefixed(sub, "metrics.jsonl") == 1,
          "a file that is not temporary was removed");
    CHECK(victim_intact(victim), "removing a temporary link touched its target");
}

static void test_npz_writer(const char *dir, const char *victim) {
    dacc_err e;
    char path[1024];
    snprintf(path, sizeof path, "%s/w.npz", dir);
    plant(dir, "w.npz", victim);
    dacc_npz_writer *w;
    int rc = dacc_npz_writer_open(path, 1, &w, &e);
    CHECK(rc == 0, "npz writer open: %s", rc ? e.msg : "");
    if (rc) return;
    float x[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    CHECK(dacc_npz_writer_add(w, "x", "<f4", 1, shape, x, &e) == 0, "npz add: %s", e.msg);
    CHECK(dacc_npz_writer_close(w, &e) == 0, "npz close: %s", e.msg);
    CHECK(victim_intact(victim), "npz writer followed the link at w.npz.tmp");
    CHECK(is_regular_nolink(path), "w.npz not written as a regular file");
    CHECK(count_prefixed(dir, "w.npz.tmp-") == 0, "npz writer left a temporary file");
    dacc_npz *z;
    rc = dacc_npz_open(path, &z, &e);
    CHECK(rc == 0, "written npz does not open: %s", rc ? e.msg : "");
    if (rc == 0) dacc_npz_close(z);

    /* two writers of one path open at once (two shards generating the same
     * cached set): each has its own temporary file, both renames succeed */
    dacc_npz_writer *w2;
    rc = dacc_npz_writer_open(path, 0, &w, &e);
    int rc2 = rc == 0 ? dacc_npz_writer_open(path, 0, &w2, &e) : -1;
    CHECK(rc == 0 && rc2 == 0, "two npz writers of one path: %s", e.msg);
    if (rc == 0 && rc2 == 0) {
        float y[2] = {5, 6};
        int64_t s2[1] = {2};
        CHECK(dacc_npz_writer_add(w, "x", "<f4", 1, shape, x, &e) == 0, "npz add 1: %s", e.msg);
        CHECK(dacc_npz_writer_add(w2, "y", "<f4", 1, s2, y, &e) == 0, "npz add 2: %s", e.msg);
        CHECK(dacc_npz_writer_close(w, &e) == 0, "first of two writers: %s", e.msg);
        CHECK(dacc_npz_writer_close(w2, &e) == 0, "second of two writers: %s", e.msg);
        rc = dacc_npz_open(path, &z, &e);
        CHECK(rc == 0, "npz after two writers does not open: %s", rc ? e.msg : "");
        if (rc == 0) dacc_npz_close(z);
    }

    /* an aborted writer leaves nothing behind */
    rc = dacc_npz_writer_open(path, 0, &w, &e);
    CHECK(rc == 0, "npz writer reopen: %s", rc ? e.msg : "");
    if (rc == 0) dacc_npz_writer_abort(w);
    CHECK(count_prefixed(dir, "w.npz.tmp-") == 0, "aborted npz writer left a temporary file");
}

/* The writer only: a small hand-made model (the reader's checks are
 * test_class_model's; the shipped file's version may lag the reader's). */
static void test_class_model(const char *dir, const char *victim) {
    char path[1024];
    dacc_err e;
    double chol[4] = {1, 0, 0.5, 2};
    dacc_align_model m;
    memset(&m, 0, sizeof m);
    m.rows = m.cols = 28;
    m.d = 2;
    m.nclasses = 1;
    m.chol = chol;
    snprintf(path, sizeof path, "%s/model.bin", dir);
    plant(dir, "model.bin", victim);
    CHECK(dacc_align_model_save(&m, path, &e) == 0, "class model save: %s", e.msg);
    CHECK(victim_intact(victim), "class model writer followed the link at model.bin.tmp");
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 100, "model.bin not written as a regular file");
    CHECK(count_prefixed(dir, "model.bin.tmp-") == 0, "class model writer left a temporary file");
}

static void test_locks_in_process(const char *dir, const char *victim) {
    char path[1024], holder[320], want[64];
    dacc_err e;
    dacc_lock *a = NULL, *b = NULL;
    snprintf(path, sizeof path, "%s/.lock-task", dir);
    CHECK(dacc_lock_try(path, &a, holder, sizeof holder, &e) == 0 && a, "first lock: %s", e.msg);
    /* a second open file description conflicts even within one process */
    CHECK(dacc_lock_try(path, &b, holder, sizeof holder, &e) == 1 && !b, "second lock was granted");
    snprintf(want, sizeof want, "pid %ld on host ", (long)getpid());
    CHECK(!strncmp(holder, want, strlen(want)), "holder '%s' does not name pid %ld", holder, (long)getpid());
    dacc_lock_release(a);
    CHECK(dacc_lock_try(path, &b, holder, sizeof holder, &e) == 0 && b, "lock not free after release");
    dacc_lock_release(b);

    /* the shard lock's refusal names the folder, the shard and the holder */
    CHECK(dacc_lock_shard(dir, 1, 4, &a, &e) == 0, "shard lock: %s", e.msg);
    CHECK(dacc_lock_shard(dir, 1, 4, &b, &e) != 0, "second shard 1/4 lock was granted");
    CHECK(strstr(e.msg, dir) && strstr(e.msg, "1/4") && strstr(e.msg, want), "unclear refusal: %s", e.msg);
    CHECK(dacc_lock_shard(dir, 2, 4, &b, &e) == 0, "shard 2/4 blocked by shard 1/4: %s", e.msg);
    dacc_lock_release(b);
    dacc_lock_release(a);

    /* a link planted as the lock file is refused, not followed */
    snprintf(path, sizeof path, "%s/.lock-shard-0-of-1", dir);
    if (symlink(victim, path) != 0) perror("symlink");
    CHECK(dacc_lock_shard(dir, 0, 1, &a, &e) != 0, "a symlinked lock file was used");
    CHECK(victim_intact(victim), "locking wrote through a link");
    unlink(path);
}

/* A lock held by another process is reported with that process's pid and
 * is free again once that process has ended (here: _exit without unlock). */
static void test_lock_other_process(const char *dir) {
    char path[1024], holder[320], want[64];
    dacc_err e;
    snprintf(path, sizeof path, "%s/.lock-child", dir);
    int up[2], down[2];
    if (pipe(up) || pipe(down)) return;
    pid_t pid = fork();
    if (pid == 0) {
        dacc_lock *l;
        char c = dacc_lock_try(path, &l, NULL, 0, &e) == 0 ? 'y' : 'n';
        if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) < 0) _exit(1);
        _exit(0); /* no release: the kernel drops the lock */
    }
    char c = 0;
    CHECK(read(up[0], &c, 1) == 1 && c == 'y', "child could not take the lock");
    dacc_lock *l = NULL;
    CHECK(dacc_lock_try(path, &l, holder, sizeof holder, &e) == 1, "lock held by a child was granted");
    snprintf(want, sizeof want, "pid %ld on host ", (long)pid);
    CHECK(!strncmp(holder, want, strlen(want)), "holder '%s' is not the child %ld", holder, (long)pid);
    if (write(down[1], "x", 1) != 1) perror("write");
    waitpid(pid, NULL, 0);
    CHECK(dacc_lock_try(path, &l, holder, sizeof holder, &e) == 0, "lock not freed by its holder's exit");
    dacc_lock_release(l);
    close(up[0]); close(up[1]); close(down[0]); close(down[1]);
}

int main(void) {
    const char *dir = test_tmpdir();
    char victim[1024];
    make_victim(dir, victim, sizeof victim);
    test_atomic_and_append(dir, victim);
    test_tmp_remove_all(dir, victim);
    test_npz_writer(dir, victim);
    test_class_model(dir, victim);
    test_locks_in_process(dir, victim);
    test_lock_other_process(dir);
    CHECK(victim_intact(victim), "the victim file changed");
    return test_finish();
}
