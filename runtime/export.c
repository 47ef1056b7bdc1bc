/* export.c — `prog --export-perft|--export-peft DIR --weights ADAPTERS.safetensors [--base BASE]`: the trained
 * parameters of a --save file, written for another implementation under the names of the
 * program's `names FORMAT` map (a bank's experts one tensor each):
 *
 *   perft  DIR/model.safetensors + DIR/config.json: the module names of the official PERFT code's
 *          Olmoe/MixtralAdapterForCausalLM, whose evaluation loads such a folder (--peft_model);
 *          config.json is BASE/config.json with the fields of the adapters present added —
 *          PERFT-R: shared_routing_adapter, _num_experts (the PEFT router's rows),
 *          _num_experts_per_tok (its `routing` K), _router_aux_loss_coef (the base's); PERFT-S:
 *          shared_adapter; PERFT-E: embedded_routing_adapter — with adapter type LoRA, r (lora_A's
 *          rows), lora_alpha 2r and lora_dropout 0.05 (dsl/lib/peft.perft's lora), or for PERFT-R's
 *          parallel adapters Parallel_Adapter with hidden_dim (adapter_w1's rows), silu, dropout 0.05;
 *   peft   DIR/adapter_model.safetensors + DIR/adapter_config.json: Hugging Face PEFT's LoRA layout
 *          (target_modules from the names, r from lora_A, lora_alpha 2r as the library's lora_qv).
 *
 * Every trainable parameter must have a name in the map; the file is written atomically.
 */
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "json.h"
#include "safetensors.h"

typedef struct {
  SafetensorsTensor *tensors;
  int count;
  int64_t (*shapes)[PERFT_MAX_DIMS];
  float **gathered; /* (count) a block's elements copied out of its param, or NULL */
} Export;

/* The trainable params from the --weights files, each in its own buffer. (Not params_initialise:
 * that would also initialise every frozen weight, 7 billion of them for OLMoE, to export adapters.) */
static float **read_trainable(const Manifest *manifest, const RunOptions *options) {
  if (options->num_weights == 0) perft_fatal("--export needs --weights ADAPTERS.safetensors (a --save file)");
  float **values = callocCheck((size_t)manifest->num_params + 1, sizeof *values);
  char error[1024], problems[16384] = "";
  int missing = 0;
  SafetensorsFile *files = callocCheck((size_t)options->num_weights, sizeof *files); /* each opened once */
  for (int f = 0; f < options->num_weights; f++)
    if (!safetensors_open(options->weights_paths[f], &files[f], error, sizeof error)) perft_fatal("%s", error);
  for (int p = 0; p < manifest->num_params; p++) {
    const ParamSpec *param = &manifest->params[p];
    if (!param->trainable) continue;
    values[p] = callocCheck((size_t)param->tensor.num_elements, sizeof(float));
    int found = 0;
    for (int f = options->num_weights - 1; f >= 0 && !found; f--) /* a later file wins */
      if (safetensors_find(&files[f], param->tensor.name)) {
        found = 1;
        if (!safetensors_read_tensor(&files[f], param->tensor.name, &param->tensor, values[p], problems,
                                     sizeof problems))
          missing++;
      }
    if (!found) {
      size_t used = strlen(problems);
      snprintf(problems + used, sizeof problems - used, "%s'%s' missing", used ? "; " : "", param->tensor.name);
      missing++;
    }
  }
  for (int f = 0; f < options->num_weights; f++) safetensors_close(&files[f]);
  free(files);
  if (missing) perft_fatal("--export: %d trainable parameter%s not in the --weights files: %s", missing,
                           missing == 1 ? "" : "s", problems);
  return values;
}

