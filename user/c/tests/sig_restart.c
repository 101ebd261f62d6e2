/* sig_restart — issue "Signals, process groups and sessions", part 6: system calls interrupted by
 * signals (ERESTARTSYS / ERESTARTNOHAND / ERESTART_RESTARTBLOCK as user space sees them).
 * Covers: a blocking pipe read interrupted by a handler is restarted with SA_RESTART (returns the
 * data written later) and fails with EINTR without it; the same for wait4; nanosleep and
 * clock_nanosleep return EINTR with the remaining time even with SA_RESTART; ppoll, poll, pselect,
 * select and sigsuspend always return EINTR; an ignored signal (SIG_IGN, or SIG_DFL whose default
 * is ignore: SIGCHLD, SIGWINCH, SIGURG) does not interrupt a read at all; a stop and continue does
 * not make a read fail nor a nanosleep return early (restart_syscall resumes the remaining time).
 * Signals come from a child that keeps sending them every 10 ms, so at least one of them arrives
 * while the parent is blocked whatever the scheduling. */
#define _GNU_SOURCE   /* ppoll */
#define TEST_NAME "sig_restart"
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int hits;
static void handler(int sig) {
  (void)sig;
  hits++;
}

static void set_action(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction %d", sig);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A child that sends `sig` (and `sig2` if non-zero) to us every 10 ms, `count` times (forever if
 * count < 0), then writes "data" to wfd (if >= 0) and exits with 7. */
static pid_t pester(int sig, int sig2, int count, int wfd) {
  pid_t parent = getpid();
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    for (int i = 0; count < 0 || i < count; i++) {
      sleep_ms(10);
      kill(parent, sig);
      if (sig2)
        kill(parent, sig2);
    }
    if (wfd >= 0 && write(wfd, "data", 4) != 4)
      _exit(1);
    _exit(7);
  }
  return p;
}

static void stop_pester(pid_t p) {
  int st;
  kill(p, SIGKILL);
  CHECK(waitpid(p, &st, 0) == p, "reap pester");
}

