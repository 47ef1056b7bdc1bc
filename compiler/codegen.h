/* codegen.h — the CPU backend: lowered MLIR -> LLVM dialect -> LLVM IR -> object -> executable. */
#ifndef PERFT_CODEGEN_H
#define PERFT_CODEGEN_H

#include <mlir-c/IR.h>
#include <stdio.h>

/* Reads the program's manifest (docs/ABI.md) off the lowered module's
 * @train_step signature; returns a malloc'd string, or NULL (diagnosed). */
char *codegen_manifest(MlirModule module);

/* Runs the upstream pipeline from loops on memrefs down to the LLVM dialect.
 * `print_after_all` prints the IR after every pass to stderr. */
int codegen_lower_to_llvm_dialect(MlirModule module, int print_after_all);

/* The kinds of file codegen_emit writes. */
typedef enum { EMIT_LLVM_IR, EMIT_OBJECT } EmitKind;

/* Translates an LLVM-dialect module to LLVM IR, adds the ABI entry points
 * (perft_train_step, perft_forward, perft_manifest), optimises (O2, native
 * CPU) and writes the result to `path`. */
int codegen_emit(MlirModule module, const char *manifest, EmitKind kind, const char *path);

/* Links an object with the runtime library into an executable. */
int codegen_link(const char *object_path, const char *runtime_library, const char *output_path);

#endif
