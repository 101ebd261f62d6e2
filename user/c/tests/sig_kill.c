/* sig_kill — issue "Signals, process groups and sessions", part 9: who kill/tkill/tgkill reach.
 * Covers: kill(pid > 0); kill(0) = the caller's process group (caller included); kill(-pgid);
 * kill(-1) = every process except init and the caller itself (its own group and children are
 * included), done by a child in a new session so it is correct whether this test is pid 1
 * (teachos) or not (Linux oracle); signal 0 checks existence; ESRCH for a missing process or
 * group, EINVAL for a bad signal; tkill/tgkill EINVAL for tid/tgid <= 0, ESRCH for a tid not in
 * tgid; init (pid 1) ignores signals it has no handler for, even SIGKILL from inside — checked
 * directly when this test is pid 1, otherwise in a new PID namespace when we may create one. */
#define _GNU_SOURCE   /* unshare */
#define TEST_NAME "sig_kill"
#include "common.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report[2];   /* every SIGUSR1/SIGUSR2 handler writes (pid << 8 | sig) here */
static volatile int hits;
static void reporter(int sig) {
  int v = getpid() << 8 | sig;
  hits++;
  if (write(report[1], &v, sizeof v) != sizeof v)
    _exit(98);
}
static void set_action(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = SA_RESTART;   /* the parent is usually in waitpid or read when it is hit */
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction");
}

/* Children wait in sigsuspend for one signal (blocked until then, so none is lost) and exit. */
static pid_t waiter(int new_group_of) {
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    if (new_group_of >= 0)
      setpgid(0, new_group_of);
    sigset_t none;
    sigemptyset(&none);
    sigsuspend(&none);
    _exit(0);
  }
  if (new_group_of >= 0)
    setpgid(p, new_group_of ? new_group_of : p);   /* both sides, so it is done before we go on */
  return p;
}

static void reap(pid_t p, const char *what) {
  int st;
  CHECK(waitpid(p, &st, 0) == p, "waitpid %s", what);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x", what, st);
}

/* Reads every report now in the pipe (all writers are done). Returns the count; sets found[i]
 * when pids[i] reported sig. */
static int drain(int sig, const pid_t *pids, int n, int *found) {
  int fl = fcntl(report[0], F_GETFL);
  fcntl(report[0], F_SETFL, fl | O_NONBLOCK);
  int v, count = 0;
  for (int i = 0; i < n; i++)
    found[i] = 0;
  while (read(report[0], &v, sizeof v) == sizeof v) {
    count++;
    CHECK((v & 0xff) == sig, "report of signal %d, expected %d", v & 0xff, sig);
    int known = 0;
    for (int i = 0; i < n; i++)
      if (pids[i] == v >> 8) {
        found[i]++;
        known = 1;
      }
    CHECK(known, "unexpected process %d got signal %d", v >> 8, sig);
  }
  fcntl(report[0], F_SETFL, fl);
  return count;
}

/* Run as pid 1: signals without a handler are dropped, even SIGKILL; handled ones are delivered. */
static int init_checks(void) {
  if (getpid() != 1)
    return 20;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);   /* inherited the reporter: make it a plain "terminate" signal */
  if (kill(1, SIGTERM) != 0 || kill(1, SIGHUP) != 0 || kill(1, SIGKILL) != 0 || kill(1, SIGUSR2) != 0)
    return 21;
  /* (Still here: all four were dropped.) A child sends us SIGTERM and SIGKILL too. */
  pid_t c = fork();
  if (c == 0)
    _exit(kill(1, SIGTERM) == 0 && kill(1, SIGKILL) == 0 ? 0 : 1);
  int st;
  if (waitpid(c, &st, 0) != c || st != 0)
    return 22;
  /* A signal with a handler is delivered. */
  hits = 0;
  set_action(SIGUSR1, reporter);
  int v;
  if (kill(1, SIGUSR1) != 0 || hits != 1 || read(report[0], &v, sizeof v) != sizeof v || v != (1 << 8 | SIGUSR1))
    return 23;
  return 0;
}

