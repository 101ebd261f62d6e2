/* ppoll, pselect6 and epoll_pwait interrupted by a signal handler: EINTR even with
 * SA_RESTART (ERESTARTNOHAND; epoll is never restarted), the mask argument in force
 * only during the call (a blocked pending signal is delivered inside ppoll, then
 * blocked again), and a zero-timeout poll with a signal pending (checked on Linux 6.1).
 * Needs signal delivery: not in tests.list until the signals work is merged. */
#define _GNU_SOURCE
#define TEST_NAME "poll_signal"
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits;

static void on_usr1(int sig) {
  (void)sig;
  hits++;
}

/* A child that sends SIGUSR1 to the parent after a while. */
static pid_t kick_later(int usec) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    usleep(usec);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  return pid;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART; /* no effect on these calls */
  sigaction(SIGUSR1, &sa, NULL);
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  int st;

  struct pollfd in = {p[0], POLLIN, 0};
  pid_t pid = kick_later(50000);
  errno = 0;
  CHECK(poll(&in, 1, 10000) == -1 && errno == EINTR, "poll EINTR");
  CHECK(hits == 1, "handler ran");
  waitpid(pid, &st, 0);

  fd_set r;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  pid = kick_later(50000);
  errno = 0;
  CHECK(select(p[0] + 1, &r, NULL, NULL, NULL) == -1 && errno == EINTR, "select EINTR");
  CHECK(hits == 2, "handler ran");
  waitpid(pid, &st, 0);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN}, out;
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  pid = kick_later(50000);
  errno = 0;
  CHECK(epoll_wait(ep, &out, 1, 10000) == -1 && errno == EINTR, "epoll_wait EINTR");
  CHECK(hits == 3, "handler ran");
  waitpid(pid, &st, 0);

  /* The mask argument: SIGUSR1 blocked and pending; ppoll with an empty mask lets it in
   * (EINTR at once), and afterwards it is blocked again. */
  sigset_t block, empty, now;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, NULL);
  kill(getpid(), SIGUSR1);
  CHECK(hits == 3, "blocked");
  struct timespec ts = {5, 0};
  errno = 0;
  CHECK(ppoll(&in, 1, &ts, &empty) == -1 && errno == EINTR, "ppoll lets the signal in");
  CHECK(hits == 4, "delivered inside ppoll");
  sigprocmask(SIG_BLOCK, NULL, &now);
  CHECK(sigismember(&now, SIGUSR1), "blocked again after ppoll");

  /* ... and a mask that blocks it keeps ppoll waiting through it. */
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  pid = kick_later(20000);
  ts.tv_sec = 0;
  ts.tv_nsec = 150 * 1000000;
  CHECK(ppoll(&in, 1, &ts, &block) == 0, "masked: timed out");
  CHECK(hits == 5, "delivered after ppoll restored the mask: %d", (int)hits);
  waitpid(pid, &st, 0);

  /* epoll_pwait with an empty mask, signal pending and blocked. */
  sigprocmask(SIG_BLOCK, &block, NULL);
  kill(getpid(), SIGUSR1);
  errno = 0;
  CHECK(epoll_pwait(ep, &out, 1, 5000, &empty) == -1 && errno == EINTR, "epoll_pwait");
  CHECK(hits == 6, "delivered inside epoll_pwait");
  sigprocmask(SIG_UNBLOCK, &block, NULL);

  /* With something ready, the call returns it even with a signal pending. */
  write(p[1], "x", 1);
  sigprocmask(SIG_BLOCK, &block, NULL);
  kill(getpid(), SIGUSR1);
  ts.tv_sec = 0;
  ts.tv_nsec = 0;
  CHECK(ppoll(&in, 1, &ts, &empty) == 1, "ready wins over the signal");
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  CHECK(hits == 7, "then delivered");
  return test_ok();
}
