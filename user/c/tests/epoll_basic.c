/* epoll: epoll_create1 and epoll_ctl errors (EINVAL, EBADF, EPERM, EEXIST, ENOENT,
 * ELOOP), level- vs edge-triggered, EPOLLONESHOT, EPOLLEXCLUSIVE rules, epoll_wait's
 * maxevents and timeout, an item leaving with its file, several producer processes on
 * pipes and an eventfd, and an epoll descriptor inside poll and inside another epoll
 * (checked on Linux 6.1). */
#define _GNU_SOURCE
#define TEST_NAME "epoll_basic"
#include "common.h"
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int add(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* epoll_wait with a zero timeout; the data of the first event in *data. */
static int ready(int ep, uint64_t *data, uint32_t *events) {
  struct epoll_event out[8];
  int n = epoll_wait(ep, out, 8, 0);
  if (n > 0 && data)
    *data = out[0].data.u64;
  if (n > 0 && events)
    *events = out[0].events;
  return n;
}

int main(void) {
  errno = 0;
  CHECK(epoll_create1(1) == -1 && errno == EINVAL, "bad flag");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC, "EPOLL_CLOEXEC");
  int p[2];
  CHECK(pipe(p) == 0, "pipe");

  /* ctl errors, in Linux's order. */
  struct epoll_event ev = {.events = EPOLLIN};
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev) == -1 && errno == EBADF, "EBADF fd");
  errno = 0;
  CHECK(epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev) == -1 && errno == EBADF, "EBADF epfd");
  errno = 0;
  CHECK(epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev) == -1 && errno == EINVAL, "not an epoll");
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev) == -1 && errno == EINVAL, "itself");
  int reg = open("/tmp/epoll_basic.reg", O_RDWR | O_CREAT, 0600);
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev) == -1 && errno == EPERM, "regular file");
  int dir = open("/", O_RDONLY);
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev) == -1 && errno == EPERM, "directory");
  int null = open("/dev/null", O_RDWR);
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev) == -1 && errno == EPERM, "/dev/null");
  close(reg);
  close(dir);
  close(null);
  unlink("/tmp/epoll_basic.reg");
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], (void *)8) == -1 && errno == EFAULT, "EFAULT event");
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], (void *)8) == -1 && errno == ENOENT, "DEL ignores event");
  CHECK(add(ep, p[0], EPOLLIN, 1) == 0, "add");
  errno = 0;
  CHECK(add(ep, p[0], EPOLLIN, 1) == -1 && errno == EEXIST, "EEXIST");
  errno = 0;
  CHECK(mod(ep, p[1], EPOLLOUT, 2) == -1 && errno == ENOENT, "MOD ENOENT");
  errno = 0;
  CHECK(epoll_ctl(ep, 7, p[0], &ev) == -1 && errno == EINVAL, "bad op");
  errno = 0;
  CHECK(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 1) == -1 && errno == EINVAL, "MOD exclusive");

  /* epoll_wait's arguments. */
  struct epoll_event out[4];
  errno = 0;
  CHECK(epoll_wait(ep, out, 0, 0) == -1 && errno == EINVAL, "maxevents 0");
  errno = 0;
  CHECK(syscall(SYS_epoll_pwait, ep, out, INT_MAX / 16 + 1, 0, NULL, 8) == -1 && errno == EINVAL, "maxevents too big");
  errno = 0;
  CHECK(epoll_wait(p[0], out, 4, 0) == -1 && errno == EINVAL, "epfd not an epoll");
  errno = 0;
  CHECK(epoll_wait(999, out, 4, 0) == -1 && errno == EBADF, "epfd EBADF");
  errno = 0;
  uint64_t mask = 0;
  CHECK(syscall(SYS_epoll_pwait, ep, out, 4, 0, &mask, 4) == -1 && errno == EINVAL, "sigsetsize");
  CHECK(syscall(SYS_epoll_pwait, ep, out, 4, 0, NULL, 4) == 0, "no mask: size unchecked");
  CHECK(epoll_wait(ep, out, 4, 0) == 0, "nothing yet");
  CHECK(epoll_wait(ep, out, 4, 30) == 0, "timeout");

  /* Level-triggered: reported while data is there. */
  write(p[1], "ab", 2);
  uint64_t d = 0;
  uint32_t e = 0;
  CHECK(ready(ep, &d, &e) == 1 && d == 1 && e == EPOLLIN, "LT ready %x", e);
  CHECK(ready(ep, NULL, NULL) == 1, "LT again");
  errno = 0;
  CHECK(syscall(SYS_epoll_pwait, ep, (void *)8, 4, 0, NULL, 8) == -1 && errno == EFAULT, "EFAULT events");
  CHECK(ready(ep, NULL, NULL) == 1, "still there after EFAULT");

  /* Edge-triggered: once per change; a partial read is no new edge; a write is. */
  CHECK(mod(ep, p[0], EPOLLIN | EPOLLET, 3) == 0, "MOD to ET");
  CHECK(ready(ep, &d, NULL) == 1 && d == 3, "ET: reported after MOD");
  CHECK(ready(ep, NULL, NULL) == 0, "ET: not again");
  char c;
  CHECK(read(p[0], &c, 1) == 1, "partial read");
  CHECK(ready(ep, NULL, NULL) == 0, "ET: a read is no new edge");
  write(p[1], "c", 1);
  CHECK(ready(ep, NULL, NULL) == 1, "ET: a write is");
  CHECK(ready(ep, NULL, NULL) == 0, "ET: once");

  /* One-shot: reported once, then silent until MOD. */
  CHECK(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 4) == 0, "MOD oneshot");
  CHECK(ready(ep, &d, NULL) == 1 && d == 4, "oneshot fires");
  write(p[1], "d", 1);
  CHECK(ready(ep, NULL, NULL) == 0, "oneshot disabled");
  CHECK(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 5) == 0, "re-arm");
  CHECK(ready(ep, &d, NULL) == 1 && d == 5, "re-armed");
  char buf[16];
  read(p[0], buf, sizeof buf);

  /* Hang-up: always reported. The write end with no reader: EPOLLERR. */
  CHECK(mod(ep, p[0], EPOLLIN, 6) == 0, "MOD");
  close(p[1]);
  CHECK(ready(ep, &d, &e) == 1 && e == EPOLLHUP, "EPOLLHUP %x", e);
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "DEL");
  CHECK(ready(ep, NULL, NULL) == 0, "deleted");
  close(p[0]);

  /* An item leaves with its file (last descriptor closed), not with a dup. */
  CHECK(pipe(p) == 0, "pipe");
  CHECK(add(ep, p[0], EPOLLIN, 7) == 0, "add");
  int dup0 = dup(p[0]);
  close(p[0]);
  write(p[1], "e", 1);
  CHECK(ready(ep, &d, NULL) == 1 && d == 7, "still watched through the dup");
  close(dup0);
  CHECK(ready(ep, NULL, NULL) == 0, "gone with the file");
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == -1 && errno == EBADF, "closed: EBADF");
  close(p[1]);

  /* EPOLLEXCLUSIVE rules. */
  int efd = eventfd(0, EFD_NONBLOCK);
  errno = 0;
  CHECK(add(ep, efd, EPOLLIN | EPOLLPRI | EPOLLEXCLUSIVE, 0) == -1 && errno == EINVAL, "exclusive bits");
  CHECK(add(ep, efd, EPOLLIN | EPOLLEXCLUSIVE, 8) == 0, "exclusive add");
  errno = 0;
  CHECK(mod(ep, efd, EPOLLIN, 8) == -1 && errno == EINVAL, "MOD of an exclusive item");
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) == 0, "DEL exclusive");

  /* Nested epoll: ep2 inside ep; a cycle is ELOOP; ep2 readable in poll. */
  int ep2 = epoll_create1(0);
  CHECK(add(ep2, efd, EPOLLIN, 9) == 0, "efd in ep2");
  CHECK(add(ep, ep2, EPOLLIN, 10) == 0, "ep2 in ep");
  errno = 0;
  CHECK(add(ep2, ep, EPOLLIN, 11) == -1 && errno == ELOOP, "ELOOP");
  errno = 0;
  CHECK(add(ep, ep2, EPOLLIN | EPOLLEXCLUSIVE, 0) == -1 && errno == EINVAL, "exclusive epoll");
  struct pollfd pf = {ep2, POLLIN, 0};
  CHECK(poll(&pf, 1, 0) == 0, "empty epoll not readable");
  CHECK(ready(ep, NULL, NULL) == 0, "nested: nothing");
  uint64_t one = 1;
  write(efd, &one, 8);
  CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "epoll readable in poll %x", pf.revents);
  CHECK(ready(ep, &d, NULL) == 1 && d == 10, "nested: ep2 ready in ep");
  CHECK(ready(ep2, &d, NULL) == 1 && d == 9, "ep2's own event");
  epoll_ctl(ep, EPOLL_CTL_DEL, ep2, NULL);
  close(ep2);
  uint64_t junk;
  read(efd, &junk, 8);

  /* Producers in other processes: three pipes and the eventfd; a blocking epoll_wait
   * collects every message. */
  enum { PRODUCERS = 3, MSGS = 20 };
  int pipes[PRODUCERS][2];
  for (int i = 0; i < PRODUCERS; i++) {
    CHECK(pipe(pipes[i]) == 0, "pipe");
    CHECK(add(ep, pipes[i][0], EPOLLIN, 100 + i) == 0, "add producer");
  }
  CHECK(add(ep, efd, EPOLLIN | EPOLLET, 200) == 0, "add eventfd ET");
  for (int i = 0; i < PRODUCERS; i++) {
    if (fork() == 0) {
      for (int m = 0; m < MSGS; m++) {
        write(pipes[i][1], "m", 1);
        if (m % 5 == 0)
          usleep(1000);
      }
      write(efd, &one, 8);
      _exit(0);
    }
  }
  int got[PRODUCERS] = {0};
  uint64_t finished = 0;
  int total = 0;
  while (total < PRODUCERS * MSGS || finished < PRODUCERS) {
    int n = epoll_wait(ep, out, 4, 5000);
    CHECK(n > 0, "epoll_wait timed out with %d messages, %llu done", total, (unsigned long long)finished);
    for (int k = 0; k < n; k++) {
      if (out[k].data.u64 == 200) {
        uint64_t v;
        if (read(efd, &v, 8) == 8)
          finished += v;
        continue;
      }
      int i = out[k].data.u64 - 100;
      CHECK(i >= 0 && i < PRODUCERS, "data %llu", (unsigned long long)out[k].data.u64);
      int r = read(pipes[i][0], buf, sizeof buf);
      CHECK(r > 0, "read producer");
      got[i] += r;
      total += r;
    }
  }
  for (int i = 0; i < PRODUCERS; i++)
    CHECK(got[i] == MSGS, "producer %d: %d", i, got[i]);
  int st;
  while (wait(&st) > 0)
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer exit");
  return test_ok();
}
