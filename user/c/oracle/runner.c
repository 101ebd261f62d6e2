/*
 * The oracle's /init (ci/oracle.sh, ci/busybox-suite.sh): runs a list of programs one after
 * the other in one boot, each as a child with a fresh /tmp and a time limit, and prints a
 * verdict per program. The same static binary runs on Linux 6.1 and on teachos, so both
 * kernels see the programs started in the same way.
 *
 * It mounts proc on /proc, devtmpfs on /dev and tmpfs on /tmp (where they are not mounted
 * already: teachos mounts them before init starts), then reads /oracle/list, one program a
 * line, words separated by spaces:
 *
 *   test   SECONDS NAME ARGV0 ARG...   verdict: "oracle: NAME ok" when the program printed the
 *                                      line "NAME: ok" and exited 0, else
 *                                      "oracle: NAME FAILED: <why>" and its last lines
 *   output SECONDS NAME ARGV0 ARG...   every line the program prints (stdout and stderr), as
 *                                      "NAME| line", then "oracle: NAME exit N"; stdin is
 *                                      /dev/null (the busybox scripts)
 *   init   SECONDS NAME ARGV0 ARG...   (the list's only line) the program replaces the runner
 *                                      as pid 1, on the console, as on teachos; its exit
 *                                      ends the boot (Linux: "Attempted to kill init!
 *                                      exitcode=..."), so SECONDS is the host's to enforce
 *
 * Each program gets a new tmpfs on /tmp (unmounted after it), /dev/console as stdin for a
 * test, the environment below, and the runner's session (so it may call setsid itself).
 * When the program has exited or its time is up (alarm: "timed out"), every process left
 * is killed — kill(-1, SIGKILL) from pid 1 reaches all but pid 1 — and reaped, since
 * orphans come to pid 1. At the end: "oracle: done N passed, N failed", then the machine is
 * powered off (Linux) or the runner exits with the number of failures (teachos, where
 * init's exit status is QEMU's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIST "/oracle/list"
#define MAX_ARGS 32
#define TAIL 4096 /* the bytes of a failed test's output shown with its verdict */

static char *const envp[] = {"PATH=/bin:/sbin:/usr/bin", "HOME=/root", "TERM=vt100", "LANG=C", 0};
static volatile sig_atomic_t child_exited, alarmed;

static void on_sigchld(int sig) { (void)sig; child_exited = 1; }
static void on_sigalrm(int sig) { (void)sig; alarmed = 1; }

/* One write per message: on a console shared with the kernel's log, lines stay whole. */
static void say(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
  for (int off = 0; off < n;) {
    ssize_t w = write(1, buf + off, n - off);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    off += w;
  }
}

/* mount FS on DIR unless PROBE shows it is there already (teachos mounts all three itself). */
static void mount_if_missing(const char *fs, const char *dir, const char *probe) {
  mkdir(dir, 0755);
  if (access(probe, F_OK) == 0) return;
  if (mount(fs, dir, fs, 0, NULL) != 0) say("oracle: mount %s on %s: %s\n", fs, dir, strerror(errno));
}

/* What one program printed: the whole of it, line by line ("output"), or its last TAIL
 * bytes and whether the line "NAME: ok" came ("test"). */
struct capture {
  const char *name;
  int echo;
  char line[2048];
  size_t line_len;
  char tail[TAIL];
  size_t tail_len;
  int ok_line, failed_line;
};

static void end_line(struct capture *c) {
  c->line[c->line_len] = 0;
  if (c->echo) say("%s| %s\n", c->name, c->line);
  size_t n = strlen(c->name);
  if (strncmp(c->line, c->name, n) == 0 && strncmp(c->line + n, ": ", 2) == 0) {
    if (strcmp(c->line + n + 2, "ok") == 0) c->ok_line = 1;
    if (strncmp(c->line + n + 2, "FAILED", 6) == 0) c->failed_line = 1;
  }
  c->line_len = 0;
}

