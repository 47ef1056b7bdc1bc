/* identity.h: what a saved file says about where it came from, so that adapters and checkpoints
 * are never loaded silently into a program or onto base weights they were not trained with.
 *
 *   perft.program   hash of the manifest without its `workspace` line: the parameters, inputs
 *                   and outputs with their shapes and init rules (fusion options do not change it)
 *   perft.strategy  the trainable modules, e.g. "perft_r.ad,perft_r.router" (digits shown as *)
 *   perft.base      hash of every frozen parameter's name, shape and values, as loaded
 *   perft.kind      "adapters" (--save), "all" (--save-all) or "checkpoint"
 * Hashes are 16 lower-case hex digits.
 */
#ifndef PERFT_RUNTIME_IDENTITY_H
#define PERFT_RUNTIME_IDENTITY_H

#include "arena.h"
#include "manifest.h"
#include "program.h"

typedef struct {
  char program[17];
  char strategy[256];
  char base[17];
} ProgramIdentity;

/* program and strategy from the manifest text, base from the frozen parameters in the arena. */
void identity_compute(const char *manifest_text, const Manifest *manifest, const Arena *arena,
                      ProgramIdentity *identity);
/* Each --weights file whose perft.kind is "adapters" or "checkpoint" must come from this program
 * and this base; a mismatch exits with an error naming the file and both identities. */
void identity_check_weights(const RunOptions *options, const ProgramIdentity *identity);

#endif
