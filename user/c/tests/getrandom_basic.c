/* getrandom_basic: getrandom(2), /dev/random, /dev/urandom and AT_RANDOM.
 * - every valid flag works; GRND_INSECURE|GRND_RANDOM and unknown bits are EINVAL;
 * - a bad buffer is EFAULT; a buffer that runs into an unmapped page gets (some of)
 *   the bytes before it, and their count; a zero length returns 0;
 * - two reads differ; 64 KiB of output passes a byte-frequency (chi-square) check;
 * - /dev/urandom and /dev/random read;
 * - AT_RANDOM's 16 bytes differ between two execs of this program. */
#define TEST_NAME "getrandom_basic"
#include "common.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long sys_getrandom(void *buf, size_t len, unsigned long flags) {
  return syscall(SYS_getrandom, buf, len, flags);
}

/* Chi-square of the byte counts of `buf` against a uniform distribution. */
static double chi_square(const unsigned char *buf, size_t n) {
  unsigned count[256] = {0};
  for (size_t i = 0; i < n; i++) count[buf[i]]++;
  double expected = n / 256.0, chi = 0;
  for (int i = 0; i < 256; i++) chi += (count[i] - expected) * (count[i] - expected) / expected;
  return chi;
}

/* Runs this program again with "child": it writes its AT_RANDOM bytes to a pipe. */
static void exec_at_random(const char *self, unsigned char out[16]) {
  int fds[2];
  CHECK(pipe(fds) == 0, "pipe");
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    dup2(fds[1], 1);
    execl(self, self, "child", (char *)0);
    _exit(127);
  }
  close(fds[1]);
  size_t got = 0;
  while (got < 16) {
    ssize_t n = read(fds[0], out + got, 16 - got);
    CHECK(n > 0, "read AT_RANDOM from the child");
    got += n;
  }
  close(fds[0]);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "child status %#x", status);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    const void *r = (const void *)getauxval(AT_RANDOM);
    return r && write(1, r, 16) == 16 ? 0 : 1;
  }
  unsigned char a[64], b[64];
  unsigned flags[] = {0, GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE,
                      GRND_NONBLOCK | GRND_RANDOM, GRND_NONBLOCK | GRND_INSECURE};
  for (unsigned i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    memset(a, 0, sizeof a);
    CHECK(sys_getrandom(a, sizeof a, flags[i]) == sizeof a, "flags %#x", flags[i]);
    CHECK(sys_getrandom(b, sizeof b, flags[i]) == sizeof b, "flags %#x", flags[i]);
    CHECK(memcmp(a, b, sizeof a) != 0, "two reads with flags %#x are equal", flags[i]);
  }
  errno = 0;
  CHECK(sys_getrandom(a, 16, GRND_INSECURE | GRND_RANDOM) == -1 && errno == EINVAL,
        "GRND_INSECURE|GRND_RANDOM");
  errno = 0;
  CHECK(sys_getrandom(a, 16, 0x8) == -1 && errno == EINVAL, "flag 0x8");
  errno = 0;
  CHECK(sys_getrandom(a, 16, 0x80000000u) == -1 && errno == EINVAL, "flag 0x80000000");
  /* flags is an unsigned int: the register's upper half does not count. */
  CHECK(sys_getrandom(a, 16, 0x100000000ul) == 16, "flag bit 32");
  CHECK(sys_getrandom(0, 0, 0) == 0, "zero length");
  errno = 0;
  CHECK(sys_getrandom((void *)8, 16, 0) == -1 && errno == EFAULT, "unmapped buffer");
  errno = 0;
  CHECK(sys_getrandom((void *)0xffff000000001000ul, 16, 0) == -1 && errno == EFAULT,
        "kernel address");
  errno = 0;
  CHECK(sys_getrandom((void *)getrandom, 16, 0) == -1 && errno == EFAULT, "read-only text");
  /* The bytes before an unmapped page arrive; the call returns their count. */
  unsigned char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED, "mmap");
  CHECK(munmap(p + 4096, 4096) == 0, "munmap");
  long r = sys_getrandom(p + 4096 - 100, 300, 0);
  CHECK(r > 0 && r <= 100, "a buffer ending in a hole: %ld", r);

  /* A larger request, and what its bytes look like. */
  size_t n = 65536;
  unsigned char *big = malloc(n);
  CHECK(big != 0, "malloc");
  CHECK(getrandom(big, n, 0) == (ssize_t)n, "64 KiB");
  /* 255 degrees of freedom: the mean is 255, the standard deviation 22.6; 400 is
   * more than 6 of them away. */
  double chi = chi_square(big, n);
  CHECK(chi < 400, "getrandom bytes: chi-square %.1f", chi);
  int fd = open("/dev/urandom", O_RDONLY);
  CHECK(fd >= 0, "open /dev/urandom");
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, big + got, n - got);
    CHECK(r > 0, "read /dev/urandom");
    got += r;
  }
  close(fd);
  chi = chi_square(big, n);
  CHECK(chi < 400, "/dev/urandom bytes: chi-square %.1f", chi);
  fd = open("/dev/random", O_RDONLY);
  CHECK(fd >= 0, "open /dev/random");
  CHECK(read(fd, a, 32) == 32 && read(fd, b, 32) == 32, "read /dev/random");
  CHECK(memcmp(a, b, 32) != 0, "two reads of /dev/random are equal");
  close(fd);

  /* AT_RANDOM: ours and two children's all differ. */
  const char *self = access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : argv[0];
  unsigned char r1[16], r2[16];
  exec_at_random(self, r1);
  exec_at_random(self, r2);
  const void *mine = (const void *)getauxval(AT_RANDOM);
  CHECK(mine != 0, "no AT_RANDOM");
  CHECK(memcmp(r1, r2, 16) != 0 && memcmp(r1, mine, 16) != 0, "AT_RANDOM repeats across execs");
  return test_ok();
}
