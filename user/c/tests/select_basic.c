/* select/pselect6: readable, writable and exceptional sets over pipes, EBADF for a set
 * bit on a closed descriptor, EINVAL for a negative count, nfds beyond the descriptor
 * table (Linux clamps it), the time left written back, a wakeup from another process,
 * and the sigmask argument pack (checked on Linux 6.1). */
#define _GNU_SOURCE
#define TEST_NAME "select_basic"
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* pselect6's sixth argument. */
struct sigset_argpack {
  const sigset_t *ss;
  size_t ss_len;
};

int main(void) {
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  fd_set r, w, x;
  struct timeval tv = {0, 0};

  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_ZERO(&x);
  FD_SET(p[0], &r);
  FD_SET(p[1], &w);
  FD_SET(p[0], &x);
  CHECK(select(p[1] + 1, &r, &w, &x, &tv) == 1, "empty pipe: writable only");
  CHECK(!FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w) && !FD_ISSET(p[0], &x), "sets");

  write(p[1], "a", 1);
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(p[0], &r);
  FD_SET(p[1], &r); /* a write end is never readable */
  FD_SET(p[1], &w);
  FD_SET(p[0], &w); /* nor a read end writable */
  CHECK(select(p[1] + 1, &r, &w, NULL, &tv) == 2, "one readable + one writable");
  CHECK(FD_ISSET(p[0], &r) && !FD_ISSET(p[1], &r), "readable set");
  CHECK(FD_ISSET(p[1], &w) && !FD_ISSET(p[0], &w), "writable set");

  /* The same descriptor in two sets counts twice. */
  int q[2];
  CHECK(pipe(q) == 0, "pipe");
  int rw = open("/dev/null", O_RDWR);
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(rw, &r);
  FD_SET(rw, &w);
  CHECK(select(rw + 1, &r, &w, NULL, &tv) == 2, "/dev/null readable and writable");

  /* A closed descriptor in a set: EBADF. */
  close(q[1]);
  FD_ZERO(&r);
  FD_SET(q[1], &r);
  errno = 0;
  CHECK(select(q[1] + 1, &r, NULL, NULL, &tv) == -1 && errno == EBADF, "EBADF");
  /* ... but bits at or above nfds are not looked at. */
  CHECK(select(q[1], &r, NULL, NULL, &tv) == 0, "bit above nfds ignored");

  /* A read end whose writer is gone is readable (end of file). */
  FD_ZERO(&r);
  FD_SET(q[0], &r);
  CHECK(select(q[0] + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(q[0], &r), "hang-up is readable");
  close(q[0]);

  errno = 0;
  CHECK(select(-1, NULL, NULL, NULL, &tv) == -1 && errno == EINVAL, "EINVAL negative nfds");
  struct timeval badtv = {0, 2000000};
  errno = 0;
  CHECK(select(0, NULL, NULL, NULL, &badtv) == 0 || errno == EINVAL, "glibc normalises tv_usec");

  /* nfds beyond the descriptor table (64 here): Linux clamps it, so a set bit on
   * descriptor 100 is not looked at (and not cleared). */
  long big[32] = {0};
  big[100 / 64] |= 1L << (100 % 64);
  struct timespec zero = {0, 0};
  CHECK(syscall(SYS_pselect6, 1024, big, NULL, NULL, &zero, NULL) == 0, "clamped nfds");
  CHECK(big[1] & (1L << 36), "the bit above the table is left as it was");
  CHECK(syscall(SYS_pselect6, 2000000, NULL, NULL, NULL, &zero, NULL) == 0, "huge nfds");

  /* Timeout: the time left is written back by pselect6. */
  CHECK(read(p[0], (char[1]){0}, 1) == 1, "drain");
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  struct timespec ts = {0, 30 * 1000000};
  CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL) == 0, "timed out");
  CHECK(!FD_ISSET(p[0], &r), "result set cleared on timeout");
  CHECK(ts.tv_sec == 0 && ts.tv_nsec == 0, "no time left %ld", ts.tv_nsec);

  /* Another process writes: the waiter wakes with time left. */
  pid_t pid = fork();
  if (pid == 0) {
    usleep(50000);
    write(p[1], "b", 1);
    _exit(0);
  }
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  ts.tv_sec = 10;
  ts.tv_nsec = 0;
  CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL) == 1, "woken");
  CHECK(FD_ISSET(p[0], &r) && ts.tv_sec < 10 && ts.tv_sec >= 5, "time left %ld", (long)ts.tv_sec);
  int st;
  waitpid(pid, &st, 0);

  /* The sigmask pack: a bad size is EINVAL, a bad pointer EFAULT. */
  sigset_t set;
  sigemptyset(&set);
  struct sigset_argpack pack = {&set, 8};
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &zero, &pack) == 1, "with a mask");
  pack.ss_len = 16;
  errno = 0;
  CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &zero, &pack) == -1 && errno == EINVAL, "ss_len");
  errno = 0;
  CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &zero, (void *)8) == -1 && errno == EFAULT, "pack EFAULT");
  errno = 0;
  CHECK(syscall(SYS_pselect6, p[0] + 1, (void *)8, NULL, NULL, &zero, NULL) == -1 && errno == EFAULT, "set EFAULT");
  struct timespec bad = {0, -1};
  errno = 0;
  CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &bad, NULL) == -1 && errno == EINVAL, "bad timespec");
  return test_ok();
}
