/* base.h — `--base DIR`: the frozen weights of a published checkpoint folder (base.c). */
#ifndef PERFT_RUNTIME_BASE_H
#define PERFT_RUNTIME_BASE_H

#include "arena.h"
#include "manifest.h"

/* Loads every param that the checkpoint at `dir` holds, under the names of the program's
 * `names hf` map (per expert for bank params) or its own names: DIR/model.safetensors.index.json
 * and its shards, DIR/model.safetensors, or `dir` itself when it is a safetensors file. F32, BF16
 * and F16 tensors are read into the f32 params. Every param but an adapter's (a strategy's) must be
 * there; a missing adapter param keeps its init. loaded[p] = 1 for each param read. Exits with every problem
 * (tensor, file, expected and found shape or dtype) on failure. */
void base_load(const Manifest *manifest, Arena *arena, const char *dir, char *loaded);

#endif
