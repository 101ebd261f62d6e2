/* ppoll/poll on pipes and FIFOs: readiness transitions (POLLIN, POLLOUT, POLLHUP,
 * POLLERR, POLLNVAL), negative descriptors, timeouts and the time left, a wakeup by a
 * writer in another process, and the EFAULT/EINVAL cases (checked on Linux 6.1). */
#define _GNU_SOURCE
#define TEST_NAME "poll_pipe"
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void) {
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  struct pollfd f[3] = {{p[0], POLLIN | POLLOUT, 0}, {p[1], POLLIN | POLLOUT, 0}, {-1, POLLIN, 77}};

  /* Empty pipe: only the write end is ready (writable). */
  CHECK(poll(f, 3, 0) == 1, "empty pipe: one ready");
  CHECK(f[0].revents == 0 && f[1].revents == POLLOUT, "empty: %x %x", f[0].revents, f[1].revents);
  CHECK(f[2].revents == 0, "a negative fd is skipped and its revents cleared");

  /* Data: the read end becomes readable. POLLRDNORM only when asked. */
  CHECK(write(p[1], "x", 1) == 1, "write");
  CHECK(poll(f, 2, 0) == 2, "both ready");
  CHECK(f[0].revents == POLLIN, "readable %x", f[0].revents);
  struct pollfd rn = {p[0], POLLRDNORM, 0};
  CHECK(poll(&rn, 1, 0) == 1 && rn.revents == POLLRDNORM, "POLLRDNORM %x", rn.revents);

  /* A full pipe is not writable. */
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  char buf[4096];
  memset(buf, 'a', sizeof buf);
  while (write(p[1], buf, sizeof buf) > 0) {
  }
  CHECK(poll(&f[1], 1, 0) == 0 && f[1].revents == 0, "full: %x", f[1].revents);
  CHECK(read(p[0], buf, sizeof buf) == sizeof buf, "drain a page");
  CHECK(poll(&f[1], 1, 0) == 1 && f[1].revents == POLLOUT, "room again: %x", f[1].revents);
  while (read(p[0], buf, sizeof buf) == sizeof buf) {
  }

  /* Writer gone: POLLHUP even when not asked for. */
  close(p[1]);
  struct pollfd h = {p[0], 0, 0};
  CHECK(poll(&h, 1, 0) == 1 && h.revents == POLLHUP, "hang-up %x", h.revents);
  /* A closed descriptor: POLLNVAL. */
  struct pollfd nv = {p[1], POLLIN, 0};
  CHECK(poll(&nv, 1, 0) == 1 && nv.revents == POLLNVAL, "POLLNVAL %x", nv.revents);
  close(p[0]);

  /* Reader gone: the write end has POLLERR (and POLLOUT). */
  CHECK(pipe(p) == 0, "pipe");
  close(p[0]);
  struct pollfd e = {p[1], POLLOUT, 0};
  CHECK(poll(&e, 1, 0) == 1 && e.revents == (POLLOUT | POLLERR), "POLLERR %x", e.revents);
  close(p[1]);

  /* A FIFO opened O_NONBLOCK for reading with no writer: no POLLHUP until a writer came
   * and went (Linux's f_version). */
  unlink("/tmp/poll_pipe.fifo");
  CHECK(mkfifo("/tmp/poll_pipe.fifo", 0600) == 0, "mkfifo");
  int r = open("/tmp/poll_pipe.fifo", O_RDONLY | O_NONBLOCK);
  CHECK(r >= 0, "open fifo");
  struct pollfd ff = {r, POLLIN, 0};
  CHECK(poll(&ff, 1, 0) == 0, "fifo, no writer yet: %x", ff.revents);
  int w = open("/tmp/poll_pipe.fifo", O_WRONLY);
  CHECK(w >= 0, "open fifo writer");
  CHECK(poll(&ff, 1, 0) == 0, "fifo with a writer, empty: %x", ff.revents);
  CHECK(write(w, "hi", 2) == 2, "write fifo");
  CHECK(poll(&ff, 1, 0) == 1 && ff.revents == POLLIN, "fifo data %x", ff.revents);
  close(w);
  CHECK(poll(&ff, 1, 0) == 1 && ff.revents == (POLLIN | POLLHUP), "fifo hup %x", ff.revents);
  close(r);
  unlink("/tmp/poll_pipe.fifo");

  /* Timeouts: poll waits about as long as asked; ppoll writes back the time left. */
  CHECK(pipe(p) == 0, "pipe");
  struct pollfd in = {p[0], POLLIN, 0};
  long t0 = now_ms();
  CHECK(poll(&in, 1, 100) == 0, "timeout");
  long waited = now_ms() - t0;
  CHECK(waited >= 90 && waited < 3000, "waited %ld ms", waited);
  /* (glibc's ppoll passes a copy of the timespec: the raw call shows the write-back.) */
  struct timespec ts = {0, 50 * 1000000};
  CHECK(syscall(SYS_ppoll, &in, 1, &ts, NULL, 8) == 0, "ppoll timeout");
  CHECK(ts.tv_sec == 0 && ts.tv_nsec == 0, "no time left: %ld.%09ld", (long)ts.tv_sec, ts.tv_nsec);

  /* A writer in another process wakes a poller with no timeout; the time left is
   * written back and is less than given. */
  pid_t pid = fork();
  if (pid == 0) {
    usleep(50000);
    write(p[1], "y", 1);
    _exit(0);
  }
  ts.tv_sec = 10;
  ts.tv_nsec = 0;
  CHECK(syscall(SYS_ppoll, &in, 1, &ts, NULL, 8) == 1 && in.revents == POLLIN, "woken by a writer");
  CHECK(ts.tv_sec < 10 && ts.tv_sec >= 5, "time left %ld.%09ld", (long)ts.tv_sec, ts.tv_nsec);
  int st;
  waitpid(pid, &st, 0);
  CHECK(read(p[0], buf, 1) == 1, "read");
  /* No timeout at all. */
  pid = fork();
  if (pid == 0) {
    usleep(30000);
    write(p[1], "z", 1);
    _exit(0);
  }
  CHECK(poll(&in, 1, -1) == 1 && in.revents == POLLIN, "infinite wait woken");
  waitpid(pid, &st, 0);

  /* Errors. */
  struct timespec zero_ts = {0, 0};
  errno = 0;
  CHECK(syscall(SYS_ppoll, (void *)8, 1, &zero_ts, NULL, 8) == -1 && errno == EFAULT, "EFAULT pollfd");
  CHECK(poll(NULL, 0, 0) == 0, "no descriptors, zero timeout");
  struct timespec bad = {0, 1000000000};
  errno = 0;
  CHECK(ppoll(&in, 1, &bad, NULL) == -1 && errno == EINVAL, "EINVAL tv_nsec");
  bad.tv_sec = -1;
  bad.tv_nsec = 0;
  errno = 0;
  CHECK(ppoll(&in, 1, &bad, NULL) == -1 && errno == EINVAL, "EINVAL negative");
  errno = 0;
  CHECK(syscall(SYS_ppoll, &in, 1, (void *)8, NULL, 8) == -1 && errno == EFAULT, "EFAULT timespec");
  sigset_t set;
  sigemptyset(&set);
  struct timespec zero = {0, 0};
  errno = 0;
  CHECK(syscall(SYS_ppoll, &in, 1, &zero, &set, 4) == -1 && errno == EINVAL, "sigsetsize 4");
  CHECK(syscall(SYS_ppoll, &in, 1, &zero, &set, 8) == 1, "sigsetsize 8");
  errno = 0;
  CHECK(syscall(SYS_ppoll, &in, 1, &zero, (void *)8, 8) == -1 && errno == EFAULT, "EFAULT sigmask");
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  errno = 0;
  CHECK(poll(&in, rl.rlim_cur + 1, 0) == -1 && errno == EINVAL, "nfds > RLIMIT_NOFILE");
  return test_ok();
}
