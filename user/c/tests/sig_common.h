/* Shared by the signal tests (after common.h): installing a handler with sigaction. */
#ifndef TEACHOS_SIG_COMMON_H
#define TEACHOS_SIG_COMMON_H
#include <signal.h>

/* sigaction(sig, {fn as sa_sigaction if SA_SIGINFO else sa_handler, flags, mask or an empty
 * set}); a failure fails the test. */
static inline void install_handler(int sig, void *fn, int flags, const sigset_t *mask) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (flags & SA_SIGINFO)
    sa.sa_sigaction = fn;
  else
    sa.sa_handler = fn;
  sa.sa_flags = flags;
  if (mask)
    sa.sa_mask = *mask;
  else
    sigemptyset(&sa.sa_mask);
  CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction(%d)", sig);
}
#endif
