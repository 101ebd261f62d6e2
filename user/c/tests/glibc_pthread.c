/* glibc_pthread: glibc's POSIX threads on this kernel (clone with CLONE_THREAD|SETTLS|
 * PARENT_SETTID|CHILD_CLEARTID, futexes, signals to threads):
 * - 4 threads add to one counter under a mutex: the exact total; pthread_join's value;
 * - a bounded queue with two condition variables, 2 producers and 2 consumers: every
 *   item arrives once;
 * - pthread_once, __thread variables (each thread its own), a barrier, a semaphore, a
 *   read-write lock;
 * - pthread_cond_timedwait times out (ETIMEDOUT) on CLOCK_MONOTONIC after its deadline;
 * - pthread_kill reaches the chosen thread; pthread_cancel ends a thread blocked in
 *   read() (a cancellation point; glibc uses a real-time signal) with PTHREAD_CANCELED;
 * - a detached thread with a stack size of its own; fork from a thread leaves
 *   the child one thread that can still lock the (unlocked) mutex. */
#define _GNU_SOURCE
#define TEST_NAME "glibc_pthread"
#include "common.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK0(call) CHECK((errno = (call)) == 0, #call)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *adder(void *arg) {
  long n = (long)arg;
  for (long i = 0; i < n; i++) {
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  return (void *)(n * 2);
}

static void mutex_counter(void) {
  enum { T = 4, N = 50000 };
  pthread_t t[T];
  for (int i = 0; i < T; i++) CHECK0(pthread_create(&t[i], NULL, adder, (void *)(long)N));
  for (int i = 0; i < T; i++) {
    void *ret;
    CHECK0(pthread_join(t[i], &ret));
    CHECK((long)ret == 2 * N, "join value %ld", (long)ret);
  }
  CHECK(counter == (long)T * N, "counter %ld, want %ld", counter, (long)T * N);
}

/* A bounded queue: producers wait on not_full, consumers on not_empty. */
enum { QCAP = 8, ITEMS = 5000, PRODUCERS = 2, CONSUMERS = 2 };
static struct {
  pthread_mutex_t m;
  pthread_cond_t not_full, not_empty;
  int buf[QCAP], head, len, producers_left;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static _Atomic long consumed_sum, consumed_count;

static void *producer(void *arg) {
  int base = (int)(long)arg * ITEMS;
  for (int i = 1; i <= ITEMS; i++) {
    pthread_mutex_lock(&q.m);
    while (q.len == QCAP) pthread_cond_wait(&q.not_full, &q.m);
    q.buf[(q.head + q.len++) % QCAP] = base + i;
    pthread_cond_signal(&q.not_empty);
    pthread_mutex_unlock(&q.m);
  }
  pthread_mutex_lock(&q.m);
  q.producers_left--;
  pthread_cond_broadcast(&q.not_empty);
  pthread_mutex_unlock(&q.m);
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&q.m);
    while (q.len == 0 && q.producers_left > 0) pthread_cond_wait(&q.not_empty, &q.m);
    if (q.len == 0) {
      pthread_mutex_unlock(&q.m);
      return NULL;
    }
    int v = q.buf[q.head];
    q.head = (q.head + 1) % QCAP;
    q.len--;
    pthread_cond_signal(&q.not_full);
    pthread_mutex_unlock(&q.m);
    consumed_sum += v;
    consumed_count++;
  }
}

static void condvar_queue(void) {
  pthread_t p[PRODUCERS], c[CONSUMERS];
  q.producers_left = PRODUCERS;
  for (int i = 0; i < CONSUMERS; i++) CHECK0(pthread_create(&c[i], NULL, consumer, NULL));
  for (int i = 0; i < PRODUCERS; i++) CHECK0(pthread_create(&p[i], NULL, producer, (void *)(long)i));
  for (int i = 0; i < PRODUCERS; i++) CHECK0(pthread_join(p[i], NULL));
  for (int i = 0; i < CONSUMERS; i++) CHECK0(pthread_join(c[i], NULL));
  long n = (long)PRODUCERS * ITEMS;
  CHECK(consumed_count == n, "consumed %ld of %ld", (long)consumed_count, n);
  CHECK(consumed_sum == n * (n + 1) / 2, "sum %ld, want %ld", (long)consumed_sum, n * (n + 1) / 2);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic int once_runs;
static void init_once(void) { once_runs++; }
static __thread int tls = 7;
static pthread_barrier_t barrier;
static sem_t sem;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static _Atomic int readers_in;
static int shared_value;

static void *worker(void *arg) {
  int id = (int)(long)arg;
  pthread_once(&once, init_once);
  CHECK(tls == 7, "a new thread's __thread starts at its initial value");
  tls = 100 + id;
  /* All four are here: every one still sees its own value. */
  int r = pthread_barrier_wait(&barrier);
  CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD, "barrier %d", r);
  CHECK(tls == 100 + id, "__thread overwritten: %d", tls);
  /* Readers share the lock. */
  pthread_rwlock_rdlock(&rw);
  readers_in++;
  while (readers_in < 4) sched_yield(); /* all four readers inside at once */
  pthread_rwlock_unlock(&rw);
  pthread_rwlock_wrlock(&rw);
  shared_value += id;
  pthread_rwlock_unlock(&rw);
  sem_post(&sem);
  return NULL;
}

