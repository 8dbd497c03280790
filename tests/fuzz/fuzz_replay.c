/* A libFuzzer harness without libFuzzer: the unit tests link each harness in tests/fuzz with this
 * main (built with -DFZ_REPLAY, gcc or clang, with or without sanitizers) and run it over the
 * committed inputs of tests/data/regress/<harness>/, so that every crash input and kept corpus
 * input goes through the very code that fuzzed it, checks included, in every CI build.
 *
 * Usage: replay_<harness> DIR... Runs LLVMFuzzerInitialize when the harness has one, then
 * LLVMFuzzerTestOneInput once per file of each DIR in name order (dot files and README.md left
 * out), naming each file before it runs so that an abort points at its input. Fails when a
 * directory cannot be read or holds no input: a wrong path must not pass empty. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int keep(const struct dirent *e)
{
    return e->d_name[0] != '.' && strcmp(e->d_name, "README.md") != 0;
}

/* The file's bytes in a block of exactly their size, so that ASan sees a read past the end. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    uint8_t *buf = n >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc(n ? (size_t)n : 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* Runs every input of dir; returns how many, or -1 when dir or one of its files cannot be read. */
static int replay_dir(const char *dir)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, keep, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s\n", dir);
        return -1;
    }
    int done = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
        free(ents[i]);
        if (done < 0)
            continue;
        size_t len = 0;
        uint8_t *p = slurp(path, &len);
        if (!p) {
            fprintf(stderr, "replay: cannot read %s\n", path);
            done = -1;
            continue;
        }
        printf("replay: %s (%zu bytes)\n", path, len);
        fflush(stdout);
        LLVMFuzzerTestOneInput(p, len);
        free(p);
        done++;
    }
    free(ents);
    return done;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR...\n", argv[0]);
        return 2;
    }
    int status = 0;
    for (int a = 1; a < argc; a++) {
        int n = replay_dir(argv[a]);
        if (n == 0)
            fprintf(stderr, "replay: %s holds no input\n", argv[a]);
        else if (n > 0)
            printf("replay: %s: %d inputs\n", argv[a], n);
        if (n <= 0)
            status = 1;
    }
    return status;
}
