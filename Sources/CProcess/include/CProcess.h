#ifndef FINETUNED_CPROCESS_H
#define FINETUNED_CPROCESS_H
/* Starting the daemon's worker processes. In C because the spawn needs glibc's
 * posix_spawn_file_actions_addclosefrom_np and pipe2, which Swift's Glibc module (built
 * without _GNU_SOURCE) does not declare. */
#include <sys/types.h>

/* Starts `path` with `argv` and `envp`, its standard input and output the given descriptors
 * and its standard error the caller's; every other descriptor is closed in the child (the
 * daemon's sockets, its database, other workers' pipes), its signal mask emptied and every
 * signal's disposition reset. Returns 0 with *pid set, or an errno value. */
int ft_spawn(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd, pid_t *pid);

/* pipe2(fds, O_CLOEXEC): neither end leaks into another child. Returns 0, or -1 with errno. */
int ft_pipe(int fds[2]);

/* A descriptor for the child `pid` (pidfd_open), and SIGKILL through it: a signal sent by
 * pidfd reaches that process even if its id has been reused since. Return -1 with errno on
 * failure (a kernel before 5.3). */
int ft_pidfd_open(pid_t pid);
int ft_pidfd_kill(int pidfd);

/* Names the calling thread (at most 15 bytes kept); on the main thread, that is the process's
   name for ps, top and the journal's _COMM. */
void ft_set_process_name(const char *name);

#endif
