/* module_io.h — reading and writing MLIR modules as text files (perftc and perft-opt). */
#ifndef PERFT_MODULE_IO_H
#define PERFT_MODULE_IO_H

#include <mlir-c/IR.h>

/* Parses the .mlir file at `path` (diagnostics point into it); null on failure (diagnosed;
 * `tool` names the program in messages about the file itself). */
MlirModule module_read(MlirContext context, const char *tool, const char *path);
/* Prints the module to `path` (stdout when NULL), with locations when asked; 0 on failure. */
int module_write(MlirModule module, const char *path, int print_locations);

#endif
