/* training_examples.c: record -> (ids, prompt length) -> rows of tokens and next-token labels
 * (training_examples.h has the rule, step by step). */
#include "training_examples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompt.h"

/* What the post-processor puts around a text's ids: special ids before and after. */
typedef struct {
  TokenIds specials;   /* encode("") with special tokens: the prefix, then the suffix */
  size_t prefix_count; /* how many of specials come before the text */
  size_t text_limit;   /* max_length - specials.count: the most ids of text that are kept */
  int32_t eos_id;      /* -1 without add_eos */
} Wrapping;

/* The id whose text is exactly text (an added token or a vocabulary entry), or -1. */
static int32_t find_token_id(const Tokenizer *tokenizer, const char *text) {
  size_t length = strlen(text);
  for (size_t id = 0; id < tokenizer->id_count; id++)
    if (tokenizer->id_texts[id] && tokenizer->id_text_lengths[id] == length &&
        memcmp(tokenizer->id_texts[id], text, length) == 0)
      return (int32_t)id;
  return -1;
}

/* How many special ids the post-processor's templates, applied in order, put before the text. */
static int count_prefix(const Tokenizer *tokenizer, size_t *prefix_count, char *error, size_t error_size) {
  *prefix_count = 0;
  for (size_t index = 0; index < tokenizer->template_count; index++) {
    const PostTemplate *template = &tokenizer->templates[index];
    size_t before = 0, sequences = 0;
    for (size_t piece = 0; piece < template->count; piece++) {
      if (template->pieces[piece].is_sequence) sequences++;
      else if (!sequences) before += template->pieces[piece].id_count;
    }
    if (sequences != 1) {
      snprintf(error, error_size, "%s: error: post-processor template %zu holds $A %zu times; perft-data "
               "needs it exactly once", tokenizer->path, index, sequences);
      return 0;
    }
    *prefix_count += before;
  }
  return 1;
}

static int wrapping_create(Tokenizer *tokenizer, const ExampleOptions *options, Wrapping *wrapping, char *error,
                           size_t error_size) {
  *wrapping = (Wrapping){.eos_id = -1};
  if (!count_prefix(tokenizer, &wrapping->prefix_count, error, error_size) ||
      !tokenizer_encode(tokenizer, "", 0, 1, &wrapping->specials, error, error_size))
    return 0;
  if ((size_t)options->max_length <= wrapping->specials.count) {
    snprintf(error, error_size, "perft-data: error: --max-length %d leaves no room for text (the tokenizer's "
             "post-processor adds %zu tokens)", options->max_length, wrapping->specials.count);
    return 0;
  }
  wrapping->text_limit = (size_t)options->max_length - wrapping->specials.count;
  if (options->add_eos && (wrapping->eos_id = find_token_id(tokenizer, EOS_TOKEN_TEXT)) < 0) {
    snprintf(error, error_size, "%s: error: --eos needs the token \"%s\", which this tokenizer does not have",
             tokenizer->path, EOS_TOKEN_TEXT);
    return 0;
  }
  return 1;
}

/* Appends the ids of record's text (with its output or without) to ids, cut and wrapped as the
 * library's truncation does; returns whether it was cut. */
static int encode_wrapped(Tokenizer *tokenizer, const Wrapping *wrapping, const DatasetRecord *record,
                          int with_output, ByteBuffer *text, TokenIds *text_ids, TokenIds *ids) {
  text->length = 0;
  prompt_append(&record->fields, with_output, text);
  text_ids->count = 0;
  char error[256];
  if (!tokenizer_encode(tokenizer, text->bytes, text->length, 0, text_ids, error, sizeof error)) {
    fprintf(stderr, "perft-data: error: %s (the JSON reader let invalid UTF-8 through)\n", error);
    abort();
  }
  int cut = text_ids->count > wrapping->text_limit;
  size_t kept = cut ? wrapping->text_limit : text_ids->count;
  for (size_t index = 0; index < wrapping->prefix_count; index++) token_ids_append(ids, wrapping->specials.ids[index]);
  for (size_t index = 0; index < kept; index++) token_ids_append(ids, text_ids->ids[index]);
  for (size_t index = wrapping->prefix_count; index < wrapping->specials.count; index++)
    token_ids_append(ids, wrapping->specials.ids[index]);
  return cut;
}

/* The labels that are not -100 in an example of `length` ids whose first prompt_length are not
 * trained on: positions t with prompt_length <= t + 1 < length. */
static size_t loss_tokens(size_t length, size_t prompt_length) {
  size_t first_target = prompt_length > 1 ? prompt_length : 1;
  return length > first_target ? length - first_target : 0;
}

int training_examples_build(Tokenizer *tokenizer, const Dataset *dataset, const ExampleOptions *options,
                            TrainingExamples *examples, char *error, size_t error_size) {
  *examples = (TrainingExamples){.max_length = (size_t)options->max_length};
  Wrapping wrapping;
  if (!wrapping_create(tokenizer, options, &wrapping, error, error_size)) {
    token_ids_free(&wrapping.specials);
    return 0;
  }
  int32_t pad_id = find_token_id(tokenizer, PADDING_TOKEN_TEXT);
  examples->pad_id = pad_id >= 0 ? pad_id : 0;
  examples->offsets = DATA_ALLOCATE(dataset->count + 1, size_t);
  examples->prompt_lengths = DATA_ALLOCATE(dataset->count, size_t);
  examples->count = dataset->count;
  ByteBuffer text = {0};
  TokenIds text_ids = {0}, prompt_ids = {0};
  for (size_t index = 0; index < dataset->count; index++) {
    const DatasetRecord *record = &dataset->records[index];
    size_t begin = examples->offsets[index] = examples->ids.count;
    examples->cut_count += encode_wrapped(tokenizer, &wrapping, record, 1, &text, &text_ids, &examples->ids);
    size_t length = examples->ids.count - begin;
    if (wrapping.eos_id >= 0 && length < examples->max_length &&
        (length == 0 || examples->ids.ids[examples->ids.count - 1] != wrapping.eos_id)) {
      token_ids_append(&examples->ids, wrapping.eos_id);
      length++;
    }
    prompt_ids.count = 0;
    if (!options->train_on_inputs) encode_wrapped(tokenizer, &wrapping, record, 0, &text, &text_ids, &prompt_ids);
    examples->prompt_lengths[index] = prompt_ids.count;
    examples->loss_token_count += loss_tokens(length, prompt_ids.count);
  }
  examples->offsets[dataset->count] = examples->ids.count;
  byte_buffer_free(&text);
  token_ids_free(&text_ids);
  token_ids_free(&prompt_ids);
  token_ids_free(&wrapping.specials);
  return 1;
}

void training_examples_token_row(const TrainingExamples *examples, size_t index, int32_t *row) {
  size_t begin = examples->offsets[index], length = examples->offsets[index + 1] - begin;
  for (size_t t = 0; t < examples->max_length; t++) row[t] = t < length ? examples->ids.ids[begin + t] : examples->pad_id;
}

void training_examples_label_row(const TrainingExamples *examples, size_t index, int32_t *row) {
  size_t begin = examples->offsets[index], length = examples->offsets[index + 1] - begin;
  size_t prompt_length = examples->prompt_lengths[index];
  for (size_t t = 0; t < examples->max_length; t++)
    row[t] = t + 1 >= prompt_length && t + 1 < length ? examples->ids.ids[begin + t + 1] : LABEL_IGNORED;
}

void training_examples_destroy(TrainingExamples *examples) {
  token_ids_free(&examples->ids);
  free(examples->offsets);
  free(examples->prompt_lengths);
  *examples = (TrainingExamples){0};
}
