#define _GNU_SOURCE
#include "cshims.h"
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

int pst_setresuid(uid_t r, uid_t e, uid_t s) { return setresuid(r, e, s); }
int pst_setresgid(gid_t r, gid_t e, gid_t s) { return setresgid(r, e, s); }
int pst_getresuid(uid_t *r, uid_t *e, uid_t *s) { return getresuid(r, e, s); }
int pst_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int pst_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }
int pst_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }
void pst_closefrom(int lowfd) { closefrom(lowfd); }

void pst_openlog(const char *ident, int facility) {
    static char *kept = NULL;
    char *copy = strdup(ident);
    if (copy == NULL) return;
    openlog(copy, LOG_NDELAY, facility);
    free(kept);
    kept = copy;
}

void pst_syslog(int priority, const char *message) { syslog(priority, "%s", message); }

#define PST_MAX_FDS 8

ssize_t pst_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > PST_MAX_FDS) { errno = EINVAL; return -1; }
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union { char buf[CMSG_SPACE(sizeof(int) * PST_MAX_FDS)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t pst_recv_with_fds(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds, int *outflags) {
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    union { char buf[CMSG_SPACE(sizeof(int) * PST_MAX_FDS)]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
    *nfds = 0;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    *outflags = msg.msg_flags;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *data = (int *)CMSG_DATA(c);
        for (int i = 0; i < count; i++) {
            if (*nfds < maxfds) fds[(*nfds)++] = data[i];
            else close(data[i]); /* more than the caller takes: never leak */
        }
    }
    return n;
}

int pst_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int n, pid_t *pid) {
    /* Move every source above the target range first, so that no dup2 clobbers
       a source that a later dup2 still needs. */
    int moved[64];
    if (n < 0 || n > 64) return EINVAL;
    for (int i = 0; i < n; i++) {
        moved[i] = -1;
        if (fds[i] >= 0) {
            moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 100);
            if (moved[i] < 0) { int e = errno; for (int j = 0; j < i; j++) if (moved[j] >= 0) close(moved[j]); return e; }
        }
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    for (int i = 0; i < n; i++) {
        if (moved[i] >= 0) posix_spawn_file_actions_adddup2(&actions, moved[i], i);
        else posix_spawn_file_actions_addclose(&actions, i);
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, n);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    /* Each child in a process group of its own: a terminal's ^C or a
       supervisor's group-wide SIGTERM reaches the master only, which then
       drains the children in order. */
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    int rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    for (int i = 0; i < n; i++) if (moved[i] >= 0) close(moved[i]);
    return rc;
}

static void fill_master_set(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGUSR1);
}

int pst_signalfd_for_master(void) {
    sigset_t set;
    fill_master_set(&set);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int pst_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof(info));
    if (n != (ssize_t)sizeof(info)) return 0;
    return (int)info.ssi_signo;
}

void pst_block_signals(void) {
    sigset_t set;
    fill_master_set(&set);
    sigdelset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int pst_sigwait_common(void) {
    sigset_t set;
    fill_master_set(&set);
    sigdelset(&set, SIGCHLD);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {}
    return sig;
}

int pst_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *pid = cred.pid; *uid = cred.uid; *gid = cred.gid;
    return 0;
}

int pst_socketpair_seqpacket(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int pst_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

struct pst_signal_request {
    int pidfd;
    pid_t pid;
    uid_t uid;
    int sig;
    int result;
    int error;
};

static void *pst_signal_thread(void *arg) {
    struct pst_signal_request *r = arg;
    // This thread only: its credentials end with it.
    if (syscall(SYS_setresuid, -1, r->uid, -1) != 0) {
        r->error = errno;
        return NULL;
    }
    long rc = r->pidfd >= 0 ? syscall(SYS_pidfd_send_signal, r->pidfd, r->sig, NULL, 0) : kill(r->pid, r->sig);
    r->result = (int)rc;
    r->error = rc == 0 ? 0 : errno;
    return NULL;
}

int pst_signal_as_user(int pidfd, pid_t pid, uid_t uid, int sig) {
    struct pst_signal_request r = {pidfd, pid, uid, sig, -1, 0};
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, pst_signal_thread, &r);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    pthread_join(thread, NULL);
    errno = r.error;
    return r.result;
}
