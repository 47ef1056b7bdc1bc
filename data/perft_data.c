/* perft_data.c: an instruction data set (LLM-Adapters JSON) -> a token file to train on.
 *
 *   perft-data TOKENIZER.json DATA.json OUT.safetensors [--max-length 256] [--eos] [--train-on-inputs]
 *
 * Each record is filled into the PERFT prompt template (prompt.h), encoded with the tokenizer,
 * cut at --max-length and given labels as training_examples.h describes. OUT.safetensors holds
 *   tokens  I32 [N, L]  the ids, padded with <|padding|>'s id (0 when the tokenizer has none)
 *   labels  I32 [N, L]  labels[i, t] = tokens[i, t + 1] where that next token is part of the
 *                       response, else -100 (prompt, the last position, padding)
 * with L = --max-length and metadata perft.kind "tokens", perft.template, perft.max_length,
 * perft.examples, perft.loss_tokens, perft.cut_examples, perft.pad_id, perft.eos,
 * perft.train_on_inputs, perft.labels. --eos appends <|endoftext|> as the official code does
 * (after the cut, when there is room); --train-on-inputs gives the prompt's tokens labels too (the
 * official code's default, which its scripts keep). Prints one summary line. Errors are one line
 * on stderr, exit status 1:
 *   data.json:14:5: error: record 2 (0-based): field "output" is a number, expected a string
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "prompt.h"
#include "safetensors_writer.h"
#include "tokenizer.h"
#include "training_examples.h"

typedef struct {
  const char *tokenizer_path, *data_path, *output_path;
  ExampleOptions examples;
} Options;

static void usage(const char *message) {
  fprintf(stderr,
          "perft-data: error: %s\n"
          "usage: perft-data TOKENIZER.json DATA.json OUT.safetensors [--max-length 256] [--eos] "
          "[--train-on-inputs]\n",
          message);
  exit(1);
}

static int parse_max_length(const char *text) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno || end == text || *end || value < 1 || value > (1L << 24)) {
    char message[256];
    snprintf(message, sizeof message, "--max-length wants a whole number from 1 to %ld, not '%s'", 1L << 24, text);
    usage(message);
  }
  return (int)value;
}

static Options parse_options(int argc, char **argv) {
  Options options = {.examples = {.max_length = 256}};
  const char **positional[] = {&options.tokenizer_path, &options.data_path, &options.output_path};
  size_t positional_count = 0;
  for (int index = 1; index < argc; index++) {
    const char *argument = argv[index];
    char message[256];
    if (strcmp(argument, "--max-length") == 0) {
      if (index + 1 == argc) usage("--max-length wants a number");
      options.examples.max_length = parse_max_length(argv[++index]);
    } else if (strcmp(argument, "--eos") == 0) {
      options.examples.add_eos = 1;
    } else if (strcmp(argument, "--train-on-inputs") == 0) {
      options.examples.train_on_inputs = 1;
    } else if (argument[0] == '-' && argument[1]) {
      snprintf(message, sizeof message, "unknown option '%s'", argument);
      usage(message);
    } else if (positional_count == 3) {
      snprintf(message, sizeof message, "unexpected argument '%s' (three files: tokenizer, data, output)", argument);
      usage(message);
    } else {
      *positional[positional_count++] = argument;
    }
  }
  if (positional_count < 3) usage("three files are needed: TOKENIZER.json DATA.json OUT.safetensors");
  return options;
}

static void fill_token_row(const void *examples, size_t row, int32_t *values) {
  training_examples_token_row(examples, row, values);
}

static void fill_label_row(const void *examples, size_t row, int32_t *values) {
  training_examples_label_row(examples, row, values);
}

static int write_token_file(const Options *options, const TrainingExamples *examples, char *error,
                            size_t error_size) {
  char max_length[32], count[32], loss_tokens[32], cut[32], pad[32], eos[32];
  snprintf(max_length, sizeof max_length, "%zu", examples->max_length);
  snprintf(count, sizeof count, "%zu", examples->count);
  snprintf(loss_tokens, sizeof loss_tokens, "%zu", examples->loss_token_count);
  snprintf(cut, sizeof cut, "%zu", examples->cut_count);
  snprintf(pad, sizeof pad, "%ld", (long)examples->pad_id);
  snprintf(eos, sizeof eos, "%s", options->examples.add_eos ? EOS_TOKEN_TEXT : "none");
  const MetadataEntry metadata[] = {
      {"perft.kind", "tokens"},
      {"perft.template", PROMPT_TEMPLATE_NAME},
      {"perft.max_length", max_length},
      {"perft.examples", count},
      {"perft.loss_tokens", loss_tokens},
      {"perft.cut_examples", cut},
      {"perft.pad_id", pad},
      {"perft.eos", eos},
      {"perft.train_on_inputs", options->examples.train_on_inputs ? "true" : "false"},
      {"perft.labels", "next token: labels[i,t] = tokens[i,t+1] for response tokens, else -100"},
  };
  const I32MatrixSource tensors[] = {
      {"tokens", examples->count, examples->max_length, fill_token_row, examples},
      {"labels", examples->count, examples->max_length, fill_label_row, examples},
  };
  return safetensors_write_i32_matrices(options->output_path, tensors, 2, metadata,
                                        sizeof metadata / sizeof metadata[0], error, error_size);
}

int main(int argc, char **argv) {
  Options options = parse_options(argc, argv);
  char error[1024];
  Tokenizer *tokenizer;
  if (!tokenizer_load(options.tokenizer_path, &tokenizer, error, sizeof error)) {
    fprintf(stderr, "%s\n", error);
    return 1;
  }
  Dataset dataset;
  TrainingExamples examples;
  int ok = dataset_load(options.data_path, &dataset, error, sizeof error);
  if (ok) {
    ok = training_examples_build(tokenizer, &dataset, &options.examples, &examples, error, sizeof error) &&
         write_token_file(&options, &examples, error, sizeof error);
    if (ok)
      printf("perft-data: %s: %zu examples, mean length %.1f tokens, %zu cut at %zu, %zu tokens in the loss "
             "-> %s\n",
             options.data_path, examples.count, (double)examples.ids.count / (double)examples.count,
             examples.cut_count, examples.max_length, examples.loss_token_count, options.output_path);
    training_examples_destroy(&examples);
    dataset_destroy(&dataset);
  }
  if (!ok) fprintf(stderr, "%s\n", error);
  tokenizer_destroy(tokenizer);
  return ok ? 0 : 1;
}
