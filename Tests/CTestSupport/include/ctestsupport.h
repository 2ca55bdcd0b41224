// glibc's posix_spawn_file_actions_addchdir_np and pipe2 are only declared under _GNU_SOURCE,
// which Swift's Glibc module does not define; these wrappers make them callable from the tests.
#ifndef EVALVAULT_CTESTSUPPORT_H
#define EVALVAULT_CTESTSUPPORT_H
#include <spawn.h>
int evalvault_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
int evalvault_pipe_cloexec(int fds[2]);
#endif
