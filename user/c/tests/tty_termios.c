/* tty_termios: the console tty's termios and window size (Linux drivers/tty/tty_ioctl.c):
 * TCGETS gives Linux's defaults (tty_std_termios), TCSETS/TCSETSW/TCSETSF round-trip,
 * TIOCGWINSZ/TIOCSWINSZ round-trip, and a pipe is not a tty (ENOTTY, isatty 0).
 * The tty is opened by name with O_NOCTTY: stdin need not be a tty. */
#define TEST_NAME "tty_termios"
#include "common.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The kernel's struct termios (TCGETS layout, 36 bytes), not glibc's. */
struct kterm {
  uint32_t iflag, oflag, cflag, lflag;
  uint8_t line, cc[19];
};

static int open_tty(void) {
  int fd = open("/dev/ttyAMA0", O_RDWR | O_NOCTTY);
  return fd >= 0 ? fd : open("/dev/console", O_RDWR | O_NOCTTY);
}

int main(void) {
  CHECK(sizeof(struct kterm) == 36, "struct size %zu", sizeof(struct kterm));
  int fd = open_tty();
  CHECK(fd >= 0, "open the console tty");
  CHECK(isatty(fd) == 1, "isatty(tty)");

  struct kterm t, saved;
  CHECK(ioctl(fd, TCGETS, &t) == 0, "TCGETS");
  saved = t;
  /* Linux's defaults (tty_std_termios; the baud rate in c_cflag depends on the driver). */
  CHECK(t.iflag == 0x500, "c_iflag %#x", t.iflag);
  CHECK(t.oflag == 0x5, "c_oflag %#x", t.oflag);
  CHECK((t.cflag & 0xb0) == 0xb0, "c_cflag %#x lacks CS8|CREAD", t.cflag);
  CHECK(t.lflag == 0x8a3b, "c_lflag %#x", t.lflag);
  CHECK(t.line == 0, "c_line %d", t.line);
  static const uint8_t cc[17] = {3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0};
  for (int i = 0; i < 17; i++) CHECK(t.cc[i] == cc[i], "c_cc[%d] = %d, want %d", i, t.cc[i], cc[i]);

  /* TCSETS round trip: raw mode, VMIN 0, VTIME 5. */
  t.lflag &= ~(0x2u | 0x8u); /* ICANON, ECHO */
  t.cc[6] = 0;
  t.cc[5] = 5;
  CHECK(ioctl(fd, TCSETS, &t) == 0, "TCSETS");
  struct kterm u;
  CHECK(ioctl(fd, TCGETS, &u) == 0, "TCGETS after TCSETS");
  CHECK(memcmp(&t, &u, sizeof t) == 0, "TCSETS round trip: lflag %#x vmin %d vtime %d", u.lflag, u.cc[6],
        u.cc[5]);
  t.oflag = 0;
  CHECK(ioctl(fd, TCSETSW, &t) == 0, "TCSETSW");
  CHECK(ioctl(fd, TCGETS, &u) == 0 && u.oflag == 0, "TCSETSW round trip: oflag %#x", u.oflag);
  CHECK(ioctl(fd, TCSETSF, &saved) == 0, "TCSETSF");
  CHECK(ioctl(fd, TCGETS, &u) == 0 && memcmp(&saved, &u, sizeof u) == 0, "TCSETSF restores");
  CHECK(ioctl(fd, TCGETS, (void *)8) == -1 && errno == EFAULT, "TCGETS to a bad address: EFAULT");

  /* Window size: what is set is what is read back. */
  struct winsize ws, old;
  CHECK(ioctl(fd, TIOCGWINSZ, &old) == 0, "TIOCGWINSZ");
  ws = (struct winsize){.ws_row = 30, .ws_col = 100, .ws_xpixel = 1, .ws_ypixel = 2};
  CHECK(ioctl(fd, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ");
  memset(&ws, 0, sizeof ws);
  CHECK(ioctl(fd, TIOCGWINSZ, &ws) == 0, "TIOCGWINSZ again");
  CHECK(ws.ws_row == 30 && ws.ws_col == 100 && ws.ws_xpixel == 1 && ws.ws_ypixel == 2,
        "winsize %dx%d", ws.ws_row, ws.ws_col);
  CHECK(ioctl(fd, TIOCSWINSZ, &old) == 0, "TIOCSWINSZ restore");

  /* FIONREAD works on a tty; an unknown tty ioctl is ENOTTY. */
  int n = -1;
  CHECK(ioctl(fd, FIONREAD, &n) == 0 && n >= 0, "FIONREAD %d", n);
  CHECK(ioctl(fd, 0x54ff, 0) == -1 && errno == ENOTTY, "unknown tty ioctl: ENOTTY");

  /* A pipe is not a tty. */
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  CHECK(ioctl(p[0], TCGETS, &t) == -1 && errno == ENOTTY, "TCGETS on a pipe: ENOTTY");
  CHECK(ioctl(p[0], TIOCGWINSZ, &ws) == -1 && errno == ENOTTY, "TIOCGWINSZ on a pipe: ENOTTY");
  CHECK(ioctl(p[1], TIOCGPGRP, &n) == -1 && errno == ENOTTY, "TIOCGPGRP on a pipe: ENOTTY");
  CHECK(isatty(p[0]) == 0 && errno == ENOTTY, "isatty(pipe)");
  int null = open("/dev/null", O_RDWR);
  CHECK(null >= 0 && isatty(null) == 0 && errno == ENOTTY, "isatty(/dev/null)");
  return test_ok();
}
