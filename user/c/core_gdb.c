/* core_gdb — for ci/e2e.sh: a child dies of SIGSEGV in crash_here (called from
 * call_crash) with RLIMIT_CORE unlimited in /tmp, so the kernel writes /tmp/core; the
 * parent prints the wait status, then the core file in base64 between the lines
 * "core_gdb: begin" and "core_gdb: end", for the host to decode and open with
 * gdb-multiarch next to this program. Exits 0 if the status had the core bit. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int *volatile null_ptr; /* NULL, hidden from the compiler */

__attribute__((noinline)) void crash_here(int depth) {
  *null_ptr = depth;
}

__attribute__((noinline)) void call_crash(void) {
  crash_here(3);
  __asm__ volatile(""); /* keep the call a call, not a tail jump */
}

static void put_base64(const unsigned char *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char line[80];
  size_t used = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    line[used++] = tab[v >> 18 & 63];
    line[used++] = tab[v >> 12 & 63];
    line[used++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
    line[used++] = i + 2 < n ? tab[v & 63] : '=';
    if (used == 76 || i + 3 >= n) {
      fwrite(line, 1, used, stdout);
      putchar('\n');
      used = 0;
    }
  }
}

int main(void) {
  struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_CORE, &rl) != 0 || chdir("/tmp") != 0) return 2;
  pid_t pid = fork();
  if (pid == 0) {
    call_crash();
    _exit(1);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return 2;
  printf("core_gdb: child status %#x\n", st);
  FILE *f = fopen("core", "rb");
  if (!f) return 3;
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (!buf) return 4;
  printf("core_gdb: begin %zu bytes\n", n);
  put_base64(buf, n);
  printf("core_gdb: end\n");
  unlink("core");
  return WCOREDUMP(st) ? 0 : 1;
}
