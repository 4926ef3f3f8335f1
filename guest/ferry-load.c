/*
 * ferry-load: the workload of ferry's test guests.
 *
 * Touches N MiB of memory, then sweeps it at R MiB/s, incrementing a
 * generation counter in every page it writes and printing a heartbeat on the
 * console. It is also the oracle for memory integrity across a migration:
 * the sweep keeps the invariant "pages before the cursor hold gen+1, pages
 * from the cursor on hold gen", and every page is checked against it before it
 * is written and by a background scrubber. Every word of a page derives from
 * (page, generation), and every word is checked, so a page that a migration
 * failed to transfer (an older generation), a torn page or a single wrong word
 * is reported as CORRUPT; the guest then panics (so pvpanic tells the host).
 * The heartbeat's scrubbed= counts pages verified since boot: any `pages=`
 * consecutive scrub steps are a full pass over memory.
 *
 * Parameters come from the kernel command line:
 *   ferry.touch=MiB   memory to touch (default 64)
 *   ferry.dirty=MiB/s rate at which touched memory is rewritten (default 0);
 *                     a number written to /run/ferry-dirty replaces it (read every heartbeat)
 *   ferry.hb=ms       heartbeat interval (default 100)
 *   ferry.scrub=MiB/s rate of the integrity scrubber (default 16)
 *   ferry.acpi=ignore ignore the ACPI power button (default: power off)
 *   ferry.acpi=corrupt the negative control of the oracle: the power button
 *                     corrupts one word in the middle of the page the scrubber
 *                     will reach last (it checked it last), instead of powering off
 *   ferry.panic=0     do not panic on corruption (default 1)
 *   ferry.disk=/dev/vda  also sweep a disk region with the same oracle (O_DIRECT)
 *   ferry.diskmb=MiB  size of that region (default 32)
 *   ferry.diskrate=MiB/s  disk rewrite rate (default 1)
 *   ferry.diskscrub=MiB/s disk verification rate (default 4)
 *
 * It runs as PID 1 of the test initramfs: it also handles the power button
 * (KEY_POWER from /dev/input/event*) by powering the guest off.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/reboot.h>
#include <poll.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define TAG 0x6665727279000000ull /* "ferry" */
#define MAX_INPUTS 16

struct params {
  long touch_mib, dirty_mibs, hb_ms, scrub_mibs;
  int acpi_ignore, acpi_corrupt, panic;
  char disk[64];
  long disk_mib, disk_rate, disk_scrub;
};

/* The disk oracle: the same sweep as memory, one generation per 4 KiB block,
 * every word of a block derived from (block, generation) so torn or stale
 * blocks show. Reads and writes bypass the guest's page cache (O_DIRECT). */
struct disk {
  int fd;
  uint64_t *buf;
  size_t blocks, cursor, scrub_pos;
  uint64_t gen, errors, written, scrubbed;
  double write_credit, scrub_credit;
};

struct state {
  uint8_t *mem;
  size_t pages, cursor, scrub_pos;
  uint64_t gen, errors, written, scrubbed, seq;
  double dirty_credit, scrub_credit;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long param(const char *cmdline, const char *key, long fallback) {
  const char *p = cmdline;
  size_t n = strlen(key);
  while ((p = strstr(p, key)) != NULL) {
    if ((p == cmdline || p[-1] == ' ') && p[n] == '=') return strtol(p + n + 1, NULL, 10);
    p += n;
  }
  return fallback;
}

static int flag(const char *cmdline, const char *kv) {
  const char *p = strstr(cmdline, kv);
  size_t n = strlen(kv);
  return p && (p == cmdline || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == 0);
}

static void read_params(struct params *pr) {
  char buf[4096] = {0};
  int fd = open("/proc/cmdline", O_RDONLY);
  if (fd >= 0) {
    ssize_t r = read(fd, buf, sizeof buf - 1);
    (void)r;
    close(fd);
  }
  pr->touch_mib = param(buf, "ferry.touch", 64);
  pr->dirty_mibs = param(buf, "ferry.dirty", 0);
  pr->hb_ms = param(buf, "ferry.hb", 100);
  pr->scrub_mibs = param(buf, "ferry.scrub", 16);
  pr->acpi_ignore = flag(buf, "ferry.acpi=ignore");
  pr->acpi_corrupt = flag(buf, "ferry.acpi=corrupt");
  pr->disk[0] = 0;
  const char *d = strstr(buf, "ferry.disk=");
  if (d && (d == buf || d[-1] == ' ')) {
    d += strlen("ferry.disk=");
    size_t n = strcspn(d, " \n");
    if (n >= sizeof pr->disk) n = sizeof pr->disk - 1;
    memcpy(pr->disk, d, n);
    pr->disk[n] = 0;
  }
  pr->disk_mib = param(buf, "ferry.diskmb", 32);
  pr->disk_rate = param(buf, "ferry.diskrate", 1);
  pr->disk_scrub = param(buf, "ferry.diskscrub", 4);
  pr->panic = param(buf, "ferry.panic", 1) != 0;
  if (pr->hb_ms < 10) pr->hb_ms = 10;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0) {
    ssize_t w = write(1, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)w;
  }
}