static void take(struct capture *c, const char *buf, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (c->tail_len == TAIL) {
      memmove(c->tail, c->tail + TAIL / 2, TAIL / 2);
      c->tail_len = TAIL / 2;
    }
    c->tail[c->tail_len++] = buf[i];
    if (buf[i] == '\n') end_line(c);
    else if (c->line_len < sizeof c->line - 1) c->line[c->line_len++] = buf[i];
    else { end_line(c); c->line[c->line_len++] = buf[i]; }
  }
}

/* Reads what the pipe holds now; returns 0 at end of file. */
static int drain(int fd, struct capture *c) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) { take(c, buf, n); continue; }
    if (n == 0) return 0;
    return 1; /* EAGAIN (nothing more now) or EINTR */
  }
}

/* Runs one program; returns 1 when it passed. */
static int run_one(int output_mode, unsigned seconds, char *name, char **argv) {
  static struct capture c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.echo = output_mode;

  /* A fresh /tmp: a new tmpfs stacked on the boot one, detached afterwards. */
  int tmp_mounted = mount("tmpfs", "/tmp", "tmpfs", 0, NULL) == 0;
  if (!tmp_mounted) say("oracle: %s: mount tmpfs on /tmp: %s\n", name, strerror(errno));
  chmod("/tmp", 01777);

  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    say("oracle: %s FAILED: pipe2: %s\n", name, strerror(errno));
    return 0;
  }
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  child_exited = alarmed = 0;
  pid_t pid = fork();
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &none, NULL);
    int in = output_mode ? open("/dev/null", O_RDONLY) : open("/dev/console", O_RDWR | O_NOCTTY);
    if (in >= 0 && in != 0) { dup2(in, 0); close(in); }
    dup2(p[1], 1);
    dup2(p[1], 2);
    if (chdir("/") != 0) _exit(126);
    execve(argv[0], argv, envp);
    dprintf(2, "oracle: execve %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(p[1]);
  if (pid < 0) {
    say("oracle: %s FAILED: fork: %s\n", name, strerror(errno));
    close(p[0]);
    return 0;
  }
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  alarm(seconds);

  int status = 0, done = 0, open_pipe = 1;
  while (!done && !alarmed) {
    /* SIGCHLD and SIGALRM are blocked except inside ppoll, so neither is lost between
     * the checks above and the wait. */
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    if (open_pipe) {
      if (ppoll(&pfd, 1, NULL, &none) > 0) open_pipe = drain(p[0], &c);
    } else {
      sigsuspend(&none);
    }
    if (child_exited) {
      child_exited = 0;
      pid_t r;
      int st;
      while ((r = waitpid(-1, &st, WNOHANG)) > 0)
        if (r == pid) { status = st; done = 1; }
    }
  }
  int timed_out = !done;
  alarm(0);
  /* Whatever the program left running goes now; then the rest of the output (every
   * writer is gone, so end of file comes) and every zombie. */
  kill(-1, SIGKILL);
  fcntl(p[0], F_SETFL, 0);
  while (drain(p[0], &c)) {}
  close(p[0]);
  if (c.line_len) end_line(&c);
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, 0);
    if (r == pid && !done) { status = st; done = 1; }
    if (r < 0 && errno != EINTR) break;
  }
  if (tmp_mounted && umount2("/tmp", MNT_DETACH) != 0)
    say("oracle: %s: umount /tmp: %s\n", name, strerror(errno));

  char how[64];
  if (timed_out) snprintf(how, sizeof how, "timed out after %u s", seconds);
  else if (WIFEXITED(status)) snprintf(how, sizeof how, "exit %d", WEXITSTATUS(status));
  else snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));

  if (output_mode) {
    say("oracle: %s %s\n", name, how);
    return !timed_out;
  }
  if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0 && c.ok_line && !c.failed_line) {
    say("oracle: %s ok\n", name);
    return 1;
  }
  say("oracle: %s FAILED: %s%s; its last lines:\n", name, how,
      c.ok_line ? "" : c.failed_line ? ", printed FAILED" : ", no ok line");
  /* Its last 8 lines, each prefixed so the host tells them from verdicts. */
  c.tail[c.tail_len] = 0;
  char *start = c.tail + c.tail_len;
  if (start > c.tail && start[-1] == '\n') start--;
  for (int lines = 0; start > c.tail; start--)
    if (start[-1] == '\n' && ++lines == 8) break;
  for (char *l = start; l && *l;) {
    char *nl = strchr(l, '\n');
    if (nl) *nl = 0;
    if (*l) say("oracle:     %s\n", l);
    l = nl ? nl + 1 : NULL;
  }
  return 0;
}

