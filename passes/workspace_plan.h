/* workspace_plan.h — first-fit placement of buffers in one workspace.
 *
 * perft-plan-workspace asks for a range at each memref.alloc and gives it back at its
 * memref.dealloc; freed ranges are coalesced and reused, so the workspace
 * is the peak of what is live at once, not the sum of every intermediate.
 */
#ifndef PERFT_WORKSPACE_PLAN_H
#define PERFT_WORKSPACE_PLAN_H

#include <stdint.h>

typedef struct {
  int64_t offset, size;
} Range;

typedef struct {
  Range *free_ranges; /* sorted by offset, coalesced */
  int num_free, capacity;
  int64_t end;        /* the high-water mark: the workspace size */
  int reuse;          /* 0: never reuse (a plain bump allocator, for comparison) */
} WorkspacePlan;

enum { WORKSPACE_ALIGNMENT = 64 };

void workspace_plan_init(WorkspacePlan *plan, int reuse);
void workspace_plan_free_all(WorkspacePlan *plan);
/* Returns the offset of `bytes` (rounded up to the alignment); 0 bytes take no room (offset 0). */
int64_t workspace_allocate(WorkspacePlan *plan, int64_t bytes);
/* Gives back a range returned by workspace_allocate (with the same `bytes`). */
void workspace_release(WorkspacePlan *plan, int64_t offset, int64_t bytes);

#endif
