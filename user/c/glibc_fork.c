/* A static glibc program (not built with this project's ulib): checks that an unmodified
 * libc start-up, stdio, malloc, fork and waitpid work, and that the exit status reaches
 * QEMU. Built by ci/e2e.sh with aarch64-linux-gnu-gcc -static; run with make run INIT=. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void) {
    char *heap = malloc(1 << 20);          /* brk/mmap */
    memset(heap, 'x', 1 << 20);
    printf("glibc: pid %d, stdout is %sa terminal\n", getpid(), isatty(1) ? "" : "not ");
    pid_t pid = fork();
    if (pid == 0) {
        heap[0] = 'c';                     /* a copy-on-write fault in the child */
        printf("glibc: child %d of %d\n", getpid(), getppid());
        exit(5);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 5 || heap[0] != 'x') {
        printf("glibc: FAILED\n");
        return 1;
    }
    printf("glibc: child exited with 5, parent memory intact\n");
    return 3;
}
