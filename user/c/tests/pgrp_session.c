/* pgrp_session — issue "Signals, process groups and sessions", part 11: process groups and
 * sessions.
 * Covers: getpgid/getpgrp/getsid (0 = self, ESRCH for no such process); setpgid(0, 0) and from
 * the parent; setpgid errors: ESRCH (not the caller or its child), EACCES (the child has exec'd),
 * EPERM (target is a session leader, in another session, or pgid names no group of the caller's
 * session), EINVAL (negative pgid); setsid (new session and group, EPERM for a group leader);
 * wait4 by process group (-pgid and 0); kill of a group; an orphaned process group with a stopped
 * member gets SIGHUP then SIGCONT (si_code SI_KERNEL) when its last outside parent exits. */
#define TEST_NAME "pgrp_session"
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Forks a child that runs fn() and exits with its result. */
static pid_t spawn(int (*fn)(void)) {
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0)
    _exit(fn());
  return p;
}
static int status_of(pid_t p) {
  int st;
  CHECK(waitpid(p, &st, 0) == p, "waitpid %d", p);
  return st;
}
static int park(void) {   /* waits to be killed */
  for (;;)
    pause();
  return 0;
}

static pid_t parent_pgid;

/* In a child: setsid rules. */
static int setsid_child(void) {
  pid_t me = getpid();
  if (getsid(0) == me)
    return 1;                 /* a fresh child is not a session leader */
  if (setsid() != me)
    return 2;
  if (getsid(0) != me || getpgrp() != me || getpgid(0) != me)
    return 3;
  errno = 0;
  if (setsid() != -1 || errno != EPERM)
    return 4;                 /* already a session (and group) leader */
  /* A session leader cannot change its group. */
  errno = 0;
  if (setpgid(0, 0) != -1 || errno != EPERM)
    return 5;
  /* A child in our new session: may move it into its own group, but not into a group of another
   * session, nor into a group that does not exist. */
  pid_t c = fork();
  if (c == 0)
    park();
  if (getsid(c) != me || getpgid(c) != me)
    return 6;
  errno = 0;
  if (setpgid(c, parent_pgid ? parent_pgid : 1) != -1 || errno != EPERM)
    return 7;                 /* a group in another session */
  errno = 0;
  if (setpgid(c, c + 1000) != -1 || errno != EPERM)
    return 8;                 /* no such group */
  if (setpgid(c, c) != 0 || getpgid(c) != c)
    return 9;
  if (setpgid(c, me) != 0 || getpgid(c) != me)
    return 10;                /* back into our group */
  kill(c, SIGKILL);
  waitpid(c, NULL, 0);
  return 0;
}

static int leader_setsid_child(void) {
  if (setpgid(0, 0) != 0)
    return 1;
  errno = 0;
  return setsid() == -1 && errno == EPERM ? 0 : 2;
}

static int exec_child_argv_fd;
static char *self_argv0;
static int exec_child(void) {
  char fd[16];
  snprintf(fd, sizeof fd, "%d", exec_child_argv_fd);
  char *args[] = {self_argv0, "park", fd, NULL};
  execv("/proc/self/exe", args);
  return 99;
}

