/* tty_jobctl: sessions, the controlling terminal and job control (Linux
 * drivers/tty/tty_jobctrl.c, n_tty.c). A child A makes a session (setsid), opens the console
 * tty and so acquires it as its controlling terminal, then plays shell with grandchildren:
 * ^C (typed with TIOCSTI) kills a foreground job blocked in read() with SIGINT; ^Z stops
 * one with SIGTSTP (waitpid WUNTRACED); a background job's read stops it with SIGTTIN, or
 * fails with EIO when SIGTTIN is ignored; with TOSTOP a background write stops with SIGTTOU;
 * TIOCSPGRP's checks; SIGWINCH on a size change; TIOCNOTTY by the leader sends the
 * foreground group SIGHUP and leaves the session without a terminal.
 * Needs real signal delivery. */
#define TEST_NAME "tty_jobctl"
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

struct kterm {
  uint32_t iflag, oflag, cflag, lflag;
  uint8_t line, cc[19];
};
enum { ECHO_ = 0x8, TOSTOP_ = 0x100 };

static int fd;
static volatile int winches, hups;
static void on_winch(int s) { (void)s; winches++; }
static void on_hup(int s) { (void)s; hups++; }

static void type(char c) { CHECK(ioctl(fd, TIOCSTI, &c) == 0, "TIOCSTI"); }

/* A job in its own process group; `fg`: the terminal's foreground. The child runs `body`. */
static pid_t job(int fg, void (*body)(void)) {
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    setpgid(0, 0);
    if (fg)
      while (tcgetpgrp(fd) != getpid()) usleep(1000);
    body();
    _exit(0);
  }
  setpgid(pid, pid); /* as a shell does: whichever of the two runs first */
  if (fg) CHECK(tcsetpgrp(fd, pid) == 0, "tcsetpgrp(job)");
  return pid;
}

static void blocking_read(void) {
  char buf[16];
  ssize_t n = read(fd, buf, sizeof buf);
  printf("%s: FAILED read returned %zd (errno %d)\n", TEST_NAME, n, errno);
  _exit(3);
}

static void read_expect_eio(void) {
  signal(SIGTTIN, SIG_IGN);
  char c;
  _exit(read(fd, &c, 1) == -1 && errno == EIO ? 0 : 4);
}

static void background_write(void) {
  signal(SIGTTOU, SIG_DFL); /* the shell's SIG_IGN was inherited */
  ssize_t n = write(fd, "", 0) + write(fd, "x", 1);
  printf("%s: FAILED background write with TOSTOP returned %zd\n", TEST_NAME, n);
  _exit(5);
}

static void expect_stop(pid_t pid, int sig, const char *what) {
  int st;
  CHECK(waitpid(pid, &st, WUNTRACED) == pid, "waitpid %s", what);
  CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == sig, "%s: status %#x, want stopped by %d", what, st, sig);
  kill(pid, SIGKILL);
  CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st), "reap %s", what);
  CHECK(tcsetpgrp(fd, getpid()) == 0, "take the terminal back after %s", what);
}

