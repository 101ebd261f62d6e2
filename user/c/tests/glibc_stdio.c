/* glibc_stdio: glibc's stdio and number conversions on this kernel, through a file in
 * /tmp: what a FILE's buffering mode makes visible to fstat and to another descriptor
 * (full, line, none; fflush; an unflushed buffer copied by fork and written twice);
 * printf's integer, string and floating-point formats written to the file and read back
 * with fgets/fscanf/fread; fseek/ftell/rewind/ungetc; open_memstream; strtol/strtoul/
 * strtod edge cases (overflow with ERANGE, bases, hex floats, inf/nan, end pointers).
 * The expected strings are what C and glibc define, so the same binary prints the same
 * on Linux (checked with linux-oracle.sh). */
#define _GNU_SOURCE
#define TEST_NAME "glibc_stdio"
#include "common.h"

#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH "/tmp/glibc_stdio.txt"

static off_t size_of(const char *path) {
  struct stat st;
  CHECK(stat(path, &st) == 0, "stat %s", path);
  return st.st_size;
}

/* The whole file, through a descriptor of its own (not the FILE under test). */
static const char *contents(const char *path) {
  static char buf[8192];
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0, "open %s", path);
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  CHECK(n >= 0, "read");
  buf[n] = 0;
  close(fd);
  return buf;
}

static void buffering(void) {
  /* Fully buffered: nothing reaches the file before fflush. */
  FILE *f = fopen(PATH, "w");
  CHECK(f != NULL, "fopen w");
  static char fullbuf[4096];
  CHECK(setvbuf(f, fullbuf, _IOFBF, sizeof(fullbuf)) == 0, "setvbuf full");
  CHECK(fprintf(f, "hello %d\n", 42) == 9, "fprintf count");
  CHECK(size_of(PATH) == 0, "full buffering wrote early: size %ld", (long)size_of(PATH));
  CHECK(fflush(f) == 0, "fflush");
  CHECK(size_of(PATH) == 9 && strcmp(contents(PATH), "hello 42\n") == 0, "after fflush: %s",
        contents(PATH));
  /* More than the buffer holds goes out without a flush. */
  char big[5000];
  memset(big, 'b', sizeof(big));
  CHECK(fwrite(big, 1, sizeof(big), f) == sizeof(big), "fwrite big");
  CHECK(size_of(PATH) >= 9 + 4096, "a write larger than the buffer stayed buffered: %ld",
        (long)size_of(PATH));
  CHECK(fclose(f) == 0, "fclose");
  CHECK(size_of(PATH) == 9 + 5000, "size after fclose %ld", (long)size_of(PATH));

  /* Line buffered: a newline flushes. */
  f = fopen(PATH, "w");
  CHECK(f != NULL, "fopen w");
  CHECK(setvbuf(f, NULL, _IOLBF, 1024) == 0, "setvbuf line");
  fputs("abc", f);
  CHECK(size_of(PATH) == 0, "line buffering wrote without a newline");
  fputs("def\nghi", f);
  CHECK(strcmp(contents(PATH), "abcdef\n") == 0, "line buffering: '%s'", contents(PATH));
  fclose(f);
  CHECK(strcmp(contents(PATH), "abcdef\nghi") == 0, "after fclose: '%s'", contents(PATH));

  /* Unbuffered: every call is a write. */
  f = fopen(PATH, "w");
  CHECK(f != NULL, "fopen w");
  CHECK(setvbuf(f, NULL, _IONBF, 0) == 0, "setvbuf none");
  fputc('x', f);
  CHECK(size_of(PATH) == 1, "unbuffered putc not written");
  fprintf(f, "%s", "yz");
  CHECK(strcmp(contents(PATH), "xyz") == 0, "unbuffered: '%s'", contents(PATH));
  fclose(f);

  /* An unflushed buffer is part of the memory fork copies: both processes write it. */
  f = fopen(PATH, "w");
  CHECK(f != NULL, "fopen w");
  setvbuf(f, NULL, _IOFBF, 512);
  fputs("once;", f);
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    fputs("child;", f);
    exit(0); /* exit flushes: "once;child;" */
  }
  int st;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %#x", st);
  CHECK(strcmp(contents(PATH), "once;child;") == 0, "child's flush: '%s'", contents(PATH));
  fputs("parent;", f);
  fclose(f); /* the shared offset is now past the child's bytes */
  CHECK(strcmp(contents(PATH), "once;child;once;parent;") == 0, "after fork: '%s'", contents(PATH));
}

