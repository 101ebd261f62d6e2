/* bench_userland: what a shell user waits for, in guest instructions (run under QEMU's
 * -icount shift=0, where the virtual counter advances one ns per instruction; the
 * counter runs at 62.5 MHz, so one tick is 16 instructions). The same static binary runs
 * on this kernel (as init) and on Linux (ci/bench.sh boots both):
 *   boot       reset to this program's first instruction (the counter starts at reset);
 *   sh-prompt  `sh -i` started until its prompt appears (stdout and stderr both read);
 *   boot-to-prompt  reset until that prompt: the two above and the fork between them;
 *   sh-loop    busybox sh running `/bin/true` 1,000 times (fork + execve + wait each),
 *              per iteration (sh-loop-1000: the whole loop);
 *   pipeline   `echo x | cat | ... | cat` with 100 stages, the whole pipeline;
 *   dyn-true   fork + execve + wait of a dynamically linked /usr/bin/true (coreutils,
 *              Debian root only; skipped with a note when absent), and static busybox
 *              /bin/true for comparison.
 * Prints "bench-userland: KEY VALUE" lines, then "bench_userland: ok". */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t instructions(void) {
  uint64_t ticks, freq;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(ticks));
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
  return ticks * (1000000000 / freq); /* ns = instructions under -icount shift=0 */
}

static void fail(const char *what) {
  printf("bench_userland: FAILED %s (errno %d %s)\n", what, errno, strerror(errno));
  exit(1);
}

/* Runs argv, waits, returns the instructions it took; exit status must be 0. */
static uint64_t run(char *const argv[]) {
  uint64_t t0 = instructions();
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    execv(argv[0], argv);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) fail("waitpid");
  uint64_t t = instructions() - t0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    printf("bench_userland: FAILED %s exited with status %#x\n", argv[0], st);
    exit(1);
  }
  return t;
}

/* Time from fork of an interactive shell to its first prompt on stderr; *seen is set to
 * the counter's value (instructions since reset) when the prompt arrived. */
static uint64_t shell_prompt(uint64_t *seen) {
  int in[2], err[2];
  if (pipe(in) || pipe(err)) fail("pipe");
  uint64_t t0 = instructions();
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(err[1], 1); /* busybox line editing prints the prompt on stdout */
    dup2(err[1], 2);
    close(in[0]); close(in[1]); close(err[0]); close(err[1]);
    execl("/bin/sh", "sh", "-i", (char *)0);
    _exit(127);
  }
  close(in[0]);
  close(err[1]);
  char buf[256];
  size_t got = 0;
  uint64_t t = 0;
  while (got < sizeof buf - 1) {
    ssize_t n = read(err[0], buf + got, sizeof buf - 1 - got);
    if (n <= 0) break;
    got += n;
    buf[got] = 0;
    if (strstr(buf, "# ") || strstr(buf, "$ ")) {
      *seen = instructions();
      t = *seen - t0;
      break;
    }
  }
  if (!t) fail("no prompt from sh -i");
  if (write(in[1], "exit 0\n", 7) != 7) fail("write");
  close(in[1]);
  while (read(err[0], buf, sizeof buf) > 0) {}
  int st;
  waitpid(pid, &st, 0);
  close(err[0]);
  return t;
}

int main(void) {
  uint64_t boot = instructions();
  printf("bench-userland: boot %llu\n", (unsigned long long)boot);
  uint64_t prompt_at;
  uint64_t prompt = shell_prompt(&prompt_at);
  printf("bench-userland: sh-prompt %llu\n", (unsigned long long)prompt);
  printf("bench-userland: boot-to-prompt %llu\n", (unsigned long long)prompt_at);

  char *loop[] = {"/bin/sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done", 0};
  run(loop); /* warm: page cache, first-touch of the shell's own pages */
  uint64_t loop_total = run(loop);
  printf("bench-userland: sh-loop-1000 %llu\n", (unsigned long long)loop_total);
  printf("bench-userland: sh-loop %llu\n", (unsigned long long)(loop_total / 1000));

  static char cmd[1024];
  strcpy(cmd, "echo x");
  for (int i = 0; i < 100; i++) strcat(cmd, " | cat");
  strcat(cmd, " >/tmp/pipeline.out");
  char *pipeline[] = {"/bin/sh", "-c", cmd, 0};
  run(pipeline);
  printf("bench-userland: pipeline %llu\n", (unsigned long long)run(pipeline));
  char out[8] = {0};
  int fd = open("/tmp/pipeline.out", O_RDONLY);
  if (fd < 0 || read(fd, out, sizeof out - 1) != 2 || strcmp(out, "x\n")) fail("pipeline output");
  close(fd);
  unlink("/tmp/pipeline.out"); /* the machine's frames return to their baseline */

  char *bbtrue[] = {"/bin/true", 0};
  run(bbtrue);
  printf("bench-userland: static-true %llu\n", (unsigned long long)run(bbtrue));
  if (access("/usr/bin/true", X_OK) == 0) {
    char *dyntrue[] = {"/usr/bin/true", 0};
    run(dyntrue);
    printf("bench-userland: dyn-true %llu\n", (unsigned long long)run(dyntrue));
  } else {
    printf("bench-userland: dyn-true - (no /usr/bin/true: make bench puts coreutils\' there)\n");
  }
  printf("bench_userland: ok\n");
  return 0;
}
