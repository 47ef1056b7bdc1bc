/* target.c — the list of targets (target.h); each is defined in its own target_NAME.c. */
#include "target.h"

#include <stdio.h>
#include <string.h>

extern const Target cpu_target, cuda_target, cuda_host_target, cuda_host_reversed_target;

static const Target *const targets[] = {&cpu_target, &cuda_target, &cuda_host_target, &cuda_host_reversed_target};

const Target *target_find(const char *name) {
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
    if (!strcmp(targets[i]->name, name)) return targets[i];
  return NULL;
}

const char *target_list(void) {
  static char names[128];
  if (!names[0])
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", targets[i]->name);
  return names;
}
