#ifndef POSTERN_CSHIMS_H
#define POSTERN_CSHIMS_H
// What Swift cannot call directly on Linux: the CMSG macros (SCM_RIGHTS),
// functions Glibc's module hides behind _GNU_SOURCE, and variadic calls.
#include <sys/types.h>
#include <stddef.h>

int pst_setresuid(uid_t r, uid_t e, uid_t s);
int pst_setresgid(gid_t r, gid_t e, gid_t s);
int pst_getresuid(uid_t *r, uid_t *e, uid_t *s);
/// prctl(PR_SET_NO_NEW_PRIVS, 1).
int pst_set_no_new_privs(void);
/// prctl(PR_GET_NO_NEW_PRIVS).
int pst_get_no_new_privs(void);
/// prctl(PR_SET_PDEATHSIG, sig): a child dies with its master.
int pst_set_parent_death_signal(int sig);
void pst_closefrom(int lowfd);

/// openlog with a private copy of ident (openlog keeps the pointer) and LOG_NDELAY.
void pst_openlog(const char *ident, int facility);
void pst_syslog(int priority, const char *message);

/// sendmsg of one datagram with up to maxfds descriptors attached (SCM_RIGHTS).
ssize_t pst_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);
/// recvmsg of one datagram with MSG_CMSG_CLOEXEC. *outflags gets msg_flags
/// (MSG_TRUNC, MSG_CTRUNC); received descriptors go to fds, their count to *nfds.
ssize_t pst_recv_with_fds(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds, int *outflags);

/// posix_spawn of path with argv/envp; child descriptor i (0..<n) is fds[i], or
/// closed when fds[i] < 0; every other descriptor is closed; signal mask
/// empty and dispositions default. Returns 0 or an errno value.
int pst_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int n, pid_t *pid);

/// Blocks SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1 in the calling thread and
/// returns a signalfd that reads them (nonblocking, cloexec).
int pst_signalfd_for_master(void);
/// Reads one signal number from a signalfd; 0 when none is pending.
int pst_signalfd_read(int fd);
/// Blocks the same signals (threads inherit the mask), so that only sigwait sees them.
void pst_block_signals(void);
/// Waits for SIGTERM, SIGHUP, SIGINT or SIGUSR1 (blocked beforehand); returns the number.
int pst_sigwait_common(void);

int pst_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
int pst_socketpair_seqpacket(int fds[2]);

/// pidfd_open(pid, 0): a descriptor for that process, which a reused pid
/// cannot be mistaken for. -1 with errno on failure.
int pst_pidfd_open(pid_t pid);
/// Sends sig to a process of user uid (by pidfd, or by pid when pidfd < 0)
/// from a thread of its own whose effective uid is uid, so that no CAP_KILL
/// is needed. The raw setresuid changes that thread's credentials only
/// (glibc's wrapper would change every thread's), and the thread ends
/// right after. 0, or -1 with errno.
int pst_signal_as_user(int pidfd, pid_t pid, uid_t uid, int sig);

#endif
