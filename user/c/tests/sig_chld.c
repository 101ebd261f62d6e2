/* sig_chld — issue "Signals, process groups and sessions", part 10: SIGCHLD, stop/continue and
 * SIGPIPE.
 * Covers: SIGCHLD to the parent with CLD_EXITED (si_status = exit code, si_pid), CLD_KILLED
 * (si_status = signal), CLD_STOPPED and CLD_CONTINUED; wait4 with WUNTRACED reports a stop
 * ((sig << 8) | 0x7f) once, WCONTINUED reports 0xffff once; SA_NOCLDSTOP suppresses the
 * stop/continue notifications; SIGCHLD = SIG_IGN auto-reaps (wait returns ECHILD once all exited)
 * and sends no SIGCHLD; SA_NOCLDWAIT auto-reaps too but SIGCHLD is still sent; SIGPIPE for a write
 * to a pipe without readers (kills by default, EPIPE when ignored); SIGCONT to a stopped process
 * group; a stopped child dies from SIGKILL. */
#define TEST_NAME "sig_chld"
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Each SIGCHLD's siginfo goes through a pipe, so none is lost or merged unseen. */
static int chld_pipe[2];
static void chld_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  if (write(chld_pipe[1], si, sizeof *si) != sizeof *si)
    _exit(98);
}
static void set_chld(void *fn, int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (fn == SIG_IGN || fn == SIG_DFL)
    sa.sa_handler = fn;
  else
    sa.sa_sigaction = fn;
  sa.sa_flags = flags | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0, "sigaction SIGCHLD");
}

/* Waits (sigsuspend with SIGCHLD blocked elsewhere) until a SIGCHLD report is available. */
static siginfo_t next_chld(void) {
  siginfo_t si;
  sigset_t none;
  sigemptyset(&none);
  for (;;) {
    /* The pipe is non-blocking; the handler only runs inside sigsuspend (SIGCHLD is blocked
     * everywhere else), so a SIGCHLD that comes after the read is not missed. */
    ssize_t n = read(chld_pipe[0], &si, sizeof si);
    if (n == sizeof si)
      return si;
    sigsuspend(&none);
  }
}

static pid_t child_stopper(void) {
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (;;)
      pause();
  }
  return p;
}

