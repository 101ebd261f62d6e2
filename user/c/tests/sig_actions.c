/* sig_actions — issue "Signals, process groups and sessions", part 8: rt_sigaction and the
 * default actions.
 * Covers: rt_sigaction errors (EINVAL for an action on SIGKILL/SIGSTOP, signal 0 or 65, sigsetsize
 * != 8; querying SIGKILL is fine); the old action round-trips handler, sa_mask and the flags
 * SA_RESTART|SA_SIGINFO|SA_ONSTACK|SA_NODEFER|SA_RESETHAND (SIGKILL/SIGSTOP dropped from sa_mask);
 * default actions seen through a child's wait status: terminate (SIGTERM, SIGUSR1, SIGALRM,
 * SIGHUP, SIGPIPE, SIGRTMIN+1) and core (SIGQUIT, SIGABRT, SIGSEGV, SIGILL, SIGSYS: killed, no
 * core flag with Linux's default RLIMIT_CORE of 0), ignore (SIGCHLD, SIGURG, SIGWINCH, SIGCONT: the
 * child lives), stop (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: WIFSTOPPED, then continued); SIG_IGN
 * discards a pending signal; fork inherits handlers and the mask but not pending signals; execve
 * (of /proc/self/exe in a second mode) resets caught handlers to SIG_DFL, keeps SIG_IGN, the
 * blocked mask and pending signals. */
#define TEST_NAME "sig_actions"
#include "common.h"
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIT(s) (1ull << ((s) - 1))

/* The kernel's struct sigaction on arm64 (handler, flags, restorer, mask: 32 bytes). */
struct ksigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};
static long raw_sigaction(int sig, const struct ksigaction *act, struct ksigaction *old, size_t size) {
  return syscall(SYS_rt_sigaction, sig, act, old, size);
}
static uint64_t pending(void) {
  uint64_t p = 0;
  syscall(SYS_rt_sigpending, &p, 8);
  return p;
}
static uint64_t cur_mask(void) {
  uint64_t m = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8);
  return m;
}

static volatile int hits;
static void handler(int sig) {
  (void)sig;
  hits++;
}

/* Fork a child that sets `sig` to SIG_DFL (after an optional setpgid), raises it and, if it
 * survives, exits with 42. Returns the wait status (WUNTRACED: a stopped child is reported, then
 * continued with SIGCONT and reaped; *stopped tells). */
static int default_action_status(int sig, int *stopped) {
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    /* Own process group in our session, so that it is not orphaned and TSTP/TTIN/TTOU stop it. */
    setpgid(0, 0);
    signal(sig, SIG_DFL);
    sigset_t m;
    sigemptyset(&m);
    sigprocmask(SIG_SETMASK, &m, NULL);
    raise(sig);
    _exit(42);
  }
  int st;
  CHECK(waitpid(p, &st, WUNTRACED) == p, "waitpid");
  *stopped = WIFSTOPPED(st);
  if (*stopped) {
    int st2;
    CHECK(kill(p, SIGCONT) == 0, "SIGCONT");
    CHECK(waitpid(p, &st2, 0) == p, "waitpid");
    CHECK(WIFEXITED(st2) && WEXITSTATUS(st2) == 42, "continued child (signal %d) status %#x", sig, st2);
  }
  return st;
}