/* The tensors to write: every trainable param under the map's names, a bank's experts one by one. */
static Export named_tensors(const Manifest *manifest, float **values, const char *map) {
  Export e = {callocCheck((size_t)manifest->num_checkpoint_names + 1, sizeof(SafetensorsTensor)), 0, NULL, NULL};
  e.shapes = callocCheck((size_t)manifest->num_checkpoint_names + 1, sizeof *e.shapes);
  e.gathered = callocCheck((size_t)manifest->num_checkpoint_names + 1, sizeof *e.gathered);
  for (int p = 0; p < manifest->num_params; p++) {
    const TensorSpec *t = &manifest->params[p].tensor;
    if (!manifest->params[p].trainable) continue;
    int named = 0;
    for (int c = 0; c < manifest->num_checkpoint_names; c++) {
      const CheckpointName *n = &manifest->checkpoint_names[c];
      if (n->param != p || strcmp(n->map, map) != 0) continue;
      named++;
      TensorPart part = checkpoint_part(t, n); /* whole, an expert of a bank, or a block */
      memcpy(e.shapes[e.count], part.dims, sizeof(int64_t) * (size_t)part.num_dims);
      const float *data = values[p] + part.first;
      if (part.count > 1) { /* a block across rows: gathered */
        float *block = callocCheck((size_t)(part.count * part.run), sizeof(float));
        for (int64_t i = 0; i < part.count; i++)
          memcpy(block + i * part.run, values[p] + part.first + i * part.stride, sizeof(float) * (size_t)part.run);
        e.gathered[e.count] = block;
        data = block;
      }
      e.tensors[e.count] = (SafetensorsTensor){n->name, part.num_dims, e.shapes[e.count], data, ELEMENT_F32};
      e.count++;
    }
    if (!named)
      perft_fatal("--export %s: trainable parameter '%s' has no name in the program's `names %s` map (the format "
                  "has no place for it)", map, t->name, map);
  }
  return e;
}

/* A JSON value as read (numbers with their own text). */
static void json_write_value(FILE *out, const JsonValue *v, int depth) {
  switch (v->kind) {
  case JSON_NULL: fputs("null", out); return;
  case JSON_BOOLEAN: fputs(v->boolean ? "true" : "false", out); return;
  case JSON_NUMBER: fputs(v->string, out); return;
  case JSON_STRING: json_write_string(out, v->string); return;
  case JSON_ARRAY:
    fputc('[', out);
    for (size_t i = 0; i < v->count; i++) {
      if (i) fputs(", ", out);
      json_write_value(out, v->items[i], depth + 1);
    }
    fputc(']', out);
    return;
  case JSON_OBJECT:
    fputs("{", out);
    for (size_t i = 0; i < v->count; i++) {
      fprintf(out, "%s\n%*s", i ? "," : "", 2 * (depth + 1), "");
      json_write_string(out, v->members[i].key);
      fputs(": ", out);
      json_write_value(out, v->members[i].value, depth + 1);
    }
    fprintf(out, "\n%*s}", 2 * depth, "");
    return;
  }
}

static FILE *open_in(const char *dir, const char *name, char *path, size_t size) {
  snprintf(path, size, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) perft_fatal("cannot write '%s': %s", path, strerror(errno));
  return f;
}

/* The first tensor whose name holds `part` and ends in `suffix`, or NULL. */
static const SafetensorsTensor *tensor_with(const Export *e, const char *part, const char *suffix) {
  size_t n = strlen(suffix);
  for (int i = 0; i < e->count; i++) {
    size_t length = strlen(e->tensors[i].name);
    if (strstr(e->tensors[i].name, part) && length >= n && strcmp(e->tensors[i].name + length - n, suffix) == 0)
      return &e->tensors[i];
  }
  return NULL;
}

/* The `routing` K of the param that the map names `name`, or 0. */
static int routing_k_of(const Manifest *manifest, const char *name) {
  for (int i = 0; i < manifest->num_routing; i++)
    for (int c = 0; c < manifest->num_checkpoint_names; c++)
      if (manifest->checkpoint_names[c].param == manifest->routing_param[i] &&
          strcmp(manifest->checkpoint_names[c].name, name) == 0)
        return manifest->routing_k[i];
  return 0;
}

/* config.json: the base's, with the fields of the official OlmoeAdapterConfig/MixtralAdapterConfig
 * for the adapters present: PERFT-R (shared_routing_adapter), PERFT-S (shared_adapter), PERFT-E
 * (embedded_routing_adapter); LoRA with r from lora_A and α = 2r. */
