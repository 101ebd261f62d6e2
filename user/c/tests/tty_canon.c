/* tty_canon: the line discipline (Linux drivers/tty/n_tty.c), driven with TIOCSTI, which
 * hands a byte to the tty as if it had been typed. Canonical editing (DEL erases a byte,
 * ^U the line, ^W a word), a line per read, ^D: end of file at the start of a line and
 * the end of a line after some bytes, input mapping (ICRNL, IGNCR, INLCR), non-canonical
 * reads (VMIN 1 / VTIME 0, VMIN 0 / VTIME 0), FIONREAD, TCFLSH and TCSETSF.
 * ECHO is turned off so the injected bytes do not clutter the console. */
#define TEST_NAME "tty_canon"
#include "common.h"
#include <fcntl.h>
#include <stdint.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct kterm {
  uint32_t iflag, oflag, cflag, lflag;
  uint8_t line, cc[19];
};
enum { TCIFLUSH = 0, ICANON = 0x2, ECHO = 0x8, ISIG = 0x1, ICRNL = 0x100, IGNCR = 0x80, INLCR = 0x40, VTIME = 5, VMIN = 6 };

static int fd;

static void type(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) CHECK(ioctl(fd, TIOCSTI, s + i) == 0, "TIOCSTI byte %zu of %zu", i, n);
}
#define TYPE(lit) type(lit, sizeof(lit) - 1)

/* Reads once and compares with the expected bytes. */
static void expect(int line, size_t cap, const char *want, size_t n) {
  char buf[256];
  memset(buf, 0, sizeof buf);
  ssize_t r = read(fd, buf, cap);
  CHECK(r == (ssize_t)n && memcmp(buf, want, n) == 0, "(line %d) read %zd bytes \"%.*s\", want %zu \"%.*s\"",
        line, r, r > 0 ? (int)r : 0, buf, n, (int)n, want);
}
#define EXPECT(cap, lit) expect(__LINE__, cap, lit, sizeof(lit) - 1)

static void set(struct kterm *t) { CHECK(ioctl(fd, TCSETS, t) == 0, "TCSETS"); }