static int session(void) {
  CHECK(setsid() == getpid(), "setsid");
  fd = open("/dev/ttyAMA0", O_RDWR);
  if (fd < 0) fd = open("/dev/console", O_RDWR);
  CHECK(fd >= 0, "open the console tty");
  CHECK(ioctl(fd, TIOCSCTTY, 0) == 0, "TIOCSCTTY");
  CHECK(tcgetsid(fd) == getpid(), "tcgetsid %d", tcgetsid(fd));
  CHECK(tcgetpgrp(fd) == getpid(), "tcgetpgrp %d", tcgetpgrp(fd));
  int t = open("/dev/tty", O_RDWR);
  CHECK(t >= 0, "open /dev/tty with a controlling terminal");
  close(t);
  struct kterm saved, k;
  CHECK(ioctl(fd, TCGETS, &saved) == 0, "TCGETS");
  k = saved;
  k.lflag &= ~ECHO_;
  CHECK(ioctl(fd, TCSETSF, &k) == 0, "TCSETSF");
  signal(SIGTTOU, SIG_IGN); /* the shell's: it changes the foreground from the background */

  /* ^C: the foreground job blocked in read() dies of SIGINT. */
  pid_t b = job(1, blocking_read);
  usleep(200000);
  type(3);
  int st;
  CHECK(waitpid(b, &st, 0) == b, "waitpid ^C job");
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "^C job status %#x, want killed by SIGINT", st);
  CHECK(tcsetpgrp(fd, getpid()) == 0, "take the terminal back");

  /* ^Z: the foreground job stops with SIGTSTP. */
  pid_t c = job(1, blocking_read);
  usleep(200000);
  type(26);
  expect_stop(c, SIGTSTP, "^Z job");

  /* A background job's read: SIGTTIN stops it; with SIGTTIN ignored the read fails (EIO). */
  expect_stop(job(0, blocking_read), SIGTTIN, "background reader");
  pid_t e = job(0, read_expect_eio);
  CHECK(waitpid(e, &st, 0) == e && WIFEXITED(st) && WEXITSTATUS(st) == 0, "background read, SIGTTIN ignored: status %#x, want EIO", st);

  /* TOSTOP: a background write stops with SIGTTOU. */
  k.lflag |= TOSTOP_;
  CHECK(ioctl(fd, TCSETS, &k) == 0, "TCSETS TOSTOP");
  expect_stop(job(0, background_write), SIGTTOU, "background writer");
  k.lflag &= ~TOSTOP_;
  CHECK(ioctl(fd, TCSETS, &k) == 0, "TCSETS");

  /* TIOCSPGRP's checks. */
  CHECK(tcsetpgrp(fd, -1) == -1 && errno == EINVAL, "tcsetpgrp(-1): EINVAL");
  CHECK(tcsetpgrp(fd, 99999) == -1 && errno == ESRCH, "tcsetpgrp(no such group): ESRCH");
  CHECK(tcsetpgrp(fd, getppid()) == -1 && errno == EPERM, "tcsetpgrp(a process of another session): EPERM");

  /* SIGWINCH to the foreground group when the size changes, not when it stays. */
  signal(SIGWINCH, on_winch);
  struct winsize ws, old;
  CHECK(ioctl(fd, TIOCGWINSZ, &old) == 0, "TIOCGWINSZ");
  ws = old;
  ws.ws_row += 1;
  CHECK(ioctl(fd, TIOCSWINSZ, &ws) == 0 && ioctl(fd, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ");
  CHECK(winches == 1, "SIGWINCH %d times, want 1", winches);
  CHECK(ioctl(fd, TIOCSWINSZ, &old) == 0, "TIOCSWINSZ restore");

  /* TIOCNOTTY by the session leader: SIGHUP (and SIGCONT) to the foreground group (ours),
   * and the session has no terminal any more. */
  signal(SIGHUP, on_hup);
  CHECK(ioctl(fd, TIOCNOTTY) == 0, "TIOCNOTTY");
  CHECK(hups == 1, "SIGHUP %d times, want 1", hups);
  CHECK(tcgetpgrp(fd) == -1 && errno == ENOTTY, "tcgetpgrp after TIOCNOTTY: ENOTTY");
  CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO, "/dev/tty without a controlling terminal: ENXIO");
  CHECK(ioctl(fd, TCSETSF, &saved) == 0, "restore termios");
  return 0;
}

int main(void) {
  /* Without a controlling terminal, /dev/tty is ENXIO and the job-control ioctls ENOTTY. */
  int me = open("/dev/ttyAMA0", O_RDWR | O_NOCTTY);
  if (me < 0) me = open("/dev/console", O_RDWR | O_NOCTTY);
  CHECK(me >= 0, "open the console tty");
  CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO, "/dev/tty without a controlling terminal: ENXIO");
  CHECK(tcgetpgrp(me) == -1 && errno == ENOTTY, "tcgetpgrp, not our terminal: ENOTTY");
  CHECK(ioctl(me, TIOCSCTTY, 0) == -1 && errno == EPERM, "TIOCSCTTY, not a session leader: EPERM");
  pid_t a = fork();
  CHECK(a >= 0, "fork");
  if (a == 0) _exit(session());
  int st;
  CHECK(waitpid(a, &st, 0) == a, "waitpid");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "session leader status %#x", st);
  return test_ok();
}
