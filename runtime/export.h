/* export.h — `--export-perft DIR`, `--export-peft DIR`: trained adapters for other implementations
 * (export.c). */
#ifndef PERFT_RUNTIME_EXPORT_H
#define PERFT_RUNTIME_EXPORT_H

#include "manifest.h"
#include "program.h"

int run_export(const Manifest *manifest, const RunOptions *options);

#endif
