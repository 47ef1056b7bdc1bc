/* external_pass.c — see external_pass.h. */
#include "external_pass.h"

#include "ir_builder.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  ModulePassBody run;
  size_t size;
  unsigned char options[]; /* `size` bytes */
} PassData;

static PassData *pass_data_create(ModulePassBody run, const void *options, size_t size) {
  PassData *data = malloc(sizeof *data + size);
  IR_CHECK(data != NULL, "out of memory");
  data->run = run;
  data->size = size;
  if (size) memcpy(data->options, options, size);
  return data;
}

static void construct(void *user_data) {}
static void destruct(void *user_data) { free(user_data); }
static MlirLogicalResult initialize(MlirContext context, void *user_data) { return mlirLogicalResultSuccess(); }
static void *clone(void *user_data) {
  PassData *data = user_data;
  return pass_data_create(data->run, data->options, data->size);
}
static void run(MlirOperation module, MlirExternalPass pass, void *user_data) {
  PassData *data = user_data;
  data->run(module, pass, data->size ? data->options : NULL);
}

/* Every pass class needs its own TypeID: one per distinct name, allocated on first use. */
static MlirTypeID type_id_of(const char *name) {
  enum { MAX_PASSES = 32 };
  static MlirTypeIDAllocator allocator;
  static const char *names[MAX_PASSES];
  static MlirTypeID ids[MAX_PASSES];
  static int count;
  if (!allocator.ptr) allocator = mlirTypeIDAllocatorCreate();
  for (int i = 0; i < count; i++)
    if (!strcmp(names[i], name)) return ids[i];
  IR_CHECK(count < MAX_PASSES, "too many pass classes");
  names[count] = name;
  ids[count] = mlirTypeIDAllocatorAllocateTypeID(allocator);
  return ids[count++];
}

MlirPass perft_module_pass(const char *name, const char *argument, const char *description,
                           ModulePassBody body, const void *options, size_t size) {
  MlirExternalPassCallbacks callbacks = {construct, destruct, initialize, clone, run};
  return mlirCreateExternalPass(type_id_of(name), str(name), str(argument), str(description),
                                str("builtin.module"), 0, NULL, callbacks,
                                pass_data_create(body, options, size));
}