static void write_perft_config(const Manifest *manifest, const Export *e, const char *base_dir, const char *dir) {
  if (!base_dir) perft_fatal("--export-perft needs --base DIR: its config.json becomes the adapter model's");
  const SafetensorsTensor *gate = tensor_with(e, "", "shared_routing_adapter_gate.weight");
  const SafetensorsTensor *routed = tensor_with(e, ".shared_routing_adapter.", ".unit.lora_A.weight");
  const SafetensorsTensor *parallel = tensor_with(e, ".shared_routing_adapter.", ".unit.adapter_w1.weight");
  if (!routed) routed = parallel; /* PERFT-R with parallel adapters: W1 [hidden, D] */
  const SafetensorsTensor *shared = tensor_with(e, ".shared_adapter.", ".unit.lora_A.weight");
  const SafetensorsTensor *embedded = tensor_with(e, ".embedded_routing_adapter.", ".lora_A.weight");
  const SafetensorsTensor *lora_a = routed ? routed : shared ? shared : embedded;
  if (!lora_a || (routed && !gate) || (routed && shared))
    perft_fatal("--export-perft: the names hold no adapter the official code's config describes (PERFT-R's "
                "shared_routing_adapter with its gate, PERFT-S's shared_adapter, PERFT-E's embedded_routing_adapter)");
  int k = gate ? routing_k_of(manifest, gate->name) : 0;
  if (gate && !k) perft_fatal("--export-perft: the program does not say how many experts its PEFT router picks");
  char path[4096], error[1024];
  snprintf(path, sizeof path, "%s/config.json", base_dir);
  JsonDocument *document = NULL;
  if (!json_read_file(path, &document, error, sizeof error)) perft_fatal("%s", error);
  const JsonValue *root = json_document_root(document);
  if (root->kind != JSON_OBJECT) perft_fatal("%s: not a JSON object", path);
  const JsonValue *model_type = json_object_find(root, "model_type");
  int mixtral = model_type && model_type->kind == JSON_STRING && strcmp(model_type->string, "mixtral") == 0;
  const JsonValue *coefficient = json_object_find(root, "router_aux_loss_coef");
  FILE *out = open_in(dir, "config.json", path, sizeof path);
  fputs("{", out);
  for (size_t i = 0; i < root->count; i++) {
    const char *key = root->members[i].key;
    if (!strcmp(key, "model_type") || !strcmp(key, "architectures")) continue; /* the adapter model's below */
    fputs("\n  ", out);
    json_write_string(out, key);
    fputs(": ", out);
    json_write_value(out, root->members[i].value, 1);
    fputc(',', out);
  }
  long long r = (long long)lora_a->shape[0];
  char args[128];
  const char *type = parallel ? "Parallel_Adapter" : "LoRA"; /* the official get_adapter_args */
  if (parallel)
    snprintf(args, sizeof args, "{\"hidden_dim\": %lld, \"hidden_act\": \"silu\", \"dropout\": 0.05}", r);
  else
    snprintf(args, sizeof args, "{\"r\": %lld, \"lora_alpha\": %lld, \"lora_dropout\": 0.05}", r, 2 * r);
  fprintf(out, "\n  \"model_type\": \"%s\",\n  \"architectures\": [\"%s\"],\n  \"adapter_type\": \"%s\",\n"
               "  \"adapter_args\": %s",
          mixtral ? "mixtral-adapter" : "olmoe-adapter", mixtral ? "MixtralAdapterForCausalLM" : "OlmoeAdapterForCausalLM",
          type, args);
  if (routed)
    fprintf(out, ",\n  \"shared_routing_adapter\": true,\n  \"shared_routing_adapter_num_experts\": %lld,"
                 "\n  \"shared_routing_adapter_num_experts_per_tok\": %d,\n  \"shared_routing_adapter_router_aux_loss_coef\": %s,"
                 "\n  \"shared_routing_adapter_type\": \"%s\",\n  \"shared_routing_adapter_args\": %s",
            (long long)gate->shape[0], k, coefficient && coefficient->kind == JSON_NUMBER ? coefficient->string : "0.01",
            type, args);
  if (shared) { /* PERFT-S: one; PERFT-D: N a layer */
    char first_layer[256];
    snprintf(first_layer, sizeof first_layer, "%.*s", (int)(strstr(shared->name, ".shared_adapter.") - shared->name),
             shared->name);
    int num = 0;
    for (int i = 0; i < e->count; i++)
      num += strncmp(e->tensors[i].name, first_layer, strlen(first_layer)) == 0 &&
             e->tensors[i].name[strlen(first_layer)] == '.' && strstr(e->tensors[i].name, ".shared_adapter.") &&
             strstr(e->tensors[i].name, ".lora_A.weight");
    fprintf(out, ",\n  \"shared_adapter\": true,\n  \"shared_adapter_num\": %d,\n  \"shared_adapter_type\": \"LoRA\","
                 "\n  \"shared_adapter_args\": %s", num, args);
  }
  if (embedded)
    fprintf(out, ",\n  \"embedded_routing_adapter\": true,\n  \"embedded_routing_adapter_type\": \"LoRA\","
                 "\n  \"embedded_routing_adapter_args\": %s", args);
  fputs("\n}\n", out);
  if (fclose(out) != 0) perft_fatal("cannot write '%s'", path);
  json_document_destroy(document);
}

