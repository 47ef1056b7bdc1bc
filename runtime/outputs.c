/* outputs.c: output paths checked at start-up; see outputs.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static const char *file_kind(mode_t mode) {
  return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device"
         : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

/* Creates and removes a probe file in directory: the surest test that a save can go there. */
static void probe_directory(const char *option, const char *directory, const char *path) {
  char probe[PATH_MAX];
  if (snprintf(probe, sizeof probe, "%s/.perft-probe.%ld", directory, (long)getpid()) >= (int)sizeof probe)
    perft_fatal("%s '%s': the path is too long", option, path);
  int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    perft_fatal("%s '%s': cannot create a file in '%s': %s (checked before any work starts)", option,
                path, directory, strerror(errno));
  close(fd);
  unlink(probe);
}

static void directory_of(const char *path, char *out, size_t out_size) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(out, out_size, ".");
  else if (slash == path) snprintf(out, out_size, "/");
  else snprintf(out, out_size, "%.*s", (int)(slash - path), path);
}

char *output_file_prepare(const char *option, const char *path) {
  struct stat link_info, info;
  char resolved[PATH_MAX], directory[PATH_MAX];
  if (strlen(path) >= PATH_MAX) perft_fatal("%s '%.64s...': the path is too long", option, path);
  snprintf(resolved, sizeof resolved, "%s", path);
  if (lstat(path, &link_info) == 0) {
    if (S_ISLNK(link_info.st_mode)) {
      if (stat(path, &info) != 0 || !realpath(path, resolved))
        perft_fatal("%s '%s': a symlink to a missing file (%s); refusing to replace the link", option,
                    path, strerror(errno));
      if (!S_ISREG(info.st_mode))
        perft_fatal("%s '%s': a symlink to %s (%s); a save writes only regular files", option, path,
                    file_kind(info.st_mode), resolved);
    } else if (!S_ISREG(link_info.st_mode)) {
      perft_fatal("%s '%s': %s; a save writes only regular files (hint: give a file name)", option,
                  path, file_kind(link_info.st_mode));
    }
  } else if (errno != ENOENT) {
    perft_fatal("%s '%s': %s", option, path, strerror(errno));
  }
  directory_of(resolved, directory, sizeof directory);
  struct stat directory_info;
  if (stat(directory, &directory_info) != 0 || !S_ISDIR(directory_info.st_mode))
    perft_fatal("%s '%s': the directory '%s' does not exist", option, path, directory);
  probe_directory(option, directory, path);
  return strdupCheck(resolved);
}

void output_directory_prepare(const char *option, const char *path) {
  struct stat info;
  if (stat(path, &info) != 0) {
    if (errno != ENOENT) perft_fatal("%s '%s': %s", option, path, strerror(errno));
    if (mkdir(path, 0755) != 0)
      perft_fatal("%s '%s': cannot create the directory: %s", option, path, strerror(errno));
  } else if (!S_ISDIR(info.st_mode)) {
    perft_fatal("%s '%s': %s, not a directory", option, path, file_kind(info.st_mode));
  }
  probe_directory(option, path, path);
}

int output_append_open(const char *option, const char *path) {
  /* O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of blocking start-up */
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0)
    perft_fatal("%s '%s': cannot open for appending: %s%s", option, path, strerror(errno),
                errno == ENXIO ? " (a FIFO with no reader)" : "");
  struct stat info;
  if (fstat(fd, &info) != 0 || !(S_ISREG(info.st_mode) || S_ISCHR(info.st_mode) || S_ISFIFO(info.st_mode)))
    perft_fatal("%s '%s': %s; metrics go to a regular file, a FIFO or a character device", option,
                path, file_kind(info.st_mode));
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    perft_fatal("%s '%s': %s", option, path, strerror(errno));
  return fd;
}
