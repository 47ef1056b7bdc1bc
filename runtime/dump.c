/* dump.c: --dump OUT: one forward and backward on given weights and inputs, no update.
 *
 * OUT holds: loss [1], out.NAME for each output, grad.NAME for each trainable param. The seed
 * input, if any, is 0 (no dropout) and need not be in the inputs file. A NaN or Inf anywhere in
 * OUT is an error (exit 1) naming the tensors; the file is still written, for inspection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "identity.h"
#include "outputs.h"
#include "launch.h"
#include "program.h"
#include "safetensors.h"

/* Names the tensors of the dump holding NaN or Inf, with counts, into out; returns how many. */
static int describe_non_finite(const SafetensorsTensor *tensors, int num_tensors, char *out, size_t out_size) {
  int found = 0;
  out[0] = '\0';
  for (int t = 0; t < num_tensors; t++) {
    int64_t count = 1, bad = 0;
    for (int d = 0; d < tensors[t].num_dims; d++) count *= tensors[t].shape[d];
    const float *data = tensors[t].data;
    for (int64_t e = 0; e < count; e++) bad += !isfinite(data[e]);
    if (!bad) continue;
    size_t used = strlen(out);
    if (found < 8)
      snprintf(out + used, out_size - used, "%s%s (%lld of %lld)", found ? ", " : "", tensors[t].name,
               (long long)bad, (long long)count);
    else if (found == 8)
      snprintf(out + used, out_size - used, ", ...");
    found++;
  }
  return found;
}

int run_dump(const Manifest *manifest, const RunOptions *options) {
  char *dump_path = output_file_prepare("--dump", options->dump_path); /* before any work */
  Arena arena;
  arena_create(&arena, manifest, ARENA_FORWARD_BACKWARD);
  params_initialise(manifest, &arena, options->seed, options->base_dir, options->weights_paths, options->num_weights,
                    options->init_missing ? WEIGHTS_NONE_REQUIRED : WEIGHTS_ALL_REQUIRED);
  ProgramIdentity identity;
  identity_compute(perft_manifest, manifest, &arena, &identity);
  identity_check_weights(options, &identity);
  inputs_load(manifest, &arena, options->inputs_path);
  arena_all_to_device(&arena);

  arena_train_step(&arena);
  arena_results_to_host(&arena);
  arena_grads_to_host(&arena);

  int num_tensors = 1 + manifest->num_outputs + manifest->num_grads;
  SafetensorsTensor *tensors = callocCheck((size_t)num_tensors, sizeof *tensors);
  char **names = callocCheck((size_t)num_tensors, sizeof *names);
  static const int64_t scalar_shape[1] = {1};
  int t = 0;
  tensors[t++] = (SafetensorsTensor){"loss", 1, scalar_shape, arena.loss, ELEMENT_F32};
  for (int o = 0; o < manifest->num_outputs; o++, t++) {
    const TensorSpec *output = &manifest->outputs[o];
    size_t size = strlen(output->name) + 8;
    names[t] = mallocCheck(size);
    snprintf(names[t], size, "out.%s", output->name);
    tensors[t] = (SafetensorsTensor){names[t], output->num_dims, output->dims, arena.outputs[o],
                                 ELEMENT_F32};
  }
  for (int g = 0; g < manifest->num_grads; g++, t++) {
    const TensorSpec *grad = &manifest->grads[g];
    size_t size = strlen(grad->name) + 8;
    names[t] = mallocCheck(size);
    snprintf(names[t], size, "grad.%s", grad->name);
    tensors[t] = (SafetensorsTensor){names[t], grad->num_dims, grad->dims, arena.grads[g], ELEMENT_F32};
  }
  char error[1024];
  if (!safetensors_write_file(dump_path, tensors, num_tensors, error, sizeof error))
    perft_fatal("%s", error);
  printf("dump: loss %.9g, %d outputs, %d gradients written to %s\n", (double)*arena.loss,
         manifest->num_outputs, manifest->num_grads, options->dump_path);
  char non_finite[1024];
  int bad = describe_non_finite(tensors, num_tensors, non_finite, sizeof non_finite);
  if (bad)
    perft_fatal("--dump: %d tensor%s hold NaN or Inf: %s (written to %s for inspection)", bad,
                bad == 1 ? "" : "s", non_finite, options->dump_path);
  free(dump_path);
  for (int i = 0; i < num_tensors; i++) free(names[i]);
  free(names);
  free(tensors);
  arena_destroy(&arena);
  return 0;
}
