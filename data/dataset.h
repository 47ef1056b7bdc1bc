/* dataset.h: an instruction-tuning data set in the LLM-Adapters JSON form (Commonsense170K,
 * Math10K, Math50K), read into records for the prompt template (prompt.h).
 *
 * The file is a JSON array of objects, one record each:
 *   [{"instruction": "...", "input": "...", "output": "...", "answer": "..."}, ...]
 * "instruction" and "output" must be strings; "input" must be a string when present (absent is
 * the same as ""); other members ("answer" in Math10K) are ignored. Every error is one line,
 *   PATH:LINE:COLUMN: error: record INDEX (0-based): WHAT
 * at the record's '{' for a missing field, at the value for one of the wrong kind; records are
 * counted from 0, as the array's indices.
 */
#ifndef PERFT_DATA_DATASET_H
#define PERFT_DATA_DATASET_H

#include <stddef.h>

#include "json.h"
#include "prompt.h"

typedef struct {
  PromptFields fields; /* point into the dataset's JSON document */
  int line, column;    /* of the record's '{' */
} DatasetRecord;

typedef struct {
  JsonDocument *document; /* owns the records' strings */
  DatasetRecord *records; /* (count) in file order */
  size_t count;
} Dataset;

/* Reads path. On failure returns 0 with the message in error. On success the dataset is for
 * dataset_destroy. An empty array is an error (nothing to train on). */
int dataset_load(const char *path, Dataset *dataset, char *error, size_t error_size);
void dataset_destroy(Dataset *dataset);

#endif