int main(void) {
  int fds[2];
  char buf[16];
  int st;

  /* read + SA_RESTART: restarted, returns the data written after the signals. */
  set_action(SIGUSR1, handler, SA_RESTART);
  CHECK(pipe(fds) == 0, "pipe");
  hits = 0;
  pid_t p = pester(SIGUSR1, 0, 5, fds[1]);
  ssize_t n = read(fds[0], buf, sizeof buf);
  CHECK(n == 4 && memcmp(buf, "data", 4) == 0, "read with SA_RESTART returned %zd, expected the 4 bytes", n);
  CHECK(hits >= 1, "no handler ran during the read");
  CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 7, "pester status %#x", st);

  /* read without SA_RESTART: EINTR. */
  set_action(SIGUSR1, handler, 0);
  hits = 0;
  p = pester(SIGUSR1, 0, -1, -1);
  errno = 0;
  n = read(fds[0], buf, sizeof buf);
  CHECK(n == -1 && errno == EINTR, "read without SA_RESTART returned %zd, expected -1 EINTR", n);
  CHECK(hits >= 1, "read returned EINTR but no handler ran");
  stop_pester(p);

  /* wait4 + SA_RESTART: restarted until the child exits. Without: EINTR. */
  set_action(SIGUSR1, handler, SA_RESTART);
  hits = 0;
  p = pester(SIGUSR1, 0, 5, -1);
  pid_t w = wait4(p, &st, 0, NULL);
  CHECK(w == p && WIFEXITED(st) && WEXITSTATUS(st) == 7, "wait4 with SA_RESTART returned %d status %#x", w, st);
  CHECK(hits >= 1, "no handler ran during wait4");
  set_action(SIGUSR1, handler, 0);
  hits = 0;
  p = pester(SIGUSR1, 0, -1, -1);
  errno = 0;
  w = wait4(p, &st, 0, NULL);
  CHECK(w == -1 && errno == EINTR, "wait4 without SA_RESTART returned %d, expected -1 EINTR", w);
  stop_pester(p);

  /* Calls that are never restarted, even with SA_RESTART. */
  set_action(SIGUSR1, handler, SA_RESTART);
  p = pester(SIGUSR1, 0, -1, -1);
  struct timespec req = {30, 0}, rem = {-1, -1};
  errno = 0;
  int r = nanosleep(&req, &rem);
  CHECK(r == -1 && errno == EINTR, "nanosleep with SA_RESTART returned %d, expected -1 EINTR", r);
  CHECK(rem.tv_sec >= 0 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000L &&
            (rem.tv_sec > 20 || (rem.tv_sec == 20 && rem.tv_nsec > 0)) && rem.tv_sec < 30,
        "nanosleep rem = %ld.%09ld, expected a little under 30 s", (long)rem.tv_sec, rem.tv_nsec);
  rem = (struct timespec){-1, -1};
  r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
  CHECK(r == EINTR, "clock_nanosleep with SA_RESTART returned %d, expected EINTR", r);
  CHECK(rem.tv_sec >= 20 && rem.tv_sec < 30, "clock_nanosleep rem = %ld.%09ld", (long)rem.tv_sec, rem.tv_nsec);
  struct timespec abs;
  clock_gettime(CLOCK_MONOTONIC, &abs);
  abs.tv_sec += 30;
  r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
  CHECK(r == EINTR, "clock_nanosleep TIMER_ABSTIME returned %d, expected EINTR", r);
  errno = 0;
  r = ppoll(NULL, 0, NULL, NULL);
  CHECK(r == -1 && errno == EINTR, "ppoll returned %d, expected -1 EINTR", r);
  struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
  errno = 0;
  r = poll(&pfd, 1, -1);
  CHECK(r == -1 && errno == EINTR, "poll returned %d, expected -1 EINTR", r);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(fds[0], &rs);
  errno = 0;
  r = select(fds[0] + 1, &rs, NULL, NULL, NULL);
  CHECK(r == -1 && errno == EINTR, "select returned %d, expected -1 EINTR", r);
  FD_ZERO(&rs);
  FD_SET(fds[0], &rs);
  errno = 0;
  r = pselect(fds[0] + 1, &rs, NULL, NULL, NULL, NULL);
  CHECK(r == -1 && errno == EINTR, "pselect returned %d, expected -1 EINTR", r);
  sigset_t empty, m;
  sigemptyset(&empty);
  sigemptyset(&m);
  sigaddset(&m, SIGUSR2);
  CHECK(sigprocmask(SIG_SETMASK, &m, NULL) == 0, "block SIGUSR2");
  hits = 0;
  errno = 0;
  r = sigsuspend(&empty);
  CHECK(r == -1 && errno == EINTR && hits >= 1, "sigsuspend returned %d hits %d, expected -1 EINTR after a handler",
        r, (int)hits);
  CHECK(sigprocmask(SIG_SETMASK, NULL, &m) == 0 && sigismember(&m, SIGUSR2) == 1 && sigismember(&m, SIGUSR1) == 0,
        "mask after sigsuspend not restored");
  sigemptyset(&m);
  sigprocmask(SIG_SETMASK, &m, NULL);
  stop_pester(p);

  /* Ignored signals do not interrupt anything: SIG_IGN, and SIG_DFL with the ignore action. */
  set_action(SIGUSR2, SIG_IGN, 0);
  set_action(SIGWINCH, SIG_DFL, 0);
  set_action(SIGURG, SIG_DFL, 0);
  set_action(SIGCHLD, SIG_DFL, 0);
  p = pester(SIGUSR2, SIGWINCH, 5, fds[1]);
  errno = 0;
  n = read(fds[0], buf, sizeof buf);
  CHECK(n == 4, "read with SIG_IGN/SIGWINCH arriving returned %zd, expected the data", n);
  CHECK(waitpid(p, &st, 0) == p, "reap");
  p = pester(SIGURG, SIGCHLD, 5, fds[1]);
  errno = 0;
  n = read(fds[0], buf, sizeof buf);
  CHECK(n == 4, "read with SIGURG/SIGCHLD (default ignore) arriving returned %zd, expected the data", n);
  CHECK(waitpid(p, &st, 0) == p, "reap");
  /* A blocked signal with a handler does not interrupt either. */
  set_action(SIGUSR1, handler, 0);
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &m, NULL) == 0, "block");
  hits = 0;
  p = pester(SIGUSR1, 0, 5, fds[1]);
  n = read(fds[0], buf, sizeof buf);
  CHECK(n == 4 && hits == 0, "read with a blocked signal arriving returned %zd (hits %d)", n, (int)hits);
  CHECK(waitpid(p, &st, 0) == p, "reap");
  CHECK(sigprocmask(SIG_UNBLOCK, &m, NULL) == 0 && hits == 1, "the blocked signal was not delivered once on unblock");

  /* Stop and continue: a child blocked in read, then in nanosleep, is stopped (confirmed with
   * WUNTRACED) and continued; neither call fails. */
  int ready[2];
  CHECK(pipe(ready) == 0, "pipe");
  for (int what = 0; what < 2; what++) {
    p = fork();
    CHECK(p >= 0, "fork");
    if (p == 0) {
      if (write(ready[1], "r", 1) != 1)
        _exit(1);
      if (what == 0) {
        errno = 0;
        ssize_t k = read(fds[0], buf, sizeof buf);
        _exit(k == 4 ? 0 : errno == EINTR ? 2 : 3);
      }
      struct timespec d = {1, 500000000L};
      double t0 = now();
      errno = 0;
      int k = nanosleep(&d, NULL);
      double el = now() - t0;
      _exit(k != 0 ? (errno == EINTR ? 2 : 3) : el < 1.5 ? 4 : 0);
    }
    CHECK(read(ready[0], buf, 1) == 1, "ready");
    sleep_ms(200);   /* the child is blocked by now (if not, it blocks after the continue: same result) */
    CHECK(kill(p, SIGSTOP) == 0, "SIGSTOP");
    CHECK(waitpid(p, &st, WUNTRACED) == p && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "child not stopped: %#x", st);
    CHECK(kill(p, SIGCONT) == 0, "SIGCONT");
    if (what == 0) {
      sleep_ms(100);
      CHECK(write(fds[1], "data", 4) == 4, "write");
    }
    CHECK(waitpid(p, &st, 0) == p, "waitpid");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "%s across stop/continue: child status %#x (exit 2: EINTR, 3: other error, 4: woke early)",
          what ? "nanosleep" : "read", st);
  }
  return test_ok();
}
