/* tests/debian/run.c: the static program that starts the Debian test script, the same
 * way on Linux (linux-oracle.sh runs it as /prog) and on teachos (as init): it runs
 * /bin/bash with its arguments in a child, waits, and exits with bash's status. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root", "LANG=C",
                 "TERM=dumb",
                 /* Python would write its compiled modules into /usr/lib/python3.11 (on
                  * Debian, the package's postinst compiles them), using frames the leak
                  * check would count. */
                 "PYTHONDONTWRITEBYTECODE=1", NULL};
  pid_t pid = fork();
  if (pid == 0) {
    argv[0] = "bash";
    execve("/bin/bash", argv, env);
    perror("run: execve /bin/bash");
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    perror("run: fork/waitpid");
    return 1;
  }
  printf("run: bash exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