static void panic_guest(void) {
  int fd = open("/proc/sysrq-trigger", O_WRONLY);
  if (fd >= 0) {
    ssize_t w = write(fd, "c", 1);
    (void)w;
  }
}

static uint64_t *page_words(struct state *s, size_t i) { return (uint64_t *)(s->mem + i * PAGE); }

/* Page i at generation gen: w[0] = gen, w[1] = TAG | i, and every other word
 * page_base(i, gen) + k * WORD_STEP, a sequence no other page or generation shares. */
#define WORD_STEP 0x165667B19E3779F9ull
static uint64_t page_base(size_t i, uint64_t gen) { return (i * 0x9E3779B97F4A7C15ull) ^ (gen * 0xC2B2AE3D27D4EB4Full); }

static void fill_page(struct state *s, size_t i, uint64_t gen) {
  uint64_t *w = page_words(s, i);
  uint64_t v = page_base(i, gen) + 2 * WORD_STEP;
  w[0] = gen;
  w[1] = TAG | i;
  for (size_t k = 2; k < PAGE / 8; k++, v += WORD_STEP) w[k] = v;
}

/* What page i must hold right now, given the sweep's cursor. */
static uint64_t expected_gen(const struct state *s, size_t i) { return i < s->cursor ? s->gen + 1 : s->gen; }

/* Checks every word of page i. */
static void check_page(struct state *s, const struct params *pr, size_t i, const char *who) {
  uint64_t *w = page_words(s, i);
  uint64_t want = expected_gen(s, i);
  uint64_t v = page_base(i, want) + 2 * WORD_STEP, diff = (w[0] ^ want) | (w[1] ^ (TAG | i));
  for (size_t k = 2; k < PAGE / 8; k++, v += WORD_STEP) diff |= w[k] ^ v;
  if (diff == 0) return;
  size_t bad = 0, first = PAGE / 8;
  v = page_base(i, want);
  for (size_t k = 0; k < PAGE / 8; k++, v += WORD_STEP) {
    uint64_t expect = k == 0 ? want : k == 1 ? (TAG | i) : v;
    if (w[k] == expect) continue;
    bad++;
    if (first == PAGE / 8) first = k;
  }
  s->errors++;
  say("ferry-load: CORRUPT page=%zu by=%s expected=%llu found=%llu tag=%llx badwords=%zu firstbad=%zu\n", i, who,
      (unsigned long long)want, (unsigned long long)w[0], (unsigned long long)w[1], bad, first);
  if (pr->panic) panic_guest();
  fill_page(s, i, want); /* report each bad page once */
}

/* ferry.acpi=corrupt: one wrong word in the middle of the page the scrubber checked
 * last, so only a full pass of the scrubber from now on finds it (or the writer). */
static void corrupt_one_page(struct state *s) {
  if (s->pages == 0) return;
  size_t i = (s->scrub_pos + s->pages - 1) % s->pages, k = PAGE / 8 / 2 + 44;
  page_words(s, i)[k] ^= 1;
  say("ferry-load: negative control: corrupted page=%zu word=%zu before hb seq=%llu\n", i, k, (unsigned long long)s->seq);
}

static void dirty_pages(struct state *s, const struct params *pr, size_t n) {
  while (n-- > 0) {
    check_page(s, pr, s->cursor, "writer");
    fill_page(s, s->cursor, s->gen + 1);
    s->written++;
    if (++s->cursor == s->pages) {
      s->cursor = 0;
      s->gen++;
    }
  }
}

static void scrub_pages(struct state *s, const struct params *pr, size_t n) {
  if (n > s->pages) n = s->pages;
  while (n-- > 0) {
    check_page(s, pr, s->scrub_pos, "scrubber");
    s->scrubbed++;
    if (++s->scrub_pos == s->pages) s->scrub_pos = 0;
  }
}


static uint64_t word_of(size_t block, uint64_t gen, size_t i) {
  uint64_t x = (block * 0x9E3779B97F4A7C15ull) ^ (gen * 0xC2B2AE3D27D4EB4Full) ^ (i * 0x165667B19E3779F9ull);
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93ull;
  return x ^ (x >> 29);
}