int main(void) {
  pid_t me = getpid();
  int found[4], st, n;
  CHECK(pipe(report) == 0, "pipe");
  set_action(SIGUSR1, reporter);
  set_action(SIGUSR2, reporter);
  sigset_t blk, old;
  sigemptyset(&blk);
  sigaddset(&blk, SIGUSR1);
  sigaddset(&blk, SIGUSR2);
  CHECK(sigprocmask(SIG_BLOCK, &blk, &old) == 0, "block");

  /* kill(pid > 0), and signal 0. */
  pid_t a = waiter(-1);
  CHECK(kill(a, 0) == 0, "kill(child, 0)");
  CHECK(kill(a, SIGUSR1) == 0, "kill(child, SIGUSR1)");
  reap(a, "kill(pid) child");
  CHECK(drain(SIGUSR1, &a, 1, found) == 1 && found[0] == 1, "kill(pid): the child did not report");
  errno = 0;
  CHECK(kill(a, 0) == -1 && errno == ESRCH, "kill(reaped child, 0): expected ESRCH");
  errno = 0;
  CHECK(kill(a, SIGUSR1) == -1 && errno == ESRCH, "kill(reaped child, SIGUSR1): expected ESRCH");
  errno = 0;
  CHECK(kill(-a, 0) == -1 && errno == ESRCH, "kill(-no such group, 0): expected ESRCH");
  errno = 0;
  CHECK(kill(me, 65) == -1 && errno == EINVAL, "kill(me, 65): expected EINVAL");
  errno = 0;
  CHECK(kill(me, -1) == -1 && errno == EINVAL, "kill(me, -1): expected EINVAL");
  CHECK(kill(me, 0) == 0, "kill(me, 0)");

  /* kill(-pgid): a group of three children (leader b, members c, d). */
  pid_t b = waiter(0);
  pid_t c = waiter(b), d = waiter(b);
  CHECK(getpgid(c) == b && getpgid(d) == b, "group setup: pgid %d %d, expected %d", getpgid(c), getpgid(d), b);
  CHECK(kill(-b, SIGUSR2) == 0, "kill(-pgid)");
  reap(b, "group leader");
  reap(c, "group member c");
  reap(d, "group member d");
  pid_t grp[3] = {b, c, d};
  CHECK(drain(SIGUSR2, grp, 3, found) == 3 && found[0] && found[1] && found[2], "kill(-pgid) did not reach %s%s%s",
        found[0] ? "" : "leader ", found[1] ? "" : "c ", found[2] ? "" : "d");

  /* kill(0): a child makes its own group with two children and signals "its group": all three. */
  int tell[2];
  CHECK(pipe(tell) == 0, "pipe");
  pid_t e = fork();
  CHECK(e >= 0, "fork");
  if (e == 0) {
    setpgid(0, 0);
    pid_t fg[2] = {waiter(-1), waiter(-1)};   /* inherit e's group */
    if (write(tell[1], fg, sizeof fg) != sizeof fg)
      _exit(2);
    int r = kill(0, SIGUSR1);
    sigset_t none;
    sigemptyset(&none);
    sigsuspend(&none);   /* our own SIGUSR1 */
    int s1, s2;
    waitpid(fg[0], &s1, 0);
    waitpid(fg[1], &s2, 0);
    _exit(r == 0 && s1 == 0 && s2 == 0 ? 0 : 1);
  }
  pid_t grp0[3] = {e};
  CHECK(read(tell[0], grp0 + 1, 2 * sizeof(pid_t)) == 2 * sizeof(pid_t), "read children of e");
  reap(e, "kill(0) sender");
  n = drain(SIGUSR1, grp0, 3, found);
  CHECK(n == 3 && found[0] == 1 && found[1] == 1 && found[2] == 1,
        "kill(0): reached sender %d, its children %d %d (expected all three)", found[0], found[1], found[2]);

  /* kill(-1): k makes a new session and child k2, then kill(-1, SIGUSR2). Everyone but init and k
   * get it: our two waiters s1, s2, k2 (k's own group is not excluded), and us unless we are pid 1. */
  pid_t s1 = waiter(-1), s2 = waiter(-1);
  pid_t k = fork();
  CHECK(k >= 0, "fork");
  if (k == 0) {
    if (setsid() < 0)
      _exit(2);
    pid_t k2 = waiter(-1);
    if (write(tell[1], &k2, sizeof k2) != sizeof k2)
      _exit(2);
    int r = kill(-1, SIGUSR2);
    int st2;
    waitpid(k2, &st2, 0);
    /* Our own SIGUSR2 would be pending now if kill(-1) had included us. */
    sigset_t p;
    sigpending(&p);
    _exit(r != 0 ? 3 : st2 != 0 ? 4 : sigismember(&p, SIGUSR2) ? 5 : 0);
  }
  pid_t k2;
  CHECK(read(tell[0], &k2, sizeof k2) == sizeof k2, "read k's child");
  CHECK(waitpid(k, &st, 0) == k && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "kill(-1) sender: status %#x (exit 3: kill failed, 4: its child failed, 5: it signalled itself)", st);
  reap(s1, "kill(-1) target s1");
  reap(s2, "kill(-1) target s2");
  /* Our own SIGUSR2 (unless pid 1) is pending: let it in. */
  sigset_t pend;
  sigpending(&pend);
  CHECK(sigismember(&pend, SIGUSR2) == (me != 1), "kill(-1) %s us (pid %d)", me == 1 ? "reached" : "did not reach",
        me);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0, "unblock");
  CHECK(sigprocmask(SIG_BLOCK, &blk, NULL) == 0, "block");
  pid_t all[4] = {s1, s2, k2, me};
  n = drain(SIGUSR2, all, 4, found);
  CHECK(found[0] == 1 && found[1] == 1 && found[2] == 1 && found[3] == (me != 1),
        "kill(-1): reached s1 %d, s2 %d, k's child %d, us %d", found[0], found[1], found[2], found[3]);
  CHECK(n == 3 + (me != 1), "kill(-1): %d reports, expected %d (s1, s2, k's child%s)", n, 3 + (me != 1),
        me != 1 ? ", us" : "");

  /* tkill / tgkill. */
  pid_t tid = (pid_t)syscall(SYS_gettid);
  errno = 0;
  CHECK(syscall(SYS_tgkill, 0, tid, SIGUSR1) == -1 && errno == EINVAL, "tgkill(tgid 0): expected EINVAL");
  errno = 0;
  CHECK(syscall(SYS_tgkill, -1, tid, SIGUSR1) == -1 && errno == EINVAL, "tgkill(tgid -1): expected EINVAL");
  errno = 0;
  CHECK(syscall(SYS_tgkill, me, 0, SIGUSR1) == -1 && errno == EINVAL, "tgkill(tid 0): expected EINVAL");
  errno = 0;
  CHECK(syscall(SYS_tgkill, me, tid, 65) == -1 && errno == EINVAL, "tgkill(sig 65): expected EINVAL");
  errno = 0;
  CHECK(syscall(SYS_tkill, 0, SIGUSR1) == -1 && errno == EINVAL, "tkill(0): expected EINVAL");
  errno = 0;
  CHECK(syscall(SYS_tkill, -5, SIGUSR1) == -1 && errno == EINVAL, "tkill(-5): expected EINVAL");
  errno = 0;
  CHECK(syscall(SYS_tgkill, a, tid, SIGUSR1) == -1 && errno == ESRCH, "tgkill(wrong tgid): expected ESRCH");
  errno = 0;
  CHECK(syscall(SYS_tkill, a, SIGUSR1) == -1 && errno == ESRCH, "tkill(reaped tid): expected ESRCH");
  CHECK(syscall(SYS_tgkill, me, tid, 0) == 0, "tgkill(me, me, 0)");
  CHECK(syscall(SYS_tkill, tid, 0) == 0, "tkill(me, 0)");

  /* Init is protected from signals without a handler. */
  if (me == 1) {
    int r = init_checks();
    CHECK(r == 0, "init protection: step %d failed", r);
  } else {
    pid_t ns = fork();
    CHECK(ns >= 0, "fork");
    if (ns == 0) {
      /* Where we may not create a PID namespace there is nothing to run as pid 1 here; the test is
       * pid 1 itself on teachos. */
      if (unshare(CLONE_NEWPID) != 0)
        _exit(0);
      pid_t i1 = fork();
      if (i1 < 0)
        _exit(30);
      if (i1 == 0)
        _exit(init_checks());
      int s;
      waitpid(i1, &s, 0);
      _exit(WIFEXITED(s) ? WEXITSTATUS(s) : 31);
    }
    CHECK(waitpid(ns, &st, 0) == ns && WIFEXITED(st), "pid-namespace child status %#x", st);
    CHECK(WEXITSTATUS(st) == 0, "init protection (as pid 1 of a new PID namespace): step %d failed", WEXITSTATUS(st));
  }
  return test_ok();
}