/* printf's formats, each written to the file as one line and read back with fgets. */
static void formats(void) {
  static const struct {
    const char *want;
  } lines[] = {
      {"-2147483648 2147483647 4294967295"},
      {"-9223372036854775808 18446744073709551615"},
      {"ff FF 0xff 0377 +0042 42   42|42  |"},
      {"[abc  ][  abc][ab][a]"},
      {"3.141593 3.14159 3.1416e+00 0.000123 1.23e-08 1e+100"},
      {"0x1p+0 0x1.8p+1 -0x0.0000000000001p-1022"},
      {"inf -inf nan INF"},
      {"1.000000e+308 -0 0.5 2.5 1e+06"},
      {"%|     12.500|12.500     |00012.500"},
      {"7 33 x"},
  };
  FILE *f = fopen(PATH, "w+");
  CHECK(f != NULL, "fopen w+");
  int n1 = 0;
  fprintf(f, "%d %d %u\n", INT_MIN, INT_MAX, UINT_MAX);
  fprintf(f, "%lld %llu\n", LLONG_MIN, ULLONG_MAX);
  fprintf(f, "%x %X %#x %#o %+05d %d %4d|%-4d|\n", 255, 255, 255, 255, 42, 42, 42, 42);
  fprintf(f, "[%-5s][%5s][%.2s][%.*s]\n", "abc", "abc", "abc", 1, "abc");
  fprintf(f, "%f %g %.4e %g %g %g\n", M_PI, M_PI, M_PI, 0.000123, 1.23e-8, 1e100);
  fprintf(f, "%a %a %a\n", 1.0, 3.0, -4.9406564584124654e-324);
  fprintf(f, "%f %f %f %F\n", INFINITY, -INFINITY, NAN, INFINITY);
  fprintf(f, "%e %g %g %g %g\n", 1e308, -0.0, 0.5, 2.5, 1e6);
  fprintf(f, "%%|%11.3f|%-11.3f|%09.3f\n", 12.5, 12.5, 12.5);
  fprintf(f, "%zu %n%d x\n", sizeof(int) + 3, &n1, 33);
  CHECK(n1 == 2, "%%n stored %d", n1);
  rewind(f);
  char line[256];
  for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
    CHECK(fgets(line, sizeof(line), f) != NULL, "fgets line %zu", i);
    line[strcspn(line, "\n")] = 0;
    CHECK(strcmp(line, lines[i].want) == 0, "line %zu: '%s', want '%s'", i, line, lines[i].want);
  }
  CHECK(fgets(line, sizeof(line), f) == NULL && feof(f), "more lines than written");

  /* The same numbers back through scanf. */
  rewind(f);
  int a, b;
  unsigned u;
  CHECK(fscanf(f, "%d %d %u", &a, &b, &u) == 3 && a == INT_MIN && b == INT_MAX && u == UINT_MAX,
        "fscanf ints");
  long long ll;
  unsigned long long ull;
  CHECK(fscanf(f, "%lld %llu", &ll, &ull) == 2 && ll == LLONG_MIN && ull == ULLONG_MAX, "fscanf ll");
  unsigned x1, x2;
  CHECK(fscanf(f, "%x %X", &x1, &x2) == 2 && x1 == 255 && x2 == 255, "fscanf hex");
  /* Skip to the floats' line. */
  for (int i = 0; i < 2; i++) CHECK(fgets(line, sizeof(line), f), "skip");
  double d1, d2;
  CHECK(fscanf(f, "%lf %lf", &d1, &d2) == 2, "fscanf floats");
  CHECK(fabs(d1 - M_PI) < 1e-6 && fabs(d2 - 3.14159) < 1e-12, "read back %.17g %.17g", d1, d2);
  CHECK(fgets(line, sizeof(line), f), "rest");
  double h1, h2, h3;
  CHECK(fscanf(f, "%la %la %la", &h1, &h2, &h3) == 3 && h1 == 1.0 && h2 == 3.0 &&
            h3 == -4.9406564584124654e-324,
        "hex floats back");

  /* fseek/ftell/ungetc and fread at an offset. */
  CHECK(fseek(f, 3, SEEK_SET) == 0 && ftell(f) == 3, "fseek");
  CHECK(fgetc(f) == '4' && ungetc('Z', f) == 'Z' && fgetc(f) == 'Z' && fgetc(f) == '7',
        "ungetc");
  CHECK(fseek(f, -2, SEEK_END) == 0, "fseek end");
  char tail[3] = {0};
  CHECK(fread(tail, 1, 3, f) == 2 && strcmp(tail, "x\n") == 0, "fread at the end: '%s'", tail);
  fclose(f);
  CHECK(unlink(PATH) == 0, "unlink");

  /* open_memstream: a growing buffer, its size after each flush. */
  char *mem = NULL;
  size_t memsize = 0;
  FILE *m = open_memstream(&mem, &memsize);
  CHECK(m != NULL, "open_memstream");
  for (int i = 0; i < 1000; i++) fprintf(m, "%03d,", i);
  CHECK(fflush(m) == 0 && memsize == 4000, "memstream size %zu", memsize);
  CHECK(strncmp(mem, "000,001,", 8) == 0 && strcmp(mem + 3996, "999,") == 0, "memstream contents");
  fclose(m);
  free(mem);
}

