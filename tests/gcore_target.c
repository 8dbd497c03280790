/* Helper for test_gcore: plants marker bytes in a heap buffer and in an RWX mapping, prints
 * "<heap> <rwx>" as hex addresses on one line, then waits until stdin closes so that the test
 * can take a core of it with gcore. Built without sanitizers: an ASan shadow would be dumped too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RWX_HINT ((void *)0x5a5a00000000ull)

int main(void)
{
    static const char heap_marker[] = "MEMCFG-GCORE-HEAP-MARKER-7f3a";
    static const char rwx_marker[] = "MEMCFG-GCORE-RWX-MARKER-c41d";
    char *heap = malloc(4096);
    if (!heap) return 1;
    memset(heap, 0x5c, 4096);
    memcpy(heap + 64, heap_marker, sizeof heap_marker);
    uint8_t *rwx = mmap(RWX_HINT, 0x10000, PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED) return 1;
    memcpy(rwx + 0x100, rwx_marker, sizeof rwx_marker);
    printf("%llx %llx\n", (unsigned long long)(uintptr_t)(heap + 64),
           (unsigned long long)(uintptr_t)(rwx + 0x100));
    fflush(stdout);
    char c;
    while (read(STDIN_FILENO, &c, 1) > 0) {}
    free(heap);
    munmap(rwx, 0x10000);
    return 0;
}
