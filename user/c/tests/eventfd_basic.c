/* eventfd2: the counter (a read takes it all), EFD_SEMAPHORE (a read takes 1),
 * EFD_NONBLOCK (EAGAIN), EFD_CLOEXEC, short buffers and the forbidden value (EINVAL),
 * overflow (EAGAIN, or sleeping until a read), poll readiness, and blocking reads woken
 * by another process and by another thread (checked on Linux 6.1). */
#define _GNU_SOURCE
#define TEST_NAME "eventfd_basic"
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int efd;

static void *poster(void *arg) {
  (void)arg;
  usleep(30000);
  uint64_t v = 5;
  write(efd, &v, 8);
  return NULL;
}

static int revents(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  poll(&p, 1, 0);
  return p.revents;
}

int main(void) {
  uint64_t v;
  int e = eventfd(3, EFD_NONBLOCK);
  CHECK(e >= 0, "eventfd");
  CHECK(revents(e) == (POLLIN | POLLOUT), "readable and writable: %x", revents(e));
  v = 4;
  CHECK(write(e, &v, 8) == 8, "write");
  CHECK(read(e, &v, 8) == 8 && v == 7, "read takes the sum: %llu", (unsigned long long)v);
  errno = 0;
  CHECK(read(e, &v, 8) == -1 && errno == EAGAIN, "empty: EAGAIN");
  CHECK(revents(e) == POLLOUT, "empty: writable only");
  char small[7];
  errno = 0;
  CHECK(read(e, small, 7) == -1 && errno == EINVAL, "short read");
  errno = 0;
  CHECK(write(e, small, 7) == -1 && errno == EINVAL, "short write");
  char big[16] = {0};
  big[0] = 2;
  CHECK(write(e, big, 16) == 8, "a longer write takes 8 bytes");
  CHECK(read(e, big, 16) == 8 && big[0] == 2, "a longer read gives 8 bytes");
  v = UINT64_MAX;
  errno = 0;
  CHECK(write(e, &v, 8) == -1 && errno == EINVAL, "0xffffffffffffffff");
  v = UINT64_MAX - 1;
  CHECK(write(e, &v, 8) == 8, "the largest count");
  CHECK(revents(e) == POLLIN, "full: not writable %x", revents(e));
  v = 1;
  errno = 0;
  CHECK(write(e, &v, 8) == -1 && errno == EAGAIN, "overflow: EAGAIN");
  v = 0;
  CHECK(write(e, &v, 8) == 8, "adding 0 always fits");
  errno = 0;
  CHECK(syscall(SYS_read, e, (void *)8, 8) == -1 && errno == EFAULT, "EFAULT");
  errno = 0;
  CHECK(read(e, &v, 8) == -1 && errno == EAGAIN, "the value was taken before the fault");
  close(e);

  /* Semaphore mode. */
  e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  CHECK(read(e, &v, 8) == 8 && v == 1, "semaphore read 1");
  CHECK(read(e, &v, 8) == 8 && v == 1, "semaphore read 2");
  errno = 0;
  CHECK(read(e, &v, 8) == -1 && errno == EAGAIN, "semaphore empty");
  close(e);

  /* Flags. */
  e = eventfd(0, EFD_CLOEXEC);
  CHECK(fcntl(e, F_GETFD) == FD_CLOEXEC, "EFD_CLOEXEC");
  CHECK((fcntl(e, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == O_RDWR, "O_RDWR, blocking");
  errno = 0;
  CHECK(syscall(SYS_eventfd2, 0, 4) == -1 && errno == EINVAL, "unknown flag");

  /* A blocking read woken by a write from another process. */
  pid_t pid = fork();
  if (pid == 0) {
    usleep(30000);
    v = 9;
    write(e, &v, 8);
    _exit(0);
  }
  CHECK(read(e, &v, 8) == 8 && v == 9, "woken by a child: %llu", (unsigned long long)v);
  int st;
  waitpid(pid, &st, 0);

  /* ... and by another thread. */
  efd = e;
  pthread_t t;
  pthread_create(&t, NULL, poster, NULL);
  CHECK(read(e, &v, 8) == 8 && v == 5, "woken by a thread");
  pthread_join(t, NULL);

  /* A blocking write waits for room. */
  v = UINT64_MAX - 1;
  CHECK(write(e, &v, 8) == 8, "fill");
  pid = fork();
  if (pid == 0) {
    usleep(30000);
    uint64_t got;
    read(e, &got, 8);
    _exit(got == UINT64_MAX - 1 ? 0 : 1);
  }
  v = 1;
  CHECK(write(e, &v, 8) == 8, "write after the child made room");
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child read the full count");
  CHECK(read(e, &v, 8) == 8 && v == 1, "the waiting write's value");

  /* poll wakes on an eventfd write from another process. */
  pid = fork();
  if (pid == 0) {
    usleep(30000);
    v = 1;
    write(e, &v, 8);
    _exit(0);
  }
  struct pollfd p = {e, POLLIN, 0};
  CHECK(poll(&p, 1, 5000) == 1 && p.revents == POLLIN, "poll woken by a write");
  waitpid(pid, &st, 0);
  return test_ok();
}
