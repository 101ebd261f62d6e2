/* tty_upper: reads one line from stdin (the console tty) and writes it back in upper case,
 * "tty_upper: got <LINE>". Used by ci/e2e.sh, which types the line into QEMU's serial port:
 * the bytes travel UART → receive interrupt → line discipline (editing, ICRNL) → read().
 * Not in tests.list: it waits for input nobody types during `make test`. */
#define TEST_NAME "tty_upper"
#include "common.h"
#include <ctype.h>
#include <unistd.h>

int main(void) {
  char line[256];
  ssize_t n = read(0, line, sizeof line - 1);
  CHECK(n > 0, "read returned %zd", n);
  CHECK(line[n - 1] == '\n', "a whole line ends in '\\n' (ICRNL maps Enter's '\\r')");
  line[n - 1] = 0;
  for (char *p = line; *p; p++) *p = toupper((unsigned char)*p);
  printf("tty_upper: got %s\n", line);
  return test_ok();
}
