/* data_file.h: --data FILE, the token file perft-data writes (data/README.md): i32 `tokens` [N, L]
 * and `labels` [N, L], a label of −100 outside the loss.
 *
 * The program's token input and its `classify` labels are [T] with T = B·L: a step takes B rows,
 * each drawn uniformly from the training rows by the data stream (so a checkpoint's RNG state is
 * the data position, and a resumed run reads the same rows). Rows whose index is 19 mod 20 are held
 * out for evaluation when the file has at least 20 rows; evaluation draws its B rows from them with
 * its own stream, the same rows at every evaluation.
 */
#ifndef PERFT_RUNTIME_DATA_FILE_H
#define PERFT_RUNTIME_DATA_FILE_H

#include <stddef.h>

#include "arena.h"
#include "data.h"
#include "manifest.h"
#include "rng.h"

typedef struct TokenFile TokenFile;

/* Opens and checks path against the program (shapes, token and label ranges), naming the file,
 * the tensor and the first bad value; exits on a problem. */
TokenFile *data_file_open(const char *path, const Manifest *manifest, const DataPlan *plan);
void data_file_close(TokenFile *file);
void data_file_describe(const TokenFile *file, char *out, size_t out_size);
/* Copies B rows of the split into the token and label inputs. No allocation. */
void data_file_fill(const TokenFile *file, const DataPlan *plan, const Manifest *manifest, Arena *arena, Rng *rng,
                    DataSplit split);

#endif
