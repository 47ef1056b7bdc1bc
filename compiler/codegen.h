/* codegen.h — the back of the compiler: LLVM dialect -> LLVM IR -> object -> executable, for a Target. */
#ifndef PERFT_CODEGEN_H
#define PERFT_CODEGEN_H

#include "target.h"

#include <mlir-c/IR.h>
#include <stdio.h>

/* The kinds of file codegen_emit writes. */
typedef enum { EMIT_LLVM_IR, EMIT_OBJECT } EmitKind;

/* Translates an LLVM-dialect module to LLVM IR, adds the ABI entry points
 * (perft_train_step, perft_forward, and perft_manifest from the module's perft.manifest
 * attribute), optimises (O2, for the target's machine) and writes the result to `path`. */
int codegen_emit(MlirModule module, const Target *target, EmitKind kind, const char *path);

/* The widest vector the host CPU has, in bytes (LLVM's host features): 64 with AVX-512F,
 * 32 with AVX, 16 otherwise. */
int codegen_host_vector_bytes(void);

/* Links an object with a runtime library (the target's) and the target's libraries. */
int codegen_link(const Target *target, const char *object_path, const char *runtime_library, const char *output_path);

#endif
