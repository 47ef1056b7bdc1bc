/* lower_perft_kernels.h — the loop nest of each perft op, on memrefs. */
#ifndef PERFT_LOWER_PERFT_KERNELS_H
#define PERFT_LOWER_PERFT_KERNELS_H

#include "loop_builder.h"

/* Scratch memory for kernels that need it (counting sorts, histograms). */
typedef MlirValue (*ScratchAllocator)(void *context, MlirType memref_type);

/* Emits loops computing `op` (a perft.* op) from the operand buffers `in`
 * into the result buffers `out`. Returns 0 if `op` is not a perft op this
 * lowering knows. */
int lower_perft_op(Kernel *k, MlirOperation op, const MlirValue *in, const MlirValue *out,
                   ScratchAllocator allocate, void *allocator_context);

#endif