/* adapter_config.json of a PEFT LoRA: r from lora_A, the target modules from the names. */
static void write_peft_config(const Export *e, const char *base_dir, const char *dir) {
  const SafetensorsTensor *lora_a = tensor_with(e, "", ".lora_A.weight");
  if (!lora_a) perft_fatal("--export peft: no LoRA among the names (...lora_A.weight)");
  char modules[64][64];
  int num_modules = 0;
  for (int i = 0; i < e->count; i++) {
    const char *name = e->tensors[i].name, *end = strstr(name, ".lora_A.weight");
    if (!end) continue;
    const char *start = end;
    while (start > name && start[-1] != '.') start--;
    int seen = 0;
    for (int m = 0; m < num_modules; m++) seen |= (size_t)(end - start) == strlen(modules[m]) && !strncmp(modules[m], start, (size_t)(end - start));
    if (!seen && num_modules < 64 && end - start < 64) snprintf(modules[num_modules++], 64, "%.*s", (int)(end - start), start);
    if (e->tensors[i].shape[0] != lora_a->shape[0])
      perft_fatal("--export peft: LoRA ranks differ (%s has %lld, %s %lld): PEFT's config holds one r",
                  e->tensors[i].name, (long long)e->tensors[i].shape[0], lora_a->name, (long long)lora_a->shape[0]);
  }
  char path[4096];
  FILE *out = open_in(dir, "adapter_config.json", path, sizeof path);
  int64_t r = lora_a->shape[0];
  fprintf(out, "{\n  \"peft_type\": \"LORA\",\n  \"task_type\": \"CAUSAL_LM\",\n  \"base_model_name_or_path\": ");
  json_write_string(out, base_dir ? base_dir : "");
  fprintf(out, ",\n  \"r\": %lld,\n  \"lora_alpha\": %lld,\n  \"lora_dropout\": 0.05,\n  \"target_modules\": [",
          (long long)r, (long long)(2 * r));
  for (int m = 0; m < num_modules; m++) fprintf(out, "%s\"%s\"", m ? ", " : "", modules[m]);
  fprintf(out, "],\n  \"bias\": \"none\",\n  \"fan_in_fan_out\": false,\n  \"inference_mode\": true,\n"
               "  \"init_lora_weights\": true,\n  \"modules_to_save\": null,\n  \"use_rslora\": false,\n"
               "  \"use_dora\": false\n}\n");
  if (fclose(out) != 0) perft_fatal("cannot write '%s'", path);
}

int run_export(const Manifest *manifest, const RunOptions *options) {
  const char *format = options->export_perft_dir ? "perft" : "peft";
  const char *dir = options->export_perft_dir ? options->export_perft_dir : options->export_peft_dir;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) perft_fatal("cannot make the folder '%s': %s", dir, strerror(errno));
  float **values = read_trainable(manifest, options);
  Export e = named_tensors(manifest, values, format);
  char path[4096], error[1024];
  snprintf(path, sizeof path, "%s/%s", dir, strcmp(format, "perft") == 0 ? "model.safetensors" : "adapter_model.safetensors");
  SafetensorsMetadata metadata[] = {{"format", "pt"}};
  SafetensorsWriter writer;
  safetensors_writer_create_with_metadata(&writer, path, e.tensors, e.count, metadata, 1);
  if (!safetensors_writer_write(&writer, error, sizeof error)) perft_fatal("%s", error);
  safetensors_writer_destroy(&writer);
  if (strcmp(format, "perft") == 0) write_perft_config(manifest, &e, options->base_dir, dir);
  else write_peft_config(&e, options->base_dir, dir);
  printf("exported %d tensors (%s names) to %s\n", e.count, format, dir);
  for (int p = 0; p < manifest->num_params; p++) free(values[p]);
  free(values);
  for (int i = 0; i < e.count; i++) free(e.gathered[i]);
  free(e.gathered);
  free(e.tensors);
  free(e.shapes);
  return 0;
}
