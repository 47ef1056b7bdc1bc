/* prompt.c: the PERFT / LLM-Adapters instruction template (prompt.h), filled in.
 *
 *   {instruction, input, output} -> "Below is an instruction ... ### Response:\n" + 16 spaces + output
 */
#include "prompt.h"

#define INDENT "                " /* 16 spaces: the official template's indentation, kept */

static const char HEADER_WITH_INPUT[] =
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request. \n\n";
static const char HEADER_WITHOUT_INPUT[] =
    "Below is an instruction that describes a task. Write a response that appropriately completes "
    "the request.  \n\n";

static void append_literal(ByteBuffer *text, const char *literal) {
  size_t length = 0;
  while (literal[length]) length++;
  byte_buffer_append(text, literal, length);
}

void prompt_append(const PromptFields *fields, int with_output, ByteBuffer *text) {
  int has_input = fields->input_length > 0;
  append_literal(text, has_input ? HEADER_WITH_INPUT : HEADER_WITHOUT_INPUT);
  append_literal(text, INDENT "### Instruction:\n" INDENT);
  byte_buffer_append(text, fields->instruction, fields->instruction_length);
  append_literal(text, "\n" INDENT "\n");
  if (has_input) {
    append_literal(text, INDENT "### Input:\n" INDENT);
    byte_buffer_append(text, fields->input, fields->input_length);
    append_literal(text, "\n" INDENT "\n");
  }
  append_literal(text, INDENT "### Response:\n" INDENT);
  if (with_output) byte_buffer_append(text, fields->output, fields->output_length);
}
