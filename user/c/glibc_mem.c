/* An unmodified static glibc program using glibc's own memcpy, memset and strlen — on
 * aarch64 these use SIMD registers, and memset of zero uses DC ZVA — on freshly mmapped
 * memory and, after a fork, on copy-on-write memory on both sides; and double arithmetic
 * whose running sum (in FP registers) is live across the fork, with a directed rounding
 * mode (FPCR) that both sides must keep. Prints `glibc_mem: ok`. Built by
 * ci/build-extra.sh with aarch64-linux-gnu-gcc -static. */
#include <fenv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN (1 << 20)
#define N 200000

/* Reasons from the child, in a shared page (the child's stdout buffer would be lost). */
static char *why;

static int fail(const char *who, const char *what, long at) {
  snprintf(why, 256, "%s: %s (at %ld)", who, what, at);
  return 1;
}

/* Byte checks through a volatile pointer, so the compiler cannot turn them into calls to
 * the very functions under test. */
static long find_other(const unsigned char *p, long n, unsigned char want) {
  const volatile unsigned char *v = p;
  for (long i = 0; i < n; i++)
    if (v[i] != want) return i;
  return -1;
}

static int check_pattern(const char *who, const unsigned char *p, long n, unsigned seed) {
  const volatile unsigned char *v = p;
  for (long i = 0; i < n; i++)
    if (v[i] != (unsigned char)(i * 31 + seed)) return fail(who, "memcpy copied wrong bytes", i);
  return 0;
}

static void fill_pattern(unsigned char *p, long n, unsigned seed) {
  volatile unsigned char *v = p;
  for (long i = 0; i < n; i++) v[i] = (unsigned char)(i * 31 + seed);
}

/* memset, memcpy and strlen over many sizes and alignments within `buf` (LEN bytes). */
static int exercise(const char *who, unsigned char *buf, unsigned seed) {
  unsigned char *src = buf, *dst = buf + LEN / 2;
  memset(buf, 0xff, LEN);
  memset(buf, 0, LEN); /* large zero memset: glibc uses DC ZVA */
  long at = find_other(buf, LEN, 0);
  if (at >= 0) return fail(who, "memset 0 left a non-zero byte", at);
  static const long sizes[] = { 1, 7, 16, 31, 64, 100, 255, 4096, 4097, 65536 + 13, 200000 };
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    for (int align = 0; align < 3; align++) {
      long n = sizes[i], so = align * 3, d = align * 5;
      fill_pattern(src + so, n, seed + i);
      memset(dst, 0xee, n + d + 64);
      memcpy(dst + d, src + so, n);
      if (check_pattern(who, dst + d, n, seed + i)) return 1;
      if (find_other(dst, d, 0xee) >= 0 || find_other(dst + d + n, 64, 0xee) >= 0)
        return fail(who, "memcpy wrote outside its destination", n);
      memset(dst + d, 'a' + align, n);
      dst[d + n] = 0;
      if ((long)strlen((char *)dst + d) != n) return fail(who, "strlen", n);
      if (find_other(dst + d, n, 'a' + align) >= 0) return fail(who, "memset 'a' left other bytes", n);
    }
  }
  return 0;
}

/* Sum of 1/k for k = 1..N in the current rounding mode, calling `midway` (fork) at N/2
 * with the partial sum live in an FP register. */
static double series(pid_t (*midway)(void), pid_t *pid) {
  volatile double one = 1.0;
  double s = 0.0, c = 0.5;
  for (int k = 1; k <= N; k++) {
    s += one / k;
    c = c * 0.999999 + s * 1e-6;
    if (k == N / 2 && midway) *pid = midway();
  }
  return s + c;
}

int main(void) {
  why = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  unsigned char *fresh = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (why == MAP_FAILED || fresh == MAP_FAILED) { printf("glibc_mem: FAILED mmap\n"); return 1; }
  if (exercise("fresh memory", fresh, 1)) { printf("glibc_mem: FAILED %s\n", why); return 1; }
  /* Contents both sides must still see after the fork. */
  fill_pattern(fresh, LEN, 7);

  if (fesetround(FE_UPWARD) != 0) { printf("glibc_mem: FAILED fesetround\n"); return 1; }
  double want_up = series(0, 0);
  fesetround(FE_TONEAREST);
  double want_near = series(0, 0);
  if (want_up == want_near) { printf("glibc_mem: FAILED rounding mode has no effect\n"); return 1; }

  fflush(stdout);
  fesetround(FE_UPWARD);
  pid_t pid = -1;
  double got = series(fork, &pid);
  int mode = fegetround();
  fesetround(FE_TONEAREST);
  if (pid < 0) { printf("glibc_mem: FAILED fork\n"); return 1; }
  const char *who = pid == 0 ? "child" : "parent";
  int bad = 0;
  if (mode != FE_UPWARD) bad = fail(who, "rounding mode (FPCR) lost across fork", mode);
  else if (got != want_up) bad = fail(who, "the sum across fork differs", (long)(got * 1000));
  else if (check_pattern(who, fresh, LEN, 7)) bad = 1;
  else if (exercise(pid == 0 ? "child, copy-on-write memory" : "parent, copy-on-write memory", fresh,
                    pid == 0 ? 11 : 13)) bad = 1;
  if (pid == 0) _exit(bad);

  int status = 0;
  if (waitpid(pid, &status, 0) != pid) { printf("glibc_mem: FAILED waitpid\n"); return 1; }
  if (bad) { printf("glibc_mem: FAILED %s\n", why); return 1; }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("glibc_mem: FAILED %s (child status %#x)\n", WIFEXITED(status) ? why : "child killed", status);
    return 1;
  }
  /* The child's writes stayed in the child: the parent's last pattern (seed 13 of the
   * largest size at the last alignment) is intact. */
  if (check_pattern("parent after the child", fresh + 6, 200000, 13 + 10)) { printf("glibc_mem: FAILED %s\n", why); return 1; }
  printf("glibc_mem: ok\n");
  return 0;
}
