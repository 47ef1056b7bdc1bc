/* prompt.h: the instruction prompt that PERFT fine-tunes with, as text.
 *
 * The template is the one of the official PERFT code (github.com/liuyilun2000/PERFT,
 * commonsense/finetune.py and math/finetune.py, function generate_prompt; the two are the same,
 * and come from LLM-Adapters / alpaca-lora). Written out with "\n" for a line break and "_" for
 * a space where it matters (16 spaces of indentation are part of the text, and the first line
 * ends in one space with an input and in two spaces without):
 *
 *   with a non-empty input:
 *     Below is an instruction that describes a task, paired with an input that provides further
 *     context. Write a response that appropriately completes the request._\n
 *     \n
 *     ________________### Instruction:\n
 *     ________________{instruction}\n
 *     ________________\n
 *     ________________### Input:\n
 *     ________________{input}\n
 *     ________________\n
 *     ________________### Response:\n
 *     ________________{output}
 *
 *   with an empty or absent input:
 *     Below is an instruction that describes a task. Write a response that appropriately
 *     completes the request.__\n
 *     \n
 *     ________________### Instruction:\n
 *     ________________{instruction}\n
 *     ________________\n
 *     ________________### Response:\n
 *     ________________{output}
 *
 * (The first line is one line in the text: no break inside it.) The prompt, the part whose
 * tokens are not trained on, is the same text with an empty output: it ends in 16 spaces.
 */
#ifndef PERFT_DATA_PROMPT_H
#define PERFT_DATA_PROMPT_H

#include <stddef.h>

#include "memory.h"

/* The template's name, written into the token file's metadata (perft.template). */
#define PROMPT_TEMPLATE_NAME "perft-alpaca"

/* One record's fields: UTF-8, each with its length (a string may hold NUL). An absent input is
 * input_length 0. */
typedef struct {
  const char *instruction;
  size_t instruction_length;
  const char *input;
  size_t input_length;
  const char *output;
  size_t output_length;
} PromptFields;

/* Appends the template filled with fields to text: the whole example when with_output, else the
 * prompt alone (the output left empty). */
void prompt_append(const PromptFields *fields, int with_output, ByteBuffer *text);

#endif
