/* glibc_libc: more of static glibc on this kernel — qsort/bsearch on 20,000 numbers and
 * on strings; getopt_long (short and long options, arguments, GNU permutation, "--",
 * errors); regcomp/regexec (extended, submatches, REG_ICASE, REG_NOMATCH, a bad
 * pattern); setjmp/longjmp and sigsetjmp/siglongjmp out of a signal handler (the signal
 * mask restored); time/gmtime/localtime/mktime/strftime in UTC and in a POSIX TZ rule
 * (no zone files in either machine); the clock moving forward. */
#define _GNU_SOURCE
#define TEST_NAME "glibc_libc"
#include "common.h"

#include <getopt.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sorting(void) {
  enum { N = 20000 };
  static int v[N];
  uint32_t seed = 12345, sum = 0, xsum = 0;
  for (int i = 0; i < N; i++) {
    seed = seed * 1103515245 + 12345;
    v[i] = (int)(seed >> 1) % 100000 - 50000;
    sum += v[i];
    xsum ^= v[i];
  }
  qsort(v, N, sizeof(int), cmp_int);
  uint32_t sum2 = 0, xsum2 = 0;
  for (int i = 0; i < N; i++) {
    CHECK(i == 0 || v[i - 1] <= v[i], "not sorted at %d", i);
    sum2 += v[i];
    xsum2 ^= v[i];
  }
  CHECK(sum == sum2 && xsum == xsum2, "qsort lost elements");
  for (int i = 0; i < N; i += 97) {
    int *hit = bsearch(&v[i], v, N, sizeof(int), cmp_int);
    CHECK(hit != NULL && *hit == v[i], "bsearch %d", v[i]);
  }
  int missing = 50001;
  CHECK(bsearch(&missing, v, N, sizeof(int), cmp_int) == NULL, "bsearch found a missing key");

  const char *words[] = {"pear", "apple", "fig", "banana", "cherry", "apple", "date"};
  const char *sorted[] = {"apple", "apple", "banana", "cherry", "date", "fig", "pear"};
  enum { W = sizeof(words) / sizeof(words[0]) };
  qsort(words, W, sizeof(char *), cmp_str);
  for (int i = 0; i < W; i++) CHECK(strcmp(words[i], sorted[i]) == 0, "word %d: %s", i, words[i]);
  const char *key = "cherry";
  const char **hit = bsearch(&key, words, W, sizeof(char *), cmp_str);
  CHECK(hit && hit - words == 3, "bsearch string");
}

static void options(void) {
  static const struct option longopts[] = {
      {"alpha", no_argument, NULL, 'a'},
      {"beta", required_argument, NULL, 'b'},
      {"gamma", optional_argument, NULL, 'g'},
      {"verbose", no_argument, NULL, 'v'},
      {NULL, 0, NULL, 0},
  };
  char *argv[] = {"prog", "-a", "file1", "--beta=5", "--gamma", "-c3", "--verb", "-b",
                  "x y", "file2", "--gamma=on", "--", "-notopt", NULL};
  int argc = sizeof(argv) / sizeof(argv[0]) - 1;
  char seen[32] = "";
  char *beta[2] = {NULL, NULL}, *gamma[2] = {NULL, NULL}, *c = NULL;
  int nb = 0, ng = 0, opt, idx;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, "ab:c:g::v", longopts, &idx)) != -1) {
    strncat(seen, (char[]){(char)opt, 0}, sizeof(seen) - strlen(seen) - 1);
    if (opt == 'b') beta[nb++ % 2] = optarg;
    if (opt == 'g') gamma[ng++ % 2] = optarg;
    if (opt == 'c') c = optarg;
  }
  CHECK(strcmp(seen, "abgcvbg") == 0, "options seen: %s", seen);
  CHECK(strcmp(beta[0], "5") == 0 && strcmp(beta[1], "x y") == 0, "beta args");
  CHECK(gamma[0] == NULL && strcmp(gamma[1], "on") == 0, "gamma args");
  CHECK(strcmp(c, "3") == 0, "-c3");
  /* GNU getopt moved the operands to the end, in order; "--" ended the options. */
  CHECK(optind == argc - 3, "optind %d of %d", optind, argc);
  CHECK(strcmp(argv[optind], "file1") == 0 && strcmp(argv[optind + 1], "file2") == 0 &&
            strcmp(argv[optind + 2], "-notopt") == 0,
        "operands %s %s %s", argv[optind], argv[optind + 1], argv[optind + 2]);

  /* Errors: an unknown option and a missing argument (leading ':' reports it). */
  char *bad[] = {"prog", "-z", "--nope", "-b", NULL};
  optind = 1;
  seen[0] = 0;
  while ((opt = getopt_long(4, bad, ":ab:", longopts, NULL)) != -1)
    strncat(seen, (char[]){(char)opt, 0}, sizeof(seen) - strlen(seen) - 1);
  CHECK(strcmp(seen, "??:") == 0, "errors: %s", seen);
  CHECK(optopt == 'b', "optopt %c", optopt);
}

