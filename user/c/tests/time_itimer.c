/* time_itimer: setitimer/getitimer/alarm round trips without waiting for a signal —
 * the time left counts down and never exceeds what was set, the interval is kept,
 * the old value comes back, alarm() returns the seconds left; ITIMER_VIRTUAL and
 * ITIMER_PROF count CPU time, not sleep; EINVAL and EFAULT as Linux; ITIMER_REAL
 * survives execve and is not inherited by fork. Delivery is in time_signals. */
#define TEST_NAME "time_itimer"
#include "common.h"
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long us(struct timeval t) { return t.tv_sec * 1000000LL + t.tv_usec; }

int main(int argc, char **argv) {
  struct itimerval v, old;
  if (argc > 1) {
    /* After execve: the timer set before is still running. */
    CHECK(getitimer(ITIMER_REAL, &v) == 0, "getitimer after exec");
    CHECK(us(v.it_value) > 0 && us(v.it_value) <= 100000000LL, "lost over exec: %lld", us(v.it_value));
    CHECK(us(v.it_interval) == 0, "interval %lld", us(v.it_interval));
    return test_ok();
  }
  /* Nothing armed at first. */
  CHECK(getitimer(ITIMER_REAL, &v) == 0 && us(v.it_value) == 0 && us(v.it_interval) == 0, "armed at start");

  struct itimerval set = {{2, 500000}, {100, 0}};
  CHECK(setitimer(ITIMER_REAL, &set, &old) == 0, "setitimer");
  CHECK(us(old.it_value) == 0, "old value %lld", us(old.it_value));
  struct timespec ms = {0, 20000000};
  nanosleep(&ms, NULL);
  CHECK(getitimer(ITIMER_REAL, &v) == 0, "getitimer");
  CHECK(us(v.it_value) < 100000000LL && us(v.it_value) > 90000000LL, "value %lld", us(v.it_value));
  CHECK(us(v.it_interval) == 2500000, "interval %lld", us(v.it_interval));

  /* alarm() is setitimer(ITIMER_REAL): it returns the old seconds (rounded). */
  unsigned left = alarm(50);
  CHECK(left >= 99 && left <= 100, "alarm returned %u", left);
  CHECK(getitimer(ITIMER_REAL, &v) == 0 && us(v.it_value) <= 50000000LL && us(v.it_value) > 45000000LL,
        "after alarm %lld", us(v.it_value));
  CHECK(us(v.it_interval) == 0, "alarm keeps no interval");
  CHECK(alarm(0) >= 49, "alarm(0)");
  CHECK(getitimer(ITIMER_REAL, &v) == 0 && us(v.it_value) == 0, "alarm(0) did not disarm");

  /* CPU timers: sleeping does not run them down. */
  struct itimerval cpu = {{0, 0}, {30, 0}};
  CHECK(setitimer(ITIMER_VIRTUAL, &cpu, NULL) == 0, "ITIMER_VIRTUAL");
  CHECK(setitimer(ITIMER_PROF, &cpu, NULL) == 0, "ITIMER_PROF");
  struct timespec sl = {0, 200000000};
  nanosleep(&sl, NULL);
  CHECK(getitimer(ITIMER_VIRTUAL, &v) == 0 && us(v.it_value) > 29900000LL && us(v.it_value) <= 30020000LL,
        "virtual ran while asleep: %lld", us(v.it_value));
  CHECK(getitimer(ITIMER_PROF, &v) == 0 && us(v.it_value) > 29900000LL, "prof %lld", us(v.it_value));
  /* ...busy work does. */
  volatile unsigned long x = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    for (int i = 0; i < 1000000; i++) x += i;
    clock_gettime(CLOCK_MONOTONIC, &t1);
  } while ((t1.tv_sec - t0.tv_sec) * 1000000000LL + t1.tv_nsec - t0.tv_nsec < 300000000LL);
  CHECK(getitimer(ITIMER_VIRTUAL, &v) == 0 && us(v.it_value) < 29950000LL, "virtual did not run: %lld", us(v.it_value));
  CHECK(getitimer(ITIMER_PROF, &v) == 0 && us(v.it_value) < 29950000LL, "prof did not run: %lld", us(v.it_value));
  struct itimerval off = {{0, 0}, {0, 0}};
  CHECK(setitimer(ITIMER_VIRTUAL, &off, &old) == 0 && us(old.it_value) > 0, "disarm virtual");
  CHECK(setitimer(ITIMER_PROF, &off, NULL) == 0, "disarm prof");
  CHECK(getitimer(ITIMER_VIRTUAL, &v) == 0 && us(v.it_value) == 0, "virtual still armed");

  /* Errors. */
  errno = 0;
  CHECK(getitimer(3, &v) == -1 && errno == EINVAL, "getitimer(3)");
  errno = 0;
  CHECK(setitimer(3, &set, NULL) == -1 && errno == EINVAL, "setitimer(3)");
  struct itimerval bad = {{0, 0}, {0, 1000000}};
  errno = 0;
  CHECK(setitimer(ITIMER_REAL, &bad, NULL) == -1 && errno == EINVAL, "usec 1000000");
  struct itimerval neg = {{0, -1}, {1, 0}};
  errno = 0;
  CHECK(setitimer(ITIMER_REAL, &neg, NULL) == -1 && errno == EINVAL, "negative usec");
  errno = 0;
  CHECK(syscall(SYS_getitimer, ITIMER_REAL, (void *)8) == -1 && errno == EFAULT, "getitimer EFAULT");
  errno = 0;
  CHECK(syscall(SYS_setitimer, ITIMER_REAL, (void *)8, NULL) == -1 && errno == EFAULT, "setitimer EFAULT");

  /* fork: the child has no timer; execve keeps it. */
  struct itimerval hundred = {{0, 0}, {100, 0}};
  CHECK(setitimer(ITIMER_REAL, &hundred, NULL) == 0, "setitimer 100 s");
  pid_t pid = fork();
  if (pid == 0) {
    getitimer(ITIMER_REAL, &v);
    _exit(us(v.it_value) == 0 ? 0 : 3);
  }
  int st;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork inherited the timer (%x)", st);
  fflush(stdout);
  execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
  CHECK(0, "execve");
  return 1;
}
