/* fuzz_inputs.c: libFuzzer target for the data reader, inputs_read (runtime/params.c): the
 * non-fatal half of --dump's inputs_load.
 *
 * A fixed manifest with an f32 input, a ranged i32 input and a seed; each fuzz input is a
 * safetensors file (fuzz_file.h) parsed from memory and, when the reader accepts it, read into
 * the inputs. On success every i32 value lies in its range and the seed is 0; on failure the
 * message is one line naming the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzz_file.h"
#include "launch.h"
#include "manifest.h"
#include "program.h"
#include "safetensors.h"

#define FUZZ_PATH "inputs.safetensors"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* params.c links the data plan, whose teacher runs the program: never here. */
void launch_train_step(void **buffers) {
  (void)buffers;
  abort();
}
void launch_forward(void **buffers) {
  (void)buffers;
  abort();
}

static const char MANIFEST[] =
    "perft-manifest 1\n"
    "tokens 4\n"
    "input x 4x3 f32\n"
    "input ids 4 i32\n"
    "input seed 1 i32\n"
    "range ids 7\n"
    "seed seed\n"
    "output y 4x3\n"
    "workspace 0\n";

static Manifest manifest;
static Arena arena;

static void require(int condition, const char *what) {
  if (condition) return;
  fprintf(stderr, "fuzz_inputs: broken invariant: %s\n", what);
  abort();
}

/* The manifest and an arena holding only the inputs, once. */
static void set_up(void) {
  char error[512];
  require(manifest_parse(MANIFEST, &manifest, error, sizeof error), "the manifest parses");
  require(manifest.num_inputs == 3 && manifest.seed_input == 2 && manifest.inputs[1].range == 7,
          "the manifest is as written");
  arena.inputs = calloc((size_t)manifest.num_inputs, sizeof *arena.inputs);
  for (int i = 0; i < manifest.num_inputs; i++)
    arena.inputs[i] = calloc((size_t)manifest.inputs[i].num_elements, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!arena.inputs) set_up();
  size_t file_size;
  unsigned char *bytes = fuzz_file_bytes(data, size, &file_size);
  SafetensorsFile file;
  char error[32768];
  if (safetensors_parse_buffer(FUZZ_PATH, bytes, file_size, &file, error, sizeof error)) {
    *(int32_t *)arena.inputs[2] = 12345;
    if (inputs_read(&manifest, &arena, &file, error, sizeof error)) {
      const int32_t *ids = arena.inputs[1];
      for (int e = 0; e < 4; e++) require(ids[e] >= 0 && ids[e] < 7, "ids inside their range");
      require(*(int32_t *)arena.inputs[2] == 0, "the seed is 0");
    } else {
      require(strncmp(error, "inputs " FUZZ_PATH ": ", strlen(FUZZ_PATH) + 9) == 0,
              "the message names the file");
      require(strchr(error, '\n') == NULL, "a one-line message");
    }
    safetensors_close(&file);
  }
  free(bytes);
  return 0;
}