/* Orphaned group: a session leader A with a stopped child B in B's own group exits. */
static int report[2];
static void report_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  int v[2] = {sig, si->si_code};
  if (write(report[1], v, sizeof v) != sizeof v)
    _exit(98);
}
static int orphan_a(void) {
  if (setsid() < 0)
    return 1;
  pid_t b = fork();
  if (b == 0) {
    close(report[0]);
    setpgid(0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = report_handler;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);   /* run the two handlers one after the other, in delivery order */
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCONT, &sa, NULL);
    raise(SIGSTOP);
    /* Continued: the handlers have run. */
    _exit(0);
  }
  setpgid(b, b);
  int st;
  if (waitpid(b, &st, WUNTRACED) != b || !WIFSTOPPED(st))
    return 2;
  return 0;   /* exiting orphans b's group, which has a stopped member */
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "park") == 0) {
    /* exec'd mode for EACCES: say we are here, then wait to be killed. */
    if (write(atoi(argv[2]), "e", 1) != 1)
      return 1;
    return park();
  }
  self_argv0 = argv[0];
  pid_t me = getpid();
  parent_pgid = getpgrp();
  pid_t my_sid = getsid(0);

  /* Queries. */
  CHECK(getpgid(0) == parent_pgid && getpgid(me) == parent_pgid, "getpgid(0) %d getpgid(me) %d getpgrp %d", getpgid(0),
        getpgid(me), parent_pgid);
  CHECK(getsid(me) == my_sid, "getsid(me) %d getsid(0) %d", getsid(me), my_sid);
  pid_t gone = spawn(park);
  kill(gone, SIGKILL);
  status_of(gone);
  errno = 0;
  CHECK(getpgid(gone) == -1 && errno == ESRCH, "getpgid(no such pid): expected ESRCH");
  errno = 0;
  CHECK(getsid(gone) == -1 && errno == ESRCH, "getsid(no such pid): expected ESRCH");

  /* setpgid from the parent and in the child; a fresh child inherits our group and session. */
  pid_t c = spawn(park);
  CHECK(getpgid(c) == parent_pgid && getsid(c) == my_sid, "child pgid %d sid %d", getpgid(c), getsid(c));
  CHECK(setpgid(c, c) == 0 && getpgid(c) == c, "setpgid(child, child): pgid %d", getpgid(c));
  CHECK(setpgid(c, 0) == 0 && getpgid(c) == c, "setpgid(child, 0) means pgid = child");
  errno = 0;
  CHECK(setpgid(c, -1) == -1 && errno == EINVAL, "setpgid(child, -1): expected EINVAL");
  errno = 0;
  CHECK(setpgid(gone, gone) == -1 && errno == ESRCH, "setpgid(no such pid): expected ESRCH");
  /* A grandchild is not ours to move. */
  int gp[2], rel[2];   /* grandchild's pid up, "done" down */
  CHECK(pipe(gp) == 0 && pipe(rel) == 0, "pipe");
  pid_t mid = fork();
  CHECK(mid >= 0, "fork");
  if (mid == 0) {
    pid_t g = fork();
    if (g == 0)
      park();
    if (write(gp[1], &g, sizeof g) != sizeof g)
      _exit(1);
    char x;
    if (read(rel[0], &x, 1) != 1)   /* wait until the parent is done */
      _exit(1);
    kill(g, SIGKILL);
    waitpid(g, NULL, 0);
    _exit(0);
  }
  pid_t grandchild;
  CHECK(read(gp[0], &grandchild, sizeof grandchild) == sizeof grandchild, "read grandchild");
  errno = 0;
  CHECK(setpgid(grandchild, grandchild) == -1 && errno == ESRCH, "setpgid(grandchild): expected ESRCH");
  CHECK(write(rel[1], "x", 1) == 1, "release");
  CHECK(status_of(mid) == 0, "middle child failed");

  /* EACCES once the child has exec'd. */
  int ep[2];
  CHECK(pipe(ep) == 0, "pipe");
  exec_child_argv_fd = ep[1];
  pid_t x = spawn(exec_child);
  char b;
  CHECK(read(ep[0], &b, 1) == 1 && b == 'e', "exec'd child did not start");
  errno = 0;
  CHECK(setpgid(x, x) == -1 && errno == EACCES, "setpgid(exec'd child): expected EACCES");
  kill(x, SIGKILL);
  status_of(x);

  /* EPERM: a child that is a session leader in another session. */
  int sp[2];
  CHECK(pipe(sp) == 0, "pipe");
  pid_t s = fork();
  CHECK(s >= 0, "fork");
  if (s == 0) {
    setsid();
    if (write(sp[1], "s", 1) != 1)
      _exit(1);
    park();
  }
  CHECK(read(sp[0], &b, 1) == 1, "session child");
  CHECK(getsid(s) == s && getpgid(s) == s, "after setsid in the child: sid %d pgid %d", getsid(s), getpgid(s));
  errno = 0;
  CHECK(setpgid(s, s) == -1 && errno == EPERM, "setpgid(session leader child): expected EPERM");
  errno = 0;
  CHECK(setpgid(c, s) == -1 && errno == EPERM, "setpgid(child, group in another session): expected EPERM");
  kill(s, SIGKILL);
  status_of(s);

  /* setsid rules, in children. */
  int st = status_of(spawn(setsid_child));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "setsid child: failed at step %d", WEXITSTATUS(st));
  st = status_of(spawn(leader_setsid_child));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "setsid by a group leader: expected EPERM (step %d)", WEXITSTATUS(st));

  /* wait4 by group: c is alone in group c; d joins it; e stays in ours. */
  pid_t d = spawn(park);
  CHECK(setpgid(d, c) == 0, "setpgid(d, c)");
  pid_t e = spawn(park);
  kill(e, SIGKILL);
  kill(c, SIGTERM);
  kill(d, SIGTERM);
  /* Whatever order they die in, wait4(-c) only returns c and d. */
  pid_t w1 = wait4(-c, &st, 0, NULL), w2 = wait4(-c, &st, 0, NULL);
  CHECK((w1 == c && w2 == d) || (w1 == d && w2 == c), "wait4(-pgid) returned %d and %d, expected %d and %d", w1, w2, c,
        d);
  errno = 0;
  CHECK(wait4(-c, &st, WNOHANG, NULL) == -1 && errno == ECHILD, "wait4(-pgid) with the group gone: expected ECHILD");
  CHECK(wait4(0, &st, 0, NULL) == e && WTERMSIG(st) == SIGKILL, "wait4(0) did not return e from our group");

  /* kill(-pgid) reaches the whole group, and nobody else. */
  pid_t f = spawn(park);
  CHECK(setpgid(f, f) == 0, "setpgid");
  pid_t g = spawn(park);
  CHECK(setpgid(g, f) == 0, "setpgid");
  pid_t h = spawn(park);
  CHECK(kill(-f, SIGUSR1) == 0, "kill(-pgid)");
  st = status_of(f);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "group leader status %#x", st);
  st = status_of(g);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "group member status %#x", st);
  CHECK(waitpid(h, &st, WNOHANG) == 0, "a process outside the group died");
  kill(h, SIGKILL);
  status_of(h);

  /* Orphaned process group. */
  CHECK(pipe(report) == 0, "pipe");
  pid_t a = spawn(orphan_a);
  close(report[1]);
  st = status_of(a);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "orphan setup failed at step %d", WEXITSTATUS(st));
  int got[4][2], n = 0;
  while (n < 4 && read(report[0], got[n], sizeof got[n]) == sizeof got[n])
    n++;   /* EOF when b has exited */
  CHECK(n == 2, "the orphaned stopped process reported %d signals, expected SIGHUP and SIGCONT", n);
  CHECK(got[0][0] == SIGHUP && got[1][0] == SIGCONT, "orphaned group got signals %d then %d, expected SIGHUP then SIGCONT",
        got[0][0], got[1][0]);
  CHECK(got[0][1] == SI_KERNEL && got[1][1] == SI_KERNEL, "orphan signals si_code %#x %#x, expected SI_KERNEL (0x80)",
        got[0][1], got[1][1]);
  /* If we are pid 1 (teachos) b was reparented to us: reap it. */
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
  return test_ok();
}