int main(void) {
  mount_if_missing("proc", "/proc", "/proc/self");
  mount_if_missing("devtmpfs", "/dev", "/dev/null");
  mkdir("/tmp", 01777);

  /* SIGCHLD and SIGALRM wake the wait in run_one; blocked everywhere else. */
  struct sigaction sa = {0};
  sa.sa_handler = on_sigchld;
  sigaction(SIGCHLD, &sa, NULL);
  sa.sa_handler = on_sigalrm;
  sigaction(SIGALRM, &sa, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigaddset(&block, SIGALRM);
  sigprocmask(SIG_BLOCK, &block, NULL);

  /* The runner must stay responsive while a program floods the machine (fork_bomb,
   * thread_bomb: thousands of runnable tasks): real-time priority for it, reset to the
   * normal policy in each child it forks. (teachos has no sched_setscheduler: ENOSYS.) */
  struct sched_param rt = {.sched_priority = 1};
  sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &rt);

  /* The whole list is read before anything runs, and its descriptor closed: a program
   * that moves the offset of a descriptor it inherited (the fuzzer's lseek on small
   * numbers) would otherwise make the runner read the list again from the start. */
  static char list[16384];
  int fd = open(LIST, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say("oracle: cannot open %s: %s\n", LIST, strerror(errno));
    return 2;
  }
  size_t len = 0;
  for (ssize_t n; len < sizeof list - 1 && (n = read(fd, list + len, sizeof list - 1 - len)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    len += n;
  }
  close(fd);
  list[len] = 0;

  int passed = 0, failed = 0;
  char *next_line = list;
  while (next_line && *next_line) {
    char *line = next_line;
    next_line = strchr(line, '\n');
    if (next_line) *next_line++ = 0;
    char *words[MAX_ARGS + 4];
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t", &save); w && n < MAX_ARGS + 3; w = strtok_r(NULL, " \t", &save)) words[n++] = w;
    if (n == 0 || words[0][0] == '#') continue;
    if (n < 4 || (strcmp(words[0], "test") != 0 && strcmp(words[0], "output") != 0 && strcmp(words[0], "init") != 0)) {
      say("oracle: bad line in %s: %s\n", LIST, words[0]);
      failed++;
      continue;
    }
    words[n] = NULL;
    if (strcmp(words[0], "init") == 0) {
      /* pid 1 itself: for the checks a test makes only when it is init. */
      mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
      chmod("/tmp", 01777);
      sigprocmask(SIG_UNBLOCK, &block, NULL);
      signal(SIGCHLD, SIG_DFL);
      signal(SIGALRM, SIG_DFL);
      struct sched_param normal = {.sched_priority = 0};
      sched_setscheduler(0, SCHED_OTHER, &normal); /* execve would keep SCHED_FIFO */
      if (chdir("/") == 0) execve(words[3], words + 3, envp);
      say("oracle: %s FAILED: execve %s: %s\n", words[2], words[3], strerror(errno));
      return 127;
    }
    if (run_one(words[0][0] == 'o', (unsigned)atoi(words[1]), words[2], words + 3)) passed++;
    else failed++;
  }
  say("oracle: done %d passed, %d failed\n", passed, failed);
  sync();
  reboot(RB_POWER_OFF); /* Linux; teachos has no reboot(2): init's exit ends QEMU */
  return failed > 125 ? 125 : failed;
}
