#define _GNU_SOURCE
#include <spawn.h>
#include <fcntl.h>
#include <unistd.h>
#include "ctestsupport.h"

int evalvault_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int evalvault_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
// pipe2 is _GNU_SOURCE too: both ends close-on-exec from the start, so a child spawned by
// another test thread at the same moment never inherits the write end (and holds it open).