static void regex(void) {
  regex_t re;
  regmatch_t m[3];
  CHECK(regcomp(&re, "^([a-z.]+)@([a-z]+)\\.com$", REG_EXTENDED) == 0, "regcomp");
  const char *s = "ada.lovelace@example.com";
  CHECK(regexec(&re, s, 3, m, 0) == 0, "regexec");
  CHECK(m[0].rm_so == 0 && m[0].rm_eo == (regoff_t)strlen(s), "whole match");
  CHECK(m[1].rm_so == 0 && m[1].rm_eo == 12 && m[2].rm_so == 13 && m[2].rm_eo == 20,
        "submatches %d-%d %d-%d", (int)m[1].rm_so, (int)m[1].rm_eo, (int)m[2].rm_so, (int)m[2].rm_eo);
  CHECK(regexec(&re, "Ada@example.com", 0, NULL, 0) == REG_NOMATCH, "uppercase matched");
  regfree(&re);
  CHECK(regcomp(&re, "hello+ w.rld", REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0, "regcomp icase");
  CHECK(regexec(&re, "say HELLOOO World!", 0, NULL, 0) == 0, "icase");
  regfree(&re);
  /* Basic syntax: \( \) groups and a back-reference. */
  CHECK(regcomp(&re, "\\([0-9]*\\)-\\1", 0) == 0, "regcomp basic");
  CHECK(regexec(&re, "x 42-42 y", 1, m, 0) == 0 && m[0].rm_so == 2 && m[0].rm_eo == 7, "backref");
  CHECK(regexec(&re, "42-43", 1, m, 0) == 0 && m[0].rm_eo - m[0].rm_so == 1, "backref empty");
  regfree(&re);
  int err = regcomp(&re, "a[b", REG_EXTENDED);
  CHECK(err == REG_EBRACK, "bad pattern: %d", err);
  char msg[64];
  CHECK(regerror(err, &re, msg, sizeof(msg)) > 0 && strlen(msg) > 0, "regerror");
}

static jmp_buf jb;
static sigjmp_buf sjb;

/* Jumps out of n nested calls. */
static void deep(int n) {
  if (n < 0) return; /* never: gcc wants a path that returns */
  if (n > 0)
    deep(n - 1);
  else
    longjmp(jb, 0); /* 0 arrives as 1 */
}

static void on_usr1(int sig) { siglongjmp(sjb, sig); }

static void jumps(void) {
  volatile int count = 0;
  int r = setjmp(jb);
  count++;
  if (r == 0) deep(100);
  CHECK(r == 1 && count == 2, "longjmp(0) returned %d, count %d", r, count);

  struct sigaction sa = {.sa_handler = on_usr1};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
  sigset_t mask, old;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);
  CHECK(sigprocmask(SIG_BLOCK, &mask, &old) == 0, "block SIGUSR2");
  /* Saved with SIGUSR2 blocked; the handler runs with SIGUSR1 blocked too. */
  r = sigsetjmp(sjb, 1);
  if (r == 0) {
    raise(SIGUSR1);
    CHECK(0, "raise returned");
  }
  CHECK(r == SIGUSR1, "siglongjmp value %d", r);
  sigset_t now;
  CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0, "sigprocmask");
  CHECK(!sigismember(&now, SIGUSR1) && sigismember(&now, SIGUSR2), "mask not restored");
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0, "restore");
}

static void times(void) {
  /* 2024-01-01T00:00:00Z: the clock was set from the machine's RTC. */
  time_t now = time(NULL);
  CHECK(now > 1704067200, "time() = %ld, before 2024", (long)now);
  struct timespec ts;
  CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec - now < 5, "CLOCK_REALTIME");

  char out[128];
  time_t t = 1700000000;
  struct tm tm;
  CHECK(gmtime_r(&t, &tm) != NULL, "gmtime");
  CHECK(strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S %a %b %j %u %Z", &tm) > 0, "strftime");
  CHECK(strcmp(out, "2023-11-14 22:13:20 Tue Nov 318 2 GMT") == 0, "strftime: %s", out);
  time_t zero = 0;
  gmtime_r(&zero, &tm);
  CHECK(tm.tm_year == 70 && tm.tm_wday == 4 && tm.tm_yday == 0, "the epoch was a Thursday");
  time_t leap = 951782400; /* 2000-02-29 */
  gmtime_r(&leap, &tm);
  CHECK(tm.tm_mon == 1 && tm.tm_mday == 29, "2000 was a leap year");

  setenv("TZ", "UTC0", 1);
  tzset();
  CHECK(localtime_r(&t, &tm) && tm.tm_hour == 22 && tm.tm_gmtoff == 0, "UTC localtime");
  CHECK(mktime(&tm) == t, "mktime round trip");
  /* A POSIX rule: three hours east of UTC, no daylight time, no zone file needed. */
  setenv("TZ", "XYZ-3", 1);
  tzset();
  CHECK(localtime_r(&t, &tm) && tm.tm_hour == 1 && tm.tm_mday == 15 && tm.tm_gmtoff == 3 * 3600,
        "TZ=XYZ-3: %d:%d day %d", tm.tm_hour, tm.tm_min, tm.tm_mday);
  strftime(out, sizeof(out), "%H:%M %Z %z", &tm);
  CHECK(strcmp(out, "01:13 XYZ +0300") == 0, "strftime in XYZ-3: %s", out);
  CHECK(mktime(&tm) == t, "mktime in XYZ-3");
  /* A rule with daylight time: July is summer in EST5EDT. */
  setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
  tzset();
  time_t july = 1720000000; /* 2024-07-03T09:46:40Z */
  CHECK(localtime_r(&july, &tm) && tm.tm_isdst == 1 && tm.tm_hour == 5, "EDT: hour %d dst %d",
        tm.tm_hour, tm.tm_isdst);
  unsetenv("TZ");
  tzset();

  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  usleep(20000);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long us = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
  CHECK(us >= 20000 && us < 2000000, "usleep(20000) took %ld us", us);
  CHECK(difftime(t + 90, t) == 90.0, "difftime");
}

int main(void) {
  sorting();
  options();
  regex();
  jumps();
  times();
  return test_ok();
}
