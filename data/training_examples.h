/* training_examples.h: records -> the token rows and label rows that a causal LM trains on, as
 * the official PERFT fine-tuning code makes them (commonsense/finetune.py, math/finetune.py:
 * tokenize and generate_and_tokenize_prompt), with the labels shifted by one here.
 *
 * For each record, with L = max_length and the tokenizer's post-processor adding S special
 * tokens (its template, e.g. "$A <|endoftext|>"):
 *   1. ids = encode(template(record with its output)): the text's ids cut to their first L - S,
 *      then the post-processor's tokens around them -- the tokenizers library's truncation with
 *      max_length L (transformers' truncation=True, max_length=cutoff_len). An example whose text
 *      had more ids is "cut".
 *   2. with add_eos: the EOS id is appended when ids is shorter than L and does not already end
 *      in it. So the cut comes first and EOS after it: a cut example (and one of exactly L ids)
 *      gets no EOS, as in the official code.
 *   3. prompt_length = the length of encode(template(record with output "")), cut and wrapped in
 *      the same way, without EOS: counted as the official code counts it, from the prompt
 *      encoded alone (which may differ by a token from where the response starts inside the
 *      whole example's ids: the prompt ends in 16 spaces, which merge with what follows). It is
 *      0 with train_on_inputs.
 * Rows, for an example with n ids (n <= L) and t = 0 .. L-1:
 *   tokens[t] = ids[t] for t < n, else pad_id
 *   labels[t] = ids[t + 1] when prompt_length <= t + 1 < n, else -100
 * i.e. labels[t] is the token that the logits at position t must predict (the NEXT token), and
 * only for tokens of the response: Hugging Face's unshifted labels (-100 over the first
 * prompt_length positions) moved one to the left, the first position's label dropped and -100
 * added at the end. The positions that count are the same as in the official code's loss.
 */
#ifndef PERFT_DATA_TRAINING_EXAMPLES_H
#define PERFT_DATA_TRAINING_EXAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "tokenizer.h"

enum { LABEL_IGNORED = -100 };

#define EOS_TOKEN_TEXT "<|endoftext|>"     /* --eos appends this token's id */
#define PADDING_TOKEN_TEXT "<|padding|>"   /* padding is this token's id when it exists, else 0 */

typedef struct {
  int max_length;      /* L: the length of every row, and where ids are cut */
  int add_eos;         /* append EOS_TOKEN_TEXT's id (the official code's add_eos_token) */
  int train_on_inputs; /* labels for the prompt's tokens too (the official code's default) */
} ExampleOptions;

typedef struct {
  TokenIds ids;             /* every example's ids, one after another */
  size_t *offsets;          /* (count + 1): example i is ids.ids[offsets[i] .. offsets[i + 1]) */
  size_t *prompt_lengths;   /* (count): labels stay -100 until position prompt_length - 1 */
  size_t count;
  size_t max_length;        /* L */
  size_t cut_count;         /* examples whose text had more ids than fit */
  size_t loss_token_count;  /* labels that are not -100, over all examples */
  int32_t pad_id;
} TrainingExamples;

/* Encodes every record. On failure (EOS wanted but not in the tokenizer, a max_length that
 * leaves no room for text, a post-processor template without exactly one $A) returns 0 with
 * one line in error. */
int training_examples_build(Tokenizer *tokenizer, const Dataset *dataset, const ExampleOptions *options,
                            TrainingExamples *examples, char *error, size_t error_size);
/* Example index's row of tokens or of labels (above), max_length entries. */
void training_examples_token_row(const TrainingExamples *examples, size_t index, int32_t *row);
void training_examples_label_row(const TrainingExamples *examples, size_t index, int32_t *row);
void training_examples_destroy(TrainingExamples *examples);

#endif