int main(void) {
  fd = open("/dev/ttyAMA0", O_RDWR | O_NOCTTY);
  if (fd < 0) fd = open("/dev/console", O_RDWR | O_NOCTTY);
  CHECK(fd >= 0, "open the console tty");
  struct kterm saved, t;
  CHECK(ioctl(fd, TCGETS, &saved) == 0, "TCGETS");
  t = saved;
  t.lflag &= ~ECHO;
  set(&t);
  CHECK(ioctl(fd, TCFLSH, TCIFLUSH) == 0, "TCFLSH");

  /* Canonical editing. */
  TYPE("ab\x7f" "c\n");
  EXPECT(100, "ac\n");
  TYPE("xyz\x15hello\n");
  EXPECT(100, "hello\n");
  TYPE("foo bar\x17" "baz\n");
  EXPECT(100, "foo baz\n");
  TYPE("a/b\x17\n");
  EXPECT(100, "a/\n");
  TYPE("\x7f\x7fz\n"); /* erasing nothing does nothing */
  EXPECT(100, "z\n");
  /* One line per read, and a long line over several reads. */
  TYPE("one\ntwo\n");
  EXPECT(100, "one\n");
  EXPECT(100, "two\n");
  TYPE("hello\n");
  EXPECT(2, "he");
  EXPECT(100, "llo\n");
  /* ^D: at the start of a line, end of file (read 0); after bytes, it ends the line and is
   * not returned; either way it is used up. */
  TYPE("\x04");
  EXPECT(100, "");
  TYPE("abc\x04" "d\n");
  EXPECT(100, "abc");
  EXPECT(100, "d\n");
  /* Input mapping: ICRNL (on by default) turns Enter's '\r' into '\n'. */
  TYPE("hi\r");
  EXPECT(100, "hi\n");
  t.iflag |= IGNCR;
  set(&t);
  TYPE("a\rb\n");
  EXPECT(100, "ab\n");
  t.iflag &= ~IGNCR;
  set(&t);

  /* FIONREAD counts the bytes of complete lines only (Linux inq_canon). */
  int n = -1;
  TYPE("12\n34");
  CHECK(ioctl(fd, FIONREAD, &n) == 0 && n == 3, "FIONREAD in canonical mode: %d, want 3", n);
  CHECK(ioctl(fd, TCFLSH, TCIFLUSH) == 0, "TCFLSH");
  CHECK(ioctl(fd, FIONREAD, &n) == 0 && n == 0, "FIONREAD after TCFLSH: %d", n);

  /* A blocking read with nothing to read, made non-blocking: EAGAIN; a partial line is not
   * readable in canonical mode. */
  int fl = fcntl(fd, F_GETFL);
  CHECK(fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0, "O_NONBLOCK");
  TYPE("partial");
  char c;
  CHECK(read(fd, &c, 1) == -1 && errno == EAGAIN, "read of a partial line, O_NONBLOCK: EAGAIN");
  CHECK(fcntl(fd, F_SETFL, fl) == 0, "clear O_NONBLOCK");
  CHECK(ioctl(fd, TCFLSH, TCIFLUSH) == 0, "TCFLSH");

  /* Non-canonical, VMIN 1 / VTIME 0: every byte as it comes, nothing special, ^C too
   * without ISIG. */
  t.lflag &= ~(ICANON | ISIG);
  t.cc[VMIN] = 1;
  t.cc[VTIME] = 0;
  set(&t);
  TYPE("q");
  EXPECT(10, "q");
  TYPE("\x7f\x15\x03\x04");
  EXPECT(10, "\x7f\x15\x03\x04");
  TYPE("\r");
  EXPECT(10, "\n"); /* ICRNL still maps */
  t.iflag = (t.iflag & ~ICRNL) | INLCR;
  set(&t);
  TYPE("\n\r");
  EXPECT(10, "\r\r");
  t.iflag = saved.iflag;
  set(&t);
  /* Non-canonical, VMIN 0 / VTIME 0: a poll, 0 at once when there is nothing. */
  t.cc[VMIN] = 0;
  set(&t);
  EXPECT(10, "");
  TYPE("xy");
  CHECK(ioctl(fd, FIONREAD, &n) == 0 && n == 2, "FIONREAD in raw mode: %d, want 2", n);
  EXPECT(1, "x");
  EXPECT(10, "y");
  /* Switching canonical mode off makes a partial line readable. */
  set(&saved);
  t = saved;
  t.lflag &= ~ECHO;
  set(&t);
  TYPE("ab");
  t.lflag &= ~ICANON;
  t.cc[VMIN] = 0;
  set(&t);
  EXPECT(10, "ab");
  /* TCSETSF throws pending input away. */
  TYPE("junk");
  CHECK(ioctl(fd, TCSETSF, &t) == 0, "TCSETSF");
  EXPECT(10, "");

  /* poll: POLLIN only once a whole line is waiting (canonical), POLLOUT always. */
  t = saved;
  t.lflag &= ~ECHO;
  CHECK(ioctl(fd, TCSETSF, &t) == 0, "TCSETSF");
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
  CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT, "poll, no input: revents %#x", p.revents);
  TYPE("x");
  CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT, "poll, partial line: revents %#x", p.revents);
  TYPE("\n");
  CHECK(poll(&p, 1, 0) == 1 && p.revents == (POLLIN | POLLOUT), "poll, a line: revents %#x", p.revents);
  EXPECT(10, "x\n");
  /* A poller asleep is woken by input (another process types a line). */
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    usleep(100000);
    TYPE("y\n");
    _exit(0);
  }
  p.events = POLLIN;
  CHECK(poll(&p, 1, 5000) == 1 && p.revents == POLLIN, "poll woken by input: revents %#x", p.revents);
  EXPECT(10, "y\n");
  CHECK(waitpid(pid, NULL, 0) == pid, "waitpid");

  CHECK(ioctl(fd, TCSETSF, &saved) == 0, "restore termios");
  return test_ok();
}
