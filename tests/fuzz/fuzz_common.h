/* Shared helpers for the libFuzzer harnesses: a sink the optimiser cannot drop (a harness whose
 * results are unused lets -O1 delete the parsing it means to exercise), and a walk over a dump
 * model that touches every bounded reader the decoders use. */
#ifndef MEMCFG_FUZZ_COMMON_H
#define MEMCFG_FUZZ_COMMON_H

#include "memdump.h"

#include <stddef.h>
#include <stdint.h>

extern volatile uint64_t fz_sink;

/* A check too costly for every execution runs on a share of the inputs: FZ_SAMPLE(this input is
 * in the share). A replay (fuzz_replay.c, built with -DFZ_REPLAY) runs it on every input. */
#ifdef FZ_REPLAY
#define FZ_SAMPLE(share) 1
#else
#define FZ_SAMPLE(share) (share)
#endif

/* Base VA of the raw region the harnesses build around their input. */
#define FZ_BASE 0x400000ull

/* Read through every region, run, module, image and string reader of an opened dump, and check
 * the model's invariants (regions inside the buffer, sorted, disjoint); abort() when broken so
 * the fuzzer reports it. */
void fz_walk_dump(const md_dump *d);

/* Open data as a raw dump at FZ_BASE; aborts on failure (only for non-empty data). */
md_dump *fz_raw_dump(const uint8_t *data, size_t size);

#endif