static void primitives(void) {
  pthread_t t[4];
  CHECK0(pthread_barrier_init(&barrier, NULL, 4));
  CHECK(sem_init(&sem, 0, 0) == 0, "sem_init");
  for (int i = 0; i < 4; i++) CHECK0(pthread_create(&t[i], NULL, worker, (void *)(long)i));
  for (int i = 0; i < 4; i++) CHECK(sem_wait(&sem) == 0, "sem_wait");
  for (int i = 0; i < 4; i++) CHECK0(pthread_join(t[i], NULL));
  CHECK(once_runs == 1, "pthread_once ran %d times", once_runs);
  CHECK(tls == 7, "main's __thread changed: %d", tls);
  CHECK(shared_value == 0 + 1 + 2 + 3, "rwlock sum %d", shared_value);
  int v;
  CHECK(sem_getvalue(&sem, &v) == 0 && v == 0, "semaphore left at %d", v);
  errno = 0;
  CHECK(sem_trywait(&sem) == -1 && errno == EAGAIN, "sem_trywait on 0");
  pthread_barrier_destroy(&barrier);
  sem_destroy(&sem);
}

static void timed_wait(void) {
  pthread_condattr_t ca;
  pthread_cond_t cv;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  CHECK0(pthread_condattr_init(&ca));
  CHECK0(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
  CHECK0(pthread_cond_init(&cv, &ca));
  struct timespec start, deadline, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  deadline = start;
  deadline.tv_nsec += 50 * 1000000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&m);
  int r = pthread_cond_timedwait(&cv, &m, &deadline);
  pthread_mutex_unlock(&m);
  clock_gettime(CLOCK_MONOTONIC, &end);
  CHECK(r == ETIMEDOUT, "timedwait returned %d", r);
  long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
  CHECK(ms >= 50 && ms < 2000, "timed out after %ld ms", ms);
  pthread_cond_destroy(&cv);
}

static _Atomic pid_t usr1_tid;
static void on_usr1(int sig) {
  (void)sig;
  usr1_tid = (pid_t)syscall(SYS_gettid);
}

static _Atomic pid_t target_tid;
static _Atomic int target_stop;
static void *spin_until_told(void *arg) {
  (void)arg;
  target_tid = (pid_t)syscall(SYS_gettid);
  while (!target_stop) sched_yield();
  return NULL;
}

static void *blocked_reader(void *arg) {
  int fd = *(int *)arg;
  char c;
  (void)read(fd, &c, 1); /* nobody writes: only cancellation ends this */
  return (void *)1L;
}

static void signals_and_cancel(void) {
  struct sigaction sa = {.sa_handler = on_usr1};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
  pthread_t t;
  CHECK0(pthread_create(&t, NULL, spin_until_told, NULL));
  while (target_tid == 0) sched_yield();
  CHECK0(pthread_kill(t, SIGUSR1));
  while (usr1_tid == 0) sched_yield();
  CHECK(usr1_tid == target_tid, "SIGUSR1 ran in %d, sent to %d", usr1_tid, target_tid);
  target_stop = 1;
  CHECK0(pthread_join(t, NULL));

  int fds[2];
  CHECK(pipe(fds) == 0, "pipe");
  CHECK0(pthread_create(&t, NULL, blocked_reader, &fds[0]));
  struct timespec d = {0, 20 * 1000000};
  nanosleep(&d, NULL); /* let it block (cancellation works either way) */
  CHECK0(pthread_cancel(t));
  void *ret;
  CHECK0(pthread_join(t, &ret));
  CHECK(ret == PTHREAD_CANCELED, "cancelled thread returned %p", ret);
  close(fds[0]);
  close(fds[1]);
}

static _Atomic int detached_done;
static void *small_stack(void *arg) {
  volatile char local[16 * 1024];
  memset((char *)local, 1, sizeof(local));
  pthread_attr_t a;
  size_t size = 0;
  CHECK0(pthread_getattr_np(pthread_self(), &a));
  CHECK0(pthread_attr_getstacksize(&a, &size));
  pthread_attr_destroy(&a);
  *(size_t *)arg = size;
  detached_done = 1;
  return NULL;
}

static void *forker(void *arg) {
  (void)arg;
  pid_t pid = fork();
  if (pid == 0) {
    /* One thread here; the mutex is unlocked, so it can be taken. */
    pthread_mutex_lock(&lock);
    counter = -1;
    pthread_mutex_unlock(&lock);
    _exit(syscall(SYS_gettid) == getpid() ? 0 : 1);
  }
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return (void *)1L;
  return (void *)(long)(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 2);
}

static void stacks_and_fork(void) {
  pthread_attr_t a;
  size_t got = 0;
  CHECK0(pthread_attr_init(&a));
  CHECK0(pthread_attr_setstacksize(&a, 256 * 1024));
  CHECK0(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED));
  pthread_t t;
  CHECK0(pthread_create(&t, &a, small_stack, &got));
  pthread_attr_destroy(&a);
  while (!detached_done) sched_yield();
  CHECK(got == 256 * 1024, "stack size %zu", got);

  long before = counter;
  CHECK0(pthread_create(&t, NULL, forker, NULL));
  void *ret;
  CHECK0(pthread_join(t, &ret));
  CHECK(ret == NULL, "fork from a thread: %ld", (long)ret);
  CHECK(counter == before, "the child's write reached the parent");
}

int main(void) {
  mutex_counter();
  condvar_queue();
  primitives();
  timed_wait();
  signals_and_cancel();
  stacks_and_fork();
  return test_ok();
}
