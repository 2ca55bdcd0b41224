// glibc's posix_spawn_file_actions_addchdir_np is only declared under _GNU_SOURCE, which Swift's
// Glibc module does not define; this one-function wrapper makes it callable from the tests.
#ifndef EVALVAULT_CTESTSUPPORT_H
#define EVALVAULT_CTESTSUPPORT_H
#include <spawn.h>
int evalvault_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
#endif
