/* external_pass.h — a C function over the module, wrapped as an MLIR pass.
 *
 *   static void run(MlirOperation module, MlirExternalPass pass, void *options) { ... }
 *   MlirPass p = perft_module_pass("PerftPruneDead", "perft-prune-dead", "...", run, NULL, 0);
 *
 * The options (copied, `size` bytes) travel with the pass and with every clone the
 * pass manager makes; `run` signals failure with mlirExternalPassSignalFailure.
 */
#ifndef PERFT_EXTERNAL_PASS_H
#define PERFT_EXTERNAL_PASS_H

#include <mlir-c/Pass.h>
#include <stddef.h>

typedef void (*ModulePassBody)(MlirOperation module, MlirExternalPass pass, void *options);

MlirPass perft_module_pass(const char *name, const char *argument, const char *description,
                           ModulePassBody run, const void *options, size_t size);

#endif
