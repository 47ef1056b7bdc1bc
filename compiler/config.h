/* config.h — perftc --config FILE.json (config.c). */
#ifndef PERFT_COMPILER_CONFIG_H
#define PERFT_COMPILER_CONFIG_H

#include "dsl.h"

/* Appends to overrides, for every `dim NAME = ... config KEY` of program that -D did not set,
 * the value under KEY in the JSON object at path. 0 after printing an error. */
int config_read_dims(const AstProgram *program, const char *path, DimOverride *overrides, int *num_overrides,
                     int capacity);

#endif
