/* A real ELF core: run the gcore_target helper, dump it with gdb's gcore, and find its markers at
 * the addresses it printed. Skipped (with a message) when gcore is missing or ptrace is refused. */
#include "md_internal.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char heap_marker[] = "MEMCFG-GCORE-HEAP-MARKER-7f3a";
static const char rwx_marker[] = "MEMCFG-GCORE-RWX-MARKER-c41d";

/* The helper sits next to this test binary in the build tree unless the environment says else. */
static bool target_path(char *out, size_t n)
{
    const char *env = getenv("MEMCFG_GCORE_TARGET");
    if (env && *env) {
        snprintf(out, n, "%s", env);
    } else {
        char self[PATH_MAX];
        ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k <= 0) return false;
        self[k] = 0;
        char *slash = strrchr(self, '/');
        if (!slash) return false;
        slash[1] = 0;
        if (strlcpy(out, self, n) >= n || strlcat(out, "gcore_target", n) >= n) return false;
    }
    char real[PATH_MAX];
    if (!realpath(out, real)) return false;
    snprintf(out, n, "%s", real);
    return access(out, X_OK) == 0;
}

typedef struct child {
    pid_t pid;
    int in_fd;           /* closing it lets the helper exit */
    uint64_t heap, rwx;
} child;

static bool start_target(const char *path, child *c)
{
    int in[2], outp[2];
    if (pipe(in) != 0 || pipe(outp) != 0) return false;
    c->pid = fork();
    if (c->pid < 0) return false;
    if (c->pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(outp[1], STDOUT_FILENO);
        close(in[1]);
        close(outp[0]);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    c->in_fd = in[1];
    FILE *f = fdopen(outp[0], "r");
    if (!f) return false;
    unsigned long long h = 0, r = 0;
    int got = fscanf(f, "%llx %llx", &h, &r);
    fclose(f);
    c->heap = h;
    c->rwx = r;
    return got == 2;
}

static void stop_target(child *c)
{
    if (c->in_fd >= 0) close(c->in_fd);
    c->in_fd = -1;
    if (c->pid > 0) {
        int st;
        if (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) kill(c->pid, SIGKILL);
    }
    c->pid = 0;
}

static bool has_module(const md_dump *d, const char *path)
{
    for (size_t i = 0; i < d->nmodules; i++)
        if (strcmp(d->modules[i].path, path) == 0) return true;
    return false;
}

static void skip(const char *why, const char *log)
{
    fprintf(stderr, "test_gcore: SKIPPED: %s\n", why);
    size_t n = 0;
    uint8_t *text = log ? tu_read_file(log, &n) : NULL;
    if (text) {
        fprintf(stderr, "%.*s\n", (int)(n > 600 ? 600 : n), (const char *)text);
        free(text);
    }
}

START_TEST(gcore_markers)
{
    if (system("command -v gcore >/dev/null 2>&1") != 0) {
        skip("gcore (gdb) is not installed", NULL);
        return;
    }
    char target[PATH_MAX];
    ck_assert_msg(target_path(target, sizeof target), "gcore_target helper not found next to the test");
    child c = { .in_fd = -1 };
    ck_assert_msg(start_target(target, &c), "gcore_target did not start");

    char core[PATH_MAX + 32], log[PATH_MAX + 32], cmd[3 * PATH_MAX];
    snprintf(core, sizeof core, "%s/core.%d", tu_tmpdir(), (int)c.pid);
    snprintf(log, sizeof log, "%s/gcore.log", tu_tmpdir());
    snprintf(cmd, sizeof cmd, "gcore -o '%s/core' %d >'%s' 2>&1 </dev/null", tu_tmpdir(), (int)c.pid, log);
    int rc = system(cmd);
    if (rc != 0 || access(core, R_OK) != 0) {
        stop_target(&c);
        skip("gcore could not dump the helper (ptrace not permitted?)", log);
        return;
    }
    pid_t pid = c.pid;
    stop_target(&c);

    md_dump *d = NULL;
    char err[256];
    md_err e = md_open(core, NULL, &d, err, sizeof err);
    ck_assert_msg(e == MD_OK, "md_open(core): %s", err);
    ck_assert_int_eq(d->format, MD_FMT_ELFCORE);
    ck_assert_int_eq(d->arch, sizeof(void *) == 8 ? MD_ARCH_AMD64 : MD_ARCH_X86);
    ck_assert_uint_eq(d->pid, (uint32_t)pid);

    char got[64];
    ck_assert_uint_eq(md_read(d, c.heap, got, sizeof heap_marker), sizeof heap_marker);
    ck_assert_str_eq(got, heap_marker);
    ck_assert_uint_eq(md_read(d, c.rwx, got, sizeof rwx_marker), sizeof rwx_marker);
    ck_assert_str_eq(got, rwx_marker);
    const md_region *r = md_region_at(d, c.rwx);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->protect, MD_PAGE_EXECUTE_READWRITE);
    ck_assert(r->flags & MD_R_EXEC);
    ck_assert_msg(has_module(d, target), "%s not among %zu modules", target, d->nmodules);
    ck_assert_str_eq(d->process, "gcore_target");
    for (size_t i = 0; i < d->nregions; i++)
        ck_assert_uint_lt(d->regions[i].va, 0xffff800000000000ull);
    md_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gcore");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gcore_markers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
