/* workspace_plan.c — see workspace_plan.h. */
#include "workspace_plan.h"

#include "ir_builder.h"

#include <stdlib.h>
#include <string.h>

static int64_t aligned(int64_t bytes) {
  if (bytes <= 0) bytes = 1;
  return (bytes + WORKSPACE_ALIGNMENT - 1) / WORKSPACE_ALIGNMENT * WORKSPACE_ALIGNMENT;
}

void workspace_plan_init(WorkspacePlan *plan, int reuse) { *plan = (WorkspacePlan){.reuse = reuse}; }

void workspace_plan_free_all(WorkspacePlan *plan) { free(plan->free_ranges); }

static void remove_range(WorkspacePlan *plan, int i) {
  memmove(&plan->free_ranges[i], &plan->free_ranges[i + 1], (size_t)(plan->num_free - i - 1) * sizeof(Range));
  plan->num_free--;
}

int64_t workspace_allocate(WorkspacePlan *plan, int64_t bytes) {
  if (bytes == 0) return 0; /* an empty buffer (a scratch the target's kernel does not use) takes no room */
  int64_t size = aligned(bytes);
  for (int i = 0; i < plan->num_free; i++) {
    Range *r = &plan->free_ranges[i];
    if (r->size < size) continue;
    int64_t offset = r->offset;
    r->offset += size;
    r->size -= size;
    if (r->size == 0) remove_range(plan, i);
    return offset;
  }
  /* A free range touching the end can grow into new space. */
  if (plan->num_free > 0) {
    Range *last = &plan->free_ranges[plan->num_free - 1];
    if (last->offset + last->size == plan->end) {
      int64_t offset = last->offset;
      plan->end = offset + size;
      remove_range(plan, plan->num_free - 1);
      return offset;
    }
  }
  int64_t offset = plan->end;
  plan->end += size;
  return offset;
}

void workspace_release(WorkspacePlan *plan, int64_t offset, int64_t bytes) {
  if (!plan->reuse || bytes == 0) return;
  int64_t size = aligned(bytes);
  if (plan->num_free == plan->capacity) {
    plan->capacity = plan->capacity ? 2 * plan->capacity : 16;
    plan->free_ranges = realloc(plan->free_ranges, (size_t)plan->capacity * sizeof(Range));
    IR_CHECK(plan->free_ranges != NULL, "out of memory");
  }
  int i = 0;
  while (i < plan->num_free && plan->free_ranges[i].offset < offset) i++;
  memmove(&plan->free_ranges[i + 1], &plan->free_ranges[i], (size_t)(plan->num_free - i) * sizeof(Range));
  plan->free_ranges[i] = (Range){offset, size};
  plan->num_free++;
  if (i + 1 < plan->num_free && offset + size == plan->free_ranges[i + 1].offset) { /* merge right */
    plan->free_ranges[i].size += plan->free_ranges[i + 1].size;
    remove_range(plan, i + 1);
  }
  if (i > 0 && plan->free_ranges[i - 1].offset + plan->free_ranges[i - 1].size == offset) { /* merge left */
    plan->free_ranges[i - 1].size += plan->free_ranges[i].size;
    remove_range(plan, i);
  }
}