/* Second mode, after execve: report what survived through the exit code (0 = as expected). */
static int after_exec(void) {
  struct ksigaction a;
  if (raw_sigaction(SIGUSR1, NULL, &a, 8) || a.handler != SIG_DFL)
    return 10;   /* caught handler not reset */
  if (a.flags != 0 || a.mask != 0)
    return 11;   /* flags/mask not cleared */
  if (raw_sigaction(SIGUSR2, NULL, &a, 8) || a.handler != SIG_IGN)
    return 12;   /* SIG_IGN not kept */
  if (raw_sigaction(SIGHUP, NULL, &a, 8) || a.handler != SIG_DFL)
    return 13;
  if (cur_mask() != (BIT(SIGTERM) | BIT(SIGHUP)))
    return 14;   /* blocked mask not kept */
  if (pending() != BIT(SIGTERM))
    return 15;   /* pending signal lost */
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
    return after_exec();

  struct ksigaction act, old;
  memset(&act, 0, sizeof act);
  act.handler = (void *)handler;

  /* Errors. */
  errno = 0;
  CHECK(raw_sigaction(SIGKILL, &act, NULL, 8) == -1 && errno == EINVAL, "handler for SIGKILL: expected EINVAL");
  errno = 0;
  CHECK(raw_sigaction(SIGSTOP, &act, NULL, 8) == -1 && errno == EINVAL, "handler for SIGSTOP: expected EINVAL");
  act.handler = SIG_IGN;
  errno = 0;
  CHECK(raw_sigaction(SIGKILL, &act, NULL, 8) == -1 && errno == EINVAL, "SIG_IGN for SIGKILL: expected EINVAL");
  errno = 0;
  CHECK(raw_sigaction(SIGSTOP, &act, NULL, 8) == -1 && errno == EINVAL, "SIG_IGN for SIGSTOP: expected EINVAL");
  CHECK(raw_sigaction(SIGKILL, NULL, &old, 8) == 0 && old.handler == SIG_DFL, "query of SIGKILL");
  act.handler = (void *)handler;
  errno = 0;
  CHECK(raw_sigaction(0, &act, NULL, 8) == -1 && errno == EINVAL, "signal 0: expected EINVAL");
  errno = 0;
  CHECK(raw_sigaction(65, &act, NULL, 8) == -1 && errno == EINVAL, "signal 65: expected EINVAL");
  errno = 0;
  CHECK(raw_sigaction(65, NULL, &old, 8) == -1 && errno == EINVAL, "query of signal 65: expected EINVAL");
  errno = 0;
  CHECK(raw_sigaction(SIGUSR1, &act, NULL, 4) == -1 && errno == EINVAL, "sigsetsize 4: expected EINVAL");
  CHECK(raw_sigaction(64, &act, NULL, 8) == 0, "signal 64 (SIGRTMAX) refused");

  /* Round trip of every field. */
  unsigned long flags = SA_RESTART | SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESETHAND;
  act.flags = flags;
  act.mask = BIT(SIGTERM) | BIT(SIGRTMIN + 4) | BIT(SIGKILL) | BIT(SIGSTOP);
  CHECK(raw_sigaction(SIGUSR1, &act, NULL, 8) == 0, "set");
  struct ksigaction act2 = {.handler = SIG_IGN};
  memset(&old, 0xff, sizeof old);
  CHECK(raw_sigaction(SIGUSR1, &act2, &old, 8) == 0, "swap");
  CHECK(old.handler == (void *)handler, "old handler %p, expected %p", old.handler, (void *)handler);
  CHECK(old.flags == flags, "old flags %#lx, expected %#lx", old.flags, flags);
  CHECK(old.mask == (BIT(SIGTERM) | BIT(SIGRTMIN + 4)), "old mask %#llx, expected TERM|RTMIN+4 (KILL/STOP dropped)",
        (unsigned long long)old.mask);
  CHECK(raw_sigaction(SIGUSR1, NULL, &old, 8) == 0 && old.handler == SIG_IGN && old.flags == 0 && old.mask == 0,
        "after swap: handler %p flags %#lx mask %#llx", old.handler, old.flags, (unsigned long long)old.mask);
  /* The glibc interface reports the same. */
  struct sigaction sa, osa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGQUIT);
  CHECK(sigaction(SIGUSR2, &sa, NULL) == 0 && sigaction(SIGUSR2, NULL, &osa) == 0, "glibc sigaction");
  CHECK(osa.sa_handler == handler && (osa.sa_flags & (SA_RESTART | SA_NODEFER)) == (SA_RESTART | SA_NODEFER) &&
            sigismember(&osa.sa_mask, SIGQUIT) == 1 && sigismember(&osa.sa_mask, SIGINT) == 0,
        "glibc sigaction round trip: flags %#x", osa.sa_flags);

  /* Default actions. */
  static const int term[] = {SIGTERM, SIGUSR1, SIGALRM, SIGHUP, SIGPIPE, SIGINT, SIGVTALRM, SIGPROF, SIGIO};
  for (unsigned i = 0; i < sizeof term / sizeof term[0]; i++) {
    int stopped, st = default_action_status(term[i], &stopped);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == term[i] && !WCOREDUMP(st),
          "default action of signal %d: status %#x, expected killed by it without core", term[i], st);
  }
  int stopped, st = default_action_status(SIGRTMIN + 1, &stopped);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGRTMIN + 1 && !WCOREDUMP(st), "SIGRTMIN+1 default: status %#x", st);
  /* Core-dump signals: with Linux's default RLIMIT_CORE = 0 no core is written, so no 0x80 flag. */
  static const int core[] = {SIGQUIT, SIGABRT, SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGSYS, SIGTRAP, SIGXCPU};
  for (unsigned i = 0; i < sizeof core / sizeof core[0]; i++) {
    st = default_action_status(core[i], &stopped);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == core[i] && !WCOREDUMP(st),
          "default action of signal %d: status %#x, expected killed by it, no core flag (RLIMIT_CORE 0)", core[i], st);
  }
  static const int ign[] = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT};
  for (unsigned i = 0; i < sizeof ign / sizeof ign[0]; i++) {
    st = default_action_status(ign[i], &stopped);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42, "default action of signal %d: status %#x, expected ignored", ign[i],
          st);
  }
  static const int stop[] = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU};
  for (unsigned i = 0; i < sizeof stop / sizeof stop[0]; i++) {
    st = default_action_status(stop[i], &stopped);
    CHECK(stopped && WSTOPSIG(st) == stop[i] && (st & 0xff) == 0x7f,
          "default action of signal %d: status %#x, expected stopped ((sig << 8) | 0x7f)", stop[i], st);
  }

  /* SIG_IGN discards a pending signal; so does SIG_DFL for a default-ignore one. */
  signal(SIGUSR1, handler);
  signal(SIGWINCH, handler);
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, SIGWINCH);
  sigprocmask(SIG_BLOCK, &m, NULL);
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGWINCH);
  CHECK(pending() == (BIT(SIGUSR1) | BIT(SIGWINCH)), "pending %#llx", (unsigned long long)pending());
  signal(SIGUSR1, SIG_IGN);
  signal(SIGWINCH, SIG_DFL);
  CHECK(pending() == 0, "SIG_IGN / SIG_DFL(ignore) left pending %#llx", (unsigned long long)pending());
  signal(SIGUSR1, handler);
  hits = 0;
  sigprocmask(SIG_UNBLOCK, &m, NULL);
  CHECK(hits == 0, "a discarded signal was delivered");

  /* fork: handlers and mask inherited, pending not. */
  signal(SIGUSR2, SIG_IGN);
  sigemptyset(&m);
  sigaddset(&m, SIGHUP);
  sigprocmask(SIG_BLOCK, &m, NULL);
  kill(getpid(), SIGHUP);
  CHECK(pending() == BIT(SIGHUP), "SIGHUP not pending");
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    struct ksigaction a;
    raw_sigaction(SIGUSR1, NULL, &a, 8);
    if (a.handler != (void *)handler)
      _exit(1);
    raw_sigaction(SIGUSR2, NULL, &a, 8);
    if (a.handler != SIG_IGN)
      _exit(2);
    if (!(cur_mask() & BIT(SIGHUP)))
      _exit(3);
    if (pending() != 0)
      _exit(4);
    _exit(0);
  }
  CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st), "fork child status %#x", st);
  CHECK(WEXITSTATUS(st) == 0, "fork child: %s", (const char *[]){"", "handler not inherited", "SIG_IGN not inherited",
                                                                  "mask not inherited", "pending inherited"}[WEXITSTATUS(st) & 7]);
  /* Discard our pending SIGHUP. */
  signal(SIGHUP, SIG_IGN);
  signal(SIGHUP, SIG_DFL);

  /* execve: SIGUSR1 caught -> SIG_DFL, SIGUSR2 ignored -> stays, mask and pending kept. */
  p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    struct sigaction c;
    memset(&c, 0, sizeof c);
    c.sa_handler = handler;
    c.sa_flags = SA_RESTART;
    sigaddset(&c.sa_mask, SIGINT);
    sigaction(SIGUSR1, &c, NULL);
    signal(SIGUSR2, SIG_IGN);
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGTERM);
    sigaddset(&b, SIGHUP);
    sigprocmask(SIG_SETMASK, &b, NULL);
    kill(getpid(), SIGTERM);
    char *args[] = {argv[0], "after-exec", NULL};
    execve("/proc/self/exe", args, (char *[]){NULL});
    _exit(99);
  }
  CHECK(waitpid(p, &st, 0) == p, "waitpid exec child");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "after execve: status %#x (exit 10: caught handler kept, 11: flags/mask kept, 12: SIG_IGN lost, "
        "14: blocked mask lost, 15: pending lost, 99: execve failed)",
        st);
  return test_ok();
}