int main(void) {
  int st;
  CHECK(pipe(chld_pipe) == 0, "pipe");
  fcntl(chld_pipe[0], F_SETFL, O_NONBLOCK);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  CHECK(sigprocmask(SIG_BLOCK, &chld, NULL) == 0, "block SIGCHLD");
  set_chld(chld_handler, SA_SIGINFO);

  /* CLD_EXITED. */
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0)
    _exit(37);
  siginfo_t si = next_chld();
  CHECK(si.si_signo == SIGCHLD && si.si_code == CLD_EXITED && si.si_pid == p && si.si_status == 37 &&
            si.si_uid == getuid(),
        "exit: si_code %d si_pid %d si_status %d, expected CLD_EXITED %d 37", si.si_code, si.si_pid, si.si_status, p);
  CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 37 && st == 37 << 8, "exit status %#x", st);

  /* CLD_KILLED. */
  p = child_stopper();
  CHECK(kill(p, SIGTERM) == 0, "kill");
  si = next_chld();
  CHECK(si.si_code == CLD_KILLED && si.si_pid == p && si.si_status == SIGTERM,
        "killed: si_code %d si_status %d, expected CLD_KILLED SIGTERM", si.si_code, si.si_status);
  CHECK(waitpid(p, &st, 0) == p && st == SIGTERM, "killed status %#x, expected %#x", st, SIGTERM);

  /* Stop and continue, with notifications and wait4 reports (each reported once). */
  p = child_stopper();
  CHECK(kill(p, SIGSTOP) == 0, "SIGSTOP");
  si = next_chld();
  CHECK(si.si_code == CLD_STOPPED && si.si_pid == p && si.si_status == SIGSTOP,
        "stop: si_code %d si_status %d, expected CLD_STOPPED SIGSTOP", si.si_code, si.si_status);
  CHECK(wait4(p, &st, WUNTRACED, NULL) == p && st == ((SIGSTOP << 8) | 0x7f), "stopped status %#x", st);
  CHECK(wait4(p, &st, WUNTRACED | WNOHANG, NULL) == 0, "stop reported twice");
  CHECK(kill(p, SIGCONT) == 0, "SIGCONT");
  si = next_chld();
  CHECK(si.si_code == CLD_CONTINUED && si.si_pid == p && si.si_status == SIGCONT,
        "continue: si_code %d si_status %d, expected CLD_CONTINUED SIGCONT", si.si_code, si.si_status);
  CHECK(wait4(p, &st, WCONTINUED, NULL) == p && st == 0xffff && WIFCONTINUED(st), "continued status %#x", st);
  CHECK(wait4(p, &st, WCONTINUED | WNOHANG, NULL) == 0, "continue reported twice");
  /* A stopped child is killed by SIGKILL. */
  CHECK(kill(p, SIGSTOP) == 0, "SIGSTOP");
  CHECK(wait4(p, &st, WUNTRACED, NULL) == p && WIFSTOPPED(st), "stopped status %#x", st);
  si = next_chld();
  CHECK(si.si_code == CLD_STOPPED, "second stop: si_code %d", si.si_code);
  CHECK(kill(p, SIGKILL) == 0, "SIGKILL");
  CHECK(wait4(p, &st, 0, NULL) == p && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "stopped + SIGKILL: status %#x", st);
  si = next_chld();
  CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL, "SIGKILL: si_code %d si_status %d", si.si_code,
        si.si_status);
  /* Without WUNTRACED a stop is not reported by wait. */
  p = child_stopper();
  CHECK(kill(p, SIGSTOP) == 0, "SIGSTOP");
  si = next_chld();
  CHECK(si.si_code == CLD_STOPPED, "stop: si_code %d", si.si_code);
  CHECK(wait4(p, &st, WNOHANG, NULL) == 0, "a stop reported without WUNTRACED");
  kill(p, SIGKILL);
  CHECK(wait4(p, &st, 0, NULL) == p && WTERMSIG(st) == SIGKILL, "status %#x", st);
  si = next_chld();

  /* SA_NOCLDSTOP: no notification for stop/continue, still one for the exit. */
  set_chld(chld_handler, SA_SIGINFO | SA_NOCLDSTOP);
  p = child_stopper();
  CHECK(kill(p, SIGSTOP) == 0, "SIGSTOP");
  CHECK(wait4(p, &st, WUNTRACED, NULL) == p && WIFSTOPPED(st), "status %#x", st);
  CHECK(kill(p, SIGCONT) == 0, "SIGCONT");
  CHECK(wait4(p, &st, WCONTINUED, NULL) == p && WIFCONTINUED(st), "status %#x", st);
  CHECK(kill(p, SIGKILL) == 0, "SIGKILL");
  si = next_chld();
  CHECK(si.si_code == CLD_KILLED && si.si_pid == p,
        "SA_NOCLDSTOP: first notification si_code %d, expected CLD_KILLED (no stop/continue)", si.si_code);
  CHECK(waitpid(p, &st, 0) == p, "reap");

  /* SIGCONT to a stopped process group. */
  set_chld(chld_handler, SA_SIGINFO);
  pid_t g1 = child_stopper();
  CHECK(setpgid(g1, g1) == 0, "setpgid");
  pid_t g2 = child_stopper();
  CHECK(setpgid(g2, g1) == 0, "setpgid");
  CHECK(kill(-g1, SIGSTOP) == 0, "stop group");
  CHECK(wait4(g1, &st, WUNTRACED, NULL) == g1 && WIFSTOPPED(st), "g1 not stopped: %#x", st);
  CHECK(wait4(g2, &st, WUNTRACED, NULL) == g2 && WIFSTOPPED(st), "g2 not stopped: %#x", st);
  CHECK(kill(-g1, SIGCONT) == 0, "continue group");
  CHECK(wait4(g1, &st, WCONTINUED, NULL) == g1 && WIFCONTINUED(st), "g1 not continued: %#x", st);
  CHECK(wait4(g2, &st, WCONTINUED, NULL) == g2 && WIFCONTINUED(st), "g2 not continued: %#x", st);
  kill(-g1, SIGKILL);
  CHECK(waitpid(g1, &st, 0) == g1 && waitpid(g2, &st, 0) == g2, "reap group");
  /* Drain the notifications of this part: 2 stops, 2 continues, 2 kills (some may merge). */
  while (read(chld_pipe[0], &si, sizeof si) == sizeof si)
    ;

  /* SIGCHLD = SIG_IGN: children are reaped automatically and no SIGCHLD is sent. */
  set_chld(SIG_IGN, 0);
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = fork();
    CHECK(kids[i] >= 0, "fork");
    if (kids[i] == 0)
      _exit(i);
  }
  errno = 0;
  CHECK(wait4(-1, &st, 0, NULL) == -1 && errno == ECHILD, "SIG_IGN: wait4 did not return ECHILD after all exited");
  sigset_t pend;
  sigpending(&pend);
  CHECK(!sigismember(&pend, SIGCHLD), "SIG_IGN: SIGCHLD pending");
  /* No zombie stays. Linux drops an automatically reaped child from the pid table just
   * after wait4 stops counting it (exit_notify marks it EXIT_DEAD, release_task runs on
   * its CPU once tasklist_lock is dropped), so kill(pid, 0) may still find it for a
   * moment: the oracle saw it once with 4 CPUs. */
  int gone = 0;
  for (int i = 0; i < 1000 && !gone; i++) {
    errno = 0;
    gone = kill(kids[0], 0) == -1 && errno == ESRCH;
    if (!gone)
      usleep(1000);
  }
  CHECK(gone, "SIG_IGN: the child is still there after 1 s (zombie)");

  /* SA_NOCLDWAIT with a handler: reaped automatically, but SIGCHLD is still sent. */
  set_chld(chld_handler, SA_SIGINFO | SA_NOCLDWAIT);
  p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0)
    _exit(5);
  errno = 0;
  CHECK(wait4(-1, &st, 0, NULL) == -1 && errno == ECHILD, "SA_NOCLDWAIT: wait4 did not return ECHILD");
  si = next_chld();
  CHECK(si.si_code == CLD_EXITED && si.si_pid == p && si.si_status == 5,
        "SA_NOCLDWAIT: SIGCHLD si_code %d si_pid %d si_status %d, expected CLD_EXITED %d 5", si.si_code, si.si_pid,
        si.si_status, p);
  set_chld(chld_handler, SA_SIGINFO);

  /* SIGPIPE: default kills the writer; ignored gives EPIPE. */
  for (int ign = 0; ign < 2; ign++) {
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    close(fds[0]);
    p = fork();
    CHECK(p >= 0, "fork");
    if (p == 0) {
      signal(SIGPIPE, ign ? SIG_IGN : SIG_DFL);
      errno = 0;
      ssize_t n = write(fds[1], "x", 1);
      _exit(n == -1 && errno == EPIPE ? 0 : 1);
    }
    close(fds[1]);
    CHECK(waitpid(p, &st, 0) == p, "waitpid");
    if (ign)
      CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGPIPE ignored: status %#x, expected write to fail with EPIPE", st);
    else
      CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "SIGPIPE default: status %#x, expected killed by SIGPIPE", st);
  }
  return test_ok();
}