static void conversions(void) {
  char *end;
  errno = 0;
  CHECK(strtol("9223372036854775807", &end, 10) == LONG_MAX && errno == 0 && *end == 0, "LONG_MAX");
  errno = 0;
  CHECK(strtol("9223372036854775808", &end, 10) == LONG_MAX && errno == ERANGE, "overflow");
  errno = 0;
  CHECK(strtol("-9223372036854775809", &end, 10) == LONG_MIN && errno == ERANGE, "underflow");
  CHECK(strtol("-0x10", &end, 0) == -16 && *end == 0, "base 0 hex");
  CHECK(strtol("077", &end, 0) == 63, "base 0 octal");
  CHECK(strtol("089", &end, 0) == 0 && strcmp(end, "89") == 0, "octal stops at 8: '%s'", end);
  CHECK(strtol("zZ", &end, 36) == 35 * 36 + 35, "base 36");
  CHECK(strtol("  +12abc", &end, 10) == 12 && strcmp(end, "abc") == 0, "end pointer");
  const char *empty = "   ";
  CHECK(strtol(empty, &end, 10) == 0 && end == empty, "no digits: end is the start");
  errno = 0;
  CHECK(strtol("1", &end, 1) == 0 && errno == EINVAL, "base 1");
  errno = 0;
  CHECK(strtoul("-1", &end, 10) == ULONG_MAX && errno == 0, "strtoul -1");

  errno = 0;
  CHECK(strtod("1e400", &end) == HUGE_VAL && errno == ERANGE, "strtod overflow");
  errno = 0;
  double tiny = strtod("1e-400", &end);
  CHECK(tiny == 0 && errno == ERANGE, "strtod underflow %g", tiny);
  errno = 0;
  CHECK(strtod("4.9406564584124654e-324", &end) > 0, "denormal min");
  CHECK(strtod("0x1p-2", &end) == 0.25 && *end == 0, "hex float");
  CHECK(strtod("0x1.fffffffffffffp1023", &end) == DBL_MAX, "DBL_MAX");
  CHECK(isinf(strtod("  -Infinity", &end)) && strtod("-inf", &end) < 0 && *end == 0, "inf");
  CHECK(isnan(strtod("nan(123)", &end)) && *end == 0, "nan(chars)");
  CHECK(strtod("1.5abc", &end) == 1.5 && strcmp(end, "abc") == 0, "strtod end");
  CHECK(strtod(".5e1", &end) == 5.0, ".5e1");
  CHECK(strtod("1e", &end) == 1.0 && strcmp(end, "e") == 0, "dangling exponent");
  CHECK(strtof("1e39", &end) == HUGE_VALF, "strtof overflow");
  CHECK(atoi("  -17 ") == -17 && atol("12345678901") == 12345678901L, "atoi/atol");
  /* Round trip: %.17g of a double reads back exactly. */
  double v = 1.0;
  for (int i = 0; i < 200; i++) {
    char s[64];
    snprintf(s, sizeof(s), "%.17g", v);
    CHECK(strtod(s, &end) == v, "round trip %s", s);
    v = v * 1.7 + 1.0 / (i + 3);
  }
  char small[8];
  volatile int big = 123456789; /* not a constant: gcc would see the truncation */
  CHECK(snprintf(small, sizeof(small), "%d", big) == 9 && strcmp(small, "1234567") == 0,
        "snprintf truncation");
}

int main(void) {
  buffering();
  formats();
  conversions();
  return test_ok();
}