static int disk_write(struct disk *dk, size_t block, uint64_t gen) {
  for (size_t i = 0; i < PAGE / 8; i++) dk->buf[i] = word_of(block, gen, i);
  dk->buf[0] = TAG | block;
  dk->buf[1] = gen;
  return pwrite(dk->fd, dk->buf, PAGE, (off_t)block * PAGE) == PAGE ? 0 : -1;
}

static void disk_check(struct disk *dk, const struct params *pr, size_t block, const char *who) {
  uint64_t want = block < dk->cursor ? dk->gen + 1 : dk->gen;
  if (pread(dk->fd, dk->buf, PAGE, (off_t)block * PAGE) != PAGE) {
    dk->errors++;
    say("ferry-load: DISK-CORRUPT block=%zu by=%s read failed\n", block, who);
    return;
  }
  int ok = dk->buf[0] == (TAG | block) && dk->buf[1] == want;
  for (size_t i = 2; ok && i < PAGE / 8; i++) ok = dk->buf[i] == word_of(block, want, i);
  if (ok) return;
  dk->errors++;
  say("ferry-load: DISK-CORRUPT block=%zu by=%s expected=%llu found=%llu tag=%llx\n", block, who,
      (unsigned long long)want, (unsigned long long)dk->buf[1], (unsigned long long)dk->buf[0]);
  if (pr->panic) panic_guest();
  disk_write(dk, block, want); /* report each bad block once */
}

static int disk_open(struct disk *dk, const struct params *pr) {
  dk->fd = -1;
  if (!pr->disk[0]) return 0;
  for (int tries = 0; tries < 50 && dk->fd < 0; tries++) {
    dk->fd = open(pr->disk, O_RDWR | O_DIRECT);
    if (dk->fd < 0) usleep(100000);
  }
  if (dk->fd < 0) {
    say("ferry-load: cannot open %s\n", pr->disk);
    return -1;
  }
  if (posix_memalign((void **)&dk->buf, PAGE, PAGE) != 0) return -1;
  dk->blocks = (size_t)pr->disk_mib * (1024 * 1024 / PAGE);
  /* Generation 0 everywhere, 1 MiB per write so start-up stays quick under TCG. */
  enum { CHUNK = 256 };
  uint64_t *big;
  if (posix_memalign((void **)&big, PAGE, (size_t)CHUNK * PAGE) != 0) return -1;
  for (size_t b = 0; b < dk->blocks; b += CHUNK) {
    size_t n = dk->blocks - b < CHUNK ? dk->blocks - b : CHUNK;
    for (size_t k = 0; k < n; k++) {
      uint64_t *w = big + k * (PAGE / 8);
      for (size_t i = 0; i < PAGE / 8; i++) w[i] = word_of(b + k, 0, i);
      w[0] = TAG | (b + k);
      w[1] = 0;
    }
    if (pwrite(dk->fd, big, n * PAGE, (off_t)b * PAGE) != (ssize_t)(n * PAGE)) {
      say("ferry-load: cannot write %s at block %zu\n", pr->disk, b);
      dk->blocks = b;
      break;
    }
  }
  free(big);
  fdatasync(dk->fd);
  return 0;
}

static void disk_step(struct disk *dk, const struct params *pr, double dt) {
  if (dk->fd < 0 || dk->blocks == 0) return;
  double per_mib = 1024.0 * 1024.0 / PAGE;
  dk->write_credit += dt * pr->disk_rate * per_mib;
  dk->scrub_credit += dt * pr->disk_scrub * per_mib;
  size_t nw = (size_t)dk->write_credit, ns = (size_t)dk->scrub_credit;
  dk->write_credit -= nw;
  dk->scrub_credit -= ns;
  while (nw-- > 0) {
    disk_check(dk, pr, dk->cursor, "writer");
    disk_write(dk, dk->cursor, dk->gen + 1);
    dk->written++;
    if (++dk->cursor == dk->blocks) {
      dk->cursor = 0;
      dk->gen++;
    }
  }
  if (ns > dk->blocks) ns = dk->blocks;
  while (ns-- > 0) {
    disk_check(dk, pr, dk->scrub_pos, "scrubber");
    dk->scrubbed++;
    if (++dk->scrub_pos == dk->blocks) dk->scrub_pos = 0;
  }
}

static int open_inputs(struct pollfd *fds) {
  int n = 0;
  DIR *d = opendir("/dev/input");
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < MAX_INPUTS) {
    if (strncmp(e->d_name, "event", 5) != 0) continue;
    char path[300];
    snprintf(path, sizeof path, "/dev/input/%s", e->d_name);
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd >= 0) fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
  }
  closedir(d);
  return n;
}

