/* time_posix_timers: timer_create/settime/gettime/getoverrun/delete without waiting
 * for a signal — SIGEV_NONE timers polled with timer_gettime (one-shot runs down to
 * zero, periodic wraps around), old values from timer_settime, TIMER_ABSTIME on
 * MONOTONIC and REALTIME, EINVAL/EFAULT as Linux, the RLIMIT_SIGPENDING bound (EAGAIN)
 * and timers gone after execve. Signal delivery is in time_signals. */
#define TEST_NAME "time_posix_timers"
#include "common.h"
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static long long now(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return ns(t);
}
/* One nanosleep: a timer signal handled meanwhile ends it early. */
static void sleep_once_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&t, NULL);
}
/* The kernel's timer id (glibc's timer_t is the id for SIGEV_SIGNAL/NONE timers). */
static int raw_create(clockid_t c, struct sigevent *sev, int *id) {
  return syscall(SYS_timer_create, c, sev, id);
}

int main(int argc, char **argv) {
  struct itimerspec v, old;
  if (argc > 1) {
    /* After execve the process has no timers: the one left armed is gone. */
    errno = 0;
    CHECK(syscall(SYS_timer_gettime, atoi(argv[1]), &v) == -1 && errno == EINVAL, "timer survived execve");
    return test_ok();
  }
  struct sigevent none = {.sigev_notify = SIGEV_NONE};
  timer_t t;
  CHECK(timer_create(CLOCK_MONOTONIC, &none, &t) == 0, "timer_create");
  /* Disarmed at first. */
  CHECK(timer_gettime(t, &v) == 0 && ns(v.it_value) == 0 && ns(v.it_interval) == 0, "armed at start");

  /* One-shot, 100 ms: counts down, then reads zero. */
  struct itimerspec once = {{0, 0}, {0, 100000000}};
  CHECK(timer_settime(t, 0, &once, &old) == 0, "settime");
  CHECK(ns(old.it_value) == 0, "old value");
  CHECK(timer_gettime(t, &v) == 0 && ns(v.it_value) > 0 && ns(v.it_value) <= 100000000, "value %lld", ns(v.it_value));
  sleep_once_ms(150);
  CHECK(timer_gettime(t, &v) == 0 && ns(v.it_value) == 0, "one-shot still armed: %lld", ns(v.it_value));
  CHECK(timer_getoverrun(t) == 0, "overrun of a SIGEV_NONE timer");

  /* Periodic, 50 ms: always between 0 and the period. */
  struct itimerspec per = {{0, 50000000}, {0, 50000000}};
  CHECK(timer_settime(t, 0, &per, NULL) == 0, "settime periodic");
  for (int i = 0; i < 5; i++) {
    sleep_once_ms(37);
    CHECK(timer_gettime(t, &v) == 0 && ns(v.it_value) > 0 && ns(v.it_value) <= 50000000, "periodic value %lld",
          ns(v.it_value));
    CHECK(ns(v.it_interval) == 50000000, "interval %lld", ns(v.it_interval));
  }
  /* Disarm: the old setting comes back. */
  struct itimerspec off = {{0, 0}, {0, 0}};
  CHECK(timer_settime(t, 0, &off, &old) == 0 && ns(old.it_interval) == 50000000, "disarm");
  /* (What timer_gettime says of a disarmed SIGEV_NONE timer is a quirk in Linux 6.1: the
   * old expiry. Not checked.) */

  /* TIMER_ABSTIME on MONOTONIC and on REALTIME. */
  struct itimerspec abs = {{0, 0}, {0, 0}};
  long long at = now(CLOCK_MONOTONIC) + 2000000000LL;
  abs.it_value.tv_sec = at / 1000000000; abs.it_value.tv_nsec = at % 1000000000;
  CHECK(timer_settime(t, TIMER_ABSTIME, &abs, NULL) == 0, "abstime");
  CHECK(timer_gettime(t, &v) == 0 && ns(v.it_value) > 1500000000LL && ns(v.it_value) <= 2000000000LL, "abs value %lld",
        ns(v.it_value));
  timer_t r;
  CHECK(timer_create(CLOCK_REALTIME, &none, &r) == 0, "realtime timer");
  at = now(CLOCK_REALTIME) + 3000000000LL;
  abs.it_value.tv_sec = at / 1000000000; abs.it_value.tv_nsec = at % 1000000000;
  CHECK(timer_settime(r, TIMER_ABSTIME, &abs, NULL) == 0, "abstime realtime");
  CHECK(timer_gettime(r, &v) == 0 && ns(v.it_value) > 2500000000LL && ns(v.it_value) <= 3000000000LL,
        "realtime abs value %lld", ns(v.it_value));
  /* An absolute time in the past: expires at once. */
  abs.it_value.tv_sec = 1; abs.it_value.tv_nsec = 0;
  CHECK(timer_settime(r, TIMER_ABSTIME, &abs, NULL) == 0, "past abstime");
  sleep_once_ms(10);
  CHECK(timer_gettime(r, &v) == 0 && ns(v.it_value) == 0, "past abstime still armed");
  CHECK(timer_delete(r) == 0, "delete realtime");

  /* Errors. */
  int id;
  errno = 0;
  CHECK(raw_create(100, NULL, &id) == -1 && errno == EINVAL, "clock 100");
  errno = 0;
  CHECK(raw_create(CLOCK_MONOTONIC, (struct sigevent *)8, &id) == -1 && errno == EFAULT, "sigevent EFAULT");
  errno = 0;
  CHECK(raw_create(CLOCK_MONOTONIC, NULL, (int *)8) == -1 && errno == EFAULT, "timerid EFAULT");
  struct sigevent badsig = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = 0};
  errno = 0;
  CHECK(raw_create(CLOCK_MONOTONIC, &badsig, &id) == -1 && errno == EINVAL, "signo 0");
  badsig.sigev_signo = 65;
  errno = 0;
  CHECK(raw_create(CLOCK_MONOTONIC, &badsig, &id) == -1 && errno == EINVAL, "signo 65");
  struct sigevent badhow = {.sigev_notify = 7, .sigev_signo = SIGALRM};
  errno = 0;
  CHECK(raw_create(CLOCK_MONOTONIC, &badhow, &id) == -1 && errno == EINVAL, "notify 7");
  struct sigevent badtid = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM};
  badtid._sigev_un._tid = getppid(); /* not a thread of this process (0 for init) */
  errno = 0;
  CHECK(raw_create(CLOCK_MONOTONIC, &badtid, &id) == -1 && errno == EINVAL, "tid of another process");
  badtid._sigev_un._tid = syscall(SYS_gettid);
  CHECK(raw_create(CLOCK_MONOTONIC, &badtid, &id) == 0, "own tid");
  CHECK(syscall(SYS_timer_delete, id) == 0, "delete thread timer");
  errno = 0;
  CHECK(syscall(SYS_timer_gettime, 12345, &v) == -1 && errno == EINVAL, "gettime unknown id");
  errno = 0;
  CHECK(syscall(SYS_timer_settime, 12345, 0, &once, NULL) == -1 && errno == EINVAL, "settime unknown id");
  errno = 0;
  CHECK(syscall(SYS_timer_getoverrun, 12345) == -1 && errno == EINVAL, "getoverrun unknown id");
  errno = 0;
  CHECK(syscall(SYS_timer_delete, 12345) == -1 && errno == EINVAL, "delete unknown id");
  struct itimerspec badv = {{0, 0}, {0, 1000000000}};
  errno = 0;
  CHECK(timer_settime(t, 0, &badv, NULL) == -1 && errno == EINVAL, "tv_nsec 1e9");
  errno = 0;
  CHECK(timer_settime(t, 0, NULL, NULL) == -1 && errno == EINVAL, "NULL new value");
  errno = 0;
  CHECK(timer_settime(t, 0, (struct itimerspec *)8, NULL) == -1 && errno == EFAULT, "new EFAULT");
  errno = 0;
  CHECK(timer_gettime(t, (struct itimerspec *)8) == -1 && errno == EFAULT, "gettime EFAULT");
  CHECK(timer_delete(t) == 0, "delete");
  errno = 0;
  CHECK(timer_gettime(t, &v) == -1 && errno == EINVAL, "gettime after delete");

  /* The default sigevent (NULL) is SIGALRM to the process; its id is returned. */
  CHECK(raw_create(CLOCK_BOOTTIME, NULL, &id) == 0 && id >= 0, "default sigevent");
  CHECK(syscall(SYS_timer_delete, id) == 0, "delete default");

  /* The bound: RLIMIT_SIGPENDING timers at most, then EAGAIN. */
  struct rlimit rl = {8, 8};
  CHECK(setrlimit(RLIMIT_SIGPENDING, &rl) == 0, "setrlimit");
  int made = 0, last = -1;
  for (; made < 100; made++) {
    if (raw_create(CLOCK_MONOTONIC, &none, &id) != 0) break;
    last = id;
  }
  CHECK(made >= 1 && made <= 8 && errno == EAGAIN, "made %d timers, then errno %d", made, errno);

  /* execve deletes them (one is left armed). */
  struct itimerspec later = {{0, 0}, {100, 0}};
  CHECK(syscall(SYS_timer_settime, last, 0, &later, NULL) == 0, "arm id %d", last);
  fflush(stdout);
  char idbuf[16];
  snprintf(idbuf, sizeof idbuf, "%d", last);
  execl("/proc/self/exe", argv[0], idbuf, (char *)NULL);
  CHECK(0, "execve");
  return 1;
}
