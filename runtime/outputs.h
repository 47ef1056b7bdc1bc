/* outputs.h: every output path is checked before any work starts, so that a run never trains for
 * hours and then fails to save, and a save never replaces what it should not.
 *
 * Saves (--save, --save-all, --dump, checkpoints) go to a temp file beside the target that is
 * renamed over it. What the target may be:
 *   missing        its directory must exist and take a new file (probed with a temp file now)
 *   regular file   replaced by the rename
 *   symlink        the save goes to the regular file it points to (resolved now, once)
 *   anything else  a directory, FIFO, device, socket or dangling symlink: refused
 * Metrics are appended, so they may also go to a character device (/dev/null, a terminal) or to a
 * FIFO that has a reader.
 */
#ifndef PERFT_RUNTIME_OUTPUTS_H
#define PERFT_RUNTIME_OUTPUTS_H

/* Checks path as the target of a save for `option`; returns the path to write (the symlink's
 * target when path is a symlink), malloc'ed. Exits with a clear error otherwise. */
char *output_file_prepare(const char *option, const char *path);
/* Creates directory path if it is missing (its parent must exist) and checks that a file can be
 * created in it. Exits with a clear error otherwise. */
void output_directory_prepare(const char *option, const char *path);
/* Opens path for appending metrics (see above); returns the descriptor or exits. */
int output_append_open(const char *option, const char *path);

#endif