static int power_pressed(int fd) {
  struct input_event ev[16];
  ssize_t r = read(fd, ev, sizeof ev);
  for (ssize_t i = 0; r > 0 && i < r / (ssize_t)sizeof ev[0]; i++)
    if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1) return 1;
  return 0;
}

/* The dirty rate a test sets at run time (through the guest agent's guest-exec): the number in
 * /run/ferry-dirty, read every heartbeat; a change is said on the console. */
static void dirty_rate_from_file(struct params *pr) {
  int fd = open("/run/ferry-dirty", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[32];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  char *end;
  long v = strtol(buf, &end, 10);
  if (end == buf || v < 0 || v == pr->dirty_mibs) return;
  pr->dirty_mibs = v;
  say("ferry-load: dirty=%ldMiB/s from /run/ferry-dirty\n", v);
}

int main(void) {
  struct params pr;
  struct state s = {0};
  struct pollfd inputs[MAX_INPUTS];
  double launched = now_s();
  read_params(&pr);

  s.pages = (size_t)pr.touch_mib * (1024 * 1024 / PAGE);
  if (s.pages > 0) {
    s.mem = mmap(NULL, s.pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (s.mem == MAP_FAILED) {
      say("ferry-load: cannot map %ld MiB\n", pr.touch_mib);
      s.pages = 0;
    }
  }
  for (size_t i = 0; i < s.pages; i++) fill_page(&s, i, 0);
  struct disk dk = {0};
  disk_open(&dk, &pr);
  int ninputs = open_inputs(inputs);
  say("ferry-load: ready touch=%ldMiB pages=%zu dirty=%ldMiB/s hb=%ldms scrub=%ldMiB/s inputs=%d disk=%s blocks=%zu in %.0fms\n", pr.touch_mib, s.pages,
      pr.dirty_mibs, pr.hb_ms, pr.scrub_mibs, ninputs, dk.fd >= 0 ? pr.disk : "-", dk.blocks, (now_s() - launched) * 1000);

  double start = now_s(), last = start, next_hb = start;
  double pages_per_mib = 1024.0 * 1024.0 / PAGE;
  int busy = (s.pages > 0 && (pr.dirty_mibs > 0 || pr.scrub_mibs > 0)) || (dk.fd >= 0 && dk.blocks > 0);
  for (;;) {
    double t = now_s();
    double dt = t - last;
    last = t;
    /* Never catch up on time the vCPU did not run (a migration's stop, auto-converge's
     * throttle): like a real workload, dirtying needs CPU time. */
    if (dt > 0.05) dt = 0.05;
    if (s.pages > 0) {
      s.dirty_credit += dt * pr.dirty_mibs * pages_per_mib;
      s.scrub_credit += dt * pr.scrub_mibs * pages_per_mib;
      size_t nd = (size_t)s.dirty_credit, ns = (size_t)s.scrub_credit;
      s.dirty_credit -= nd;
      s.scrub_credit -= ns;
      dirty_pages(&s, &pr, nd);
      scrub_pages(&s, &pr, ns);
    }
    disk_step(&dk, &pr, dt);
    if (t >= next_hb) {
      dirty_rate_from_file(&pr);
      busy = busy || (s.pages > 0 && pr.dirty_mibs > 0);
      say("ferry-load: hb seq=%llu t=%.3f gen=%llu cursor=%zu pages=%zu written=%llu scrubbed=%llu errors=%llu dgen=%llu dblocks=%zu dwritten=%llu dscrubbed=%llu derrors=%llu\n",
          (unsigned long long)s.seq++, t - start, (unsigned long long)s.gen, s.cursor, s.pages,
          (unsigned long long)s.written, (unsigned long long)s.scrubbed, (unsigned long long)s.errors,
          (unsigned long long)dk.gen, dk.blocks, (unsigned long long)dk.written, (unsigned long long)dk.scrubbed,
          (unsigned long long)dk.errors);
      next_hb += pr.hb_ms / 1000.0;
      if (next_hb < t) next_hb = t + pr.hb_ms / 1000.0;
    }
    int wait_ms = busy ? 5 : (int)((next_hb - now_s()) * 1000) + 1;
    if (wait_ms < 0) wait_ms = 0;
    if (poll(inputs, ninputs, wait_ms) > 0) {
      for (int i = 0; i < ninputs; i++) {
        if (!(inputs[i].revents & POLLIN) || !power_pressed(inputs[i].fd)) continue;
        if (pr.acpi_ignore) {
          say("ferry-load: power button ignored\n");
          continue;
        }
        if (pr.acpi_corrupt) {
          corrupt_one_page(&s);
          continue;
        }
        say("ferry-load: power button, powering off\n");
        sync();
        reboot(LINUX_REBOOT_CMD_POWER_OFF);
      }
    }
  }
}
