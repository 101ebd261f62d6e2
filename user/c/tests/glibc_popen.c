/* glibc_popen: glibc's popen/pclose and system, which run "/bin/sh -c" (posix_spawn:
 * clone with CLONE_VM|CLONE_VFORK, execve) — it needs a shell at /bin/sh (busybox) and
 * uses only the shell's built-in commands:
 * - popen "r": the command's stdout arrives, its stderr does not; pclose returns the
 *   command's wait status;
 * - popen "w": what is written reaches the command's stdin (it writes it to a file);
 * - system: exit statuses, a shell killed by a signal, system(NULL) finds the shell, and
 *   SIGCHLD is blocked in the caller while the command runs (a handler does not run);
 * - two popen'd streams open at once, closed in the other order. */
#define _GNU_SOURCE
#define TEST_NAME "glibc_popen"
#include "common.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT "/tmp/glibc_popen.txt"

static volatile sig_atomic_t chld;
static void on_chld(int sig) {
  (void)sig;
  chld++;
}

int main(void) {
  CHECK(access("/bin/sh", X_OK) == 0, "no /bin/sh");
  CHECK(system(NULL) != 0, "system(NULL): no shell");

  FILE *p = popen("echo one; echo to-stderr >&2; printf 'two %d\\n' 2; exit 3", "r");
  CHECK(p != NULL, "popen r");
  char line[128], all[256] = "";
  while (fgets(line, sizeof(line), p)) strncat(all, line, sizeof(all) - strlen(all) - 1);
  int st = pclose(p);
  CHECK(strcmp(all, "one\ntwo 2\n") == 0, "popen output '%s'", all);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "pclose status %#x", st);

  unlink(OUT);
  p = popen("while read -r l; do echo \"got:$l\"; done > " OUT, "w");
  CHECK(p != NULL, "popen w");
  for (int i = 0; i < 100; i++) fprintf(p, "line %d\n", i);
  st = pclose(p);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pclose w status %#x", st);
  FILE *f = fopen(OUT, "r");
  CHECK(f != NULL, "fopen " OUT);
  int n = 0;
  while (fgets(line, sizeof(line), f)) {
    char want[32];
    snprintf(want, sizeof(want), "got:line %d\n", n);
    CHECK(strcmp(line, want) == 0, "line %d: '%s'", n, line);
    n++;
  }
  fclose(f);
  CHECK(n == 100, "%d lines reached the command", n);
  CHECK(unlink(OUT) == 0, "unlink");

  st = system("exit 7");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "system exit 7: %#x", st);
  st = system("true");
  CHECK(st == 0, "system true: %#x", st);
  st = system("kill -TERM $$");
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "shell killed by SIGTERM: %#x", st);
  st = system("exec /no/such/program 2>/dev/null");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127, "missing program: %#x", st);

  /* SIGCHLD is blocked during system(): the handler may run only after it returns, once
   * (the shell's exit; its status was collected by system). */
  struct sigaction sa = {.sa_handler = on_chld};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0, "sigaction");
  st = system("exit 0");
  CHECK(st == 0, "system with a SIGCHLD handler: %#x", st);
  CHECK(chld <= 1, "SIGCHLD handler ran %d times", (int)chld);
  errno = 0;
  CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "a child left behind");
  signal(SIGCHLD, SIG_DFL);

  /* Two at once: glibc closes the first stream's pipe in the second command, so the
   * first command sees EOF when this process closes its end. */
  FILE *w = popen("while read -r l; do :; done", "w");
  CHECK(w != NULL, "popen w");
  FILE *r = popen("echo second", "r");
  CHECK(r != NULL, "popen r");
  CHECK(fgets(line, sizeof(line), r) && strcmp(line, "second\n") == 0, "second: '%s'", line);
  st = pclose(w);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "first command %#x", st);
  st = pclose(r);
  CHECK(WIFEXITED(st), "second command %#x", st);
  return test_ok();
}
