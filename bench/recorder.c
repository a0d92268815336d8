/*
 * serf-edge bench recorder: a Serf user-event handler that costs one exec. It stamps the
 * arrival with CLOCK_MONOTONIC (the clock Node's process.hrtime reads) before anything else,
 * then appends `LTIME<TAB>name<TAB>base64(stdin)<TAB>monotonic-ns` to $SERF_TEST_EVENTS_FILE
 * with one O_APPEND write, the line format test/helpers/serf-agent.ts reads plus the stamp.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int main(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const char *file = getenv("SERF_TEST_EVENTS_FILE");
  const char *name = getenv("SERF_USER_EVENT");
  const char *ltime = getenv("SERF_USER_LTIME");
  if (!file || !name || !ltime) return 0;
  static unsigned char in[10240];
  size_t n = 0;
  ssize_t got;
  while (n < sizeof in && (got = read(0, in + n, sizeof in - n)) > 0) n += (size_t)got;
  static char enc[sizeof in / 3 * 4 + 8];
  size_t e = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    enc[e++] = B64[v >> 18 & 63];
    enc[e++] = B64[v >> 12 & 63];
    enc[e++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
    enc[e++] = i + 2 < n ? B64[v & 63] : '=';
  }
  enc[e] = 0;
  static char line[sizeof enc + 1024];
  int len = snprintf(line, sizeof line, "%s\t%.256s\t%s\t%lld\n", ltime, name, enc,
                     (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  int fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0) return 1;
  ssize_t wrote = write(fd, line, (size_t)len);
  close(fd);
  return wrote == len ? 0 : 1;
}
