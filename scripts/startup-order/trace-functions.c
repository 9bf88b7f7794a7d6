/*
 * trace-functions: which of a program's functions run before it reports ready, in the order
 * they first run. scripts/startup-order lays those functions out together at the front of the
 * daemon's .text, so the pages an idle daemon keeps resident hold code it ran rather than
 * code that merely shares a 64 KB fault-around window with it.
 *
 * How: a one-shot breakpoint (int3) on the entry of every function listed, set through ptrace
 * once the program is mapped; each hit is recorded, the original byte put back and the thread
 * resumed, so every function traps at most once and the program runs at nearly full speed.
 * Readiness is systemd's: the program gets NOTIFY_SOCKET pointing at our socket, and once it
 * sends READY=1 and has idled for the given seconds, a line "#ready" marks the end of its
 * start-up in the output. Tracing then ends, or, given a stop file, goes on (while someone
 * else makes the program work) until that file exists; then the program is killed.
 * (Written in C: ptrace(2) is variadic, which Swift cannot call.)
 *
 * usage: trace-functions SYMBOLS OUT IDLE_SECONDS STOP_FILE|- -- PROGRAM ARGS...
 *   SYMBOLS: lines "hex-address name" (the program's text sections, by link-time address)
 *   OUT:     the names of those that ran, one per line, in first-run order
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct probe { uint64_t offset; uint64_t address; unsigned char original; int armed; char *names; };

static struct probe *probes;
static size_t probe_count;

static int by_offset(const void *a, const void *b) {
    const struct probe *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void fail(const char *what) { perror(what); exit(2); }

/* One probe per address; aliases (several names at one address) are kept together. */
static void read_symbols(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) fail(path);
    size_t capacity = 1 << 16;
    probes = calloc(capacity, sizeof *probes);
    char line[65536];
    while (fgets(line, sizeof line, file)) {
        char *name = strchr(line, ' ');
        if (!name) continue;
        *name++ = 0;
        name[strcspn(name, "\n")] = 0;
        if (probe_count == capacity) probes = realloc(probes, (capacity *= 2) * sizeof *probes);
        probes[probe_count++] = (struct probe){ .offset = strtoull(line, NULL, 16), .names = strdup(name) };
    }
    fclose(file);
    qsort(probes, probe_count, sizeof *probes, by_offset);
    size_t kept = 0;
    for (size_t i = 0; i < probe_count; i++) {
        if (kept && probes[kept - 1].offset == probes[i].offset) {
            char *joined;
            if (asprintf(&joined, "%s\n%s", probes[kept - 1].names, probes[i].names) < 0) fail("asprintf");
            free(probes[kept - 1].names);
            free(probes[i].names);
            probes[kept - 1].names = joined;
        } else {
            probes[kept++] = probes[i];
        }
    }
    probe_count = kept;
}

/* The lowest address the program's own file is mapped at: offsets in a PIE are relative to it. */
static uint64_t load_base(pid_t pid, const char *program) {
    char path[64], line[4096], resolved[4096];
    if (!realpath(program, resolved)) fail(program);
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *maps = fopen(path, "r");
    if (!maps) fail(path);
    uint64_t base = 0;
    while (fgets(line, sizeof line, maps)) {
        line[strcspn(line, "\n")] = 0;
        char *file = strchr(line, '/');
        if (file && strcmp(file, resolved) == 0) { base = strtoull(line, NULL, 16); break; }
    }
    fclose(maps);
    if (!base) { fprintf(stderr, "trace-functions: %s is not mapped in %d\n", resolved, pid); exit(2); }
    return base;
}

static void poke_byte(pid_t pid, uint64_t address, unsigned char byte, unsigned char *previous) {
    uint64_t word_address = address & ~(uint64_t)7;
    errno = 0;
    long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)word_address, NULL);
    if (errno) fail("PTRACE_PEEKTEXT");
    unsigned char *bytes = (unsigned char *)&word;
    if (previous) *previous = bytes[address - word_address];
    bytes[address - word_address] = byte;
    if (ptrace(PTRACE_POKETEXT, pid, (void *)word_address, (void *)word) < 0) fail("PTRACE_POKETEXT");
}

static struct probe *probe_at(uint64_t address) {
    size_t low = 0, high = probe_count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (probes[middle].address < address) low = middle + 1; else high = middle;
    }
    return low < probe_count && probes[low].address == address ? &probes[low] : NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 7 || strcmp(argv[5], "--") != 0) {
        fprintf(stderr, "usage: trace-functions SYMBOLS OUT IDLE_SECONDS STOP_FILE|- -- PROGRAM ARGS...\n");
        return 2;
    }
    read_symbols(argv[1]);
    FILE *out = fopen(argv[2], "w");
    if (!out) fail(argv[2]);
    double idle_seconds = atof(argv[3]);
    const char *stop_file = strcmp(argv[4], "-") == 0 ? NULL : argv[4];
    char **program = argv + 6;

    char socket_path[108];
    snprintf(socket_path, sizeof socket_path, "/tmp/trace-functions-%d.sock", getpid());
    unlink(socket_path);
    int notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    strcpy(address.sun_path, socket_path);
    if (notify < 0 || bind(notify, (struct sockaddr *)&address, sizeof address) < 0) fail("notify socket");
    setenv("NOTIFY_SOCKET", socket_path, 1);

    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        execv(program[0], program);
        _exit(127);
    }
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) { fprintf(stderr, "trace-functions: %s did not start\n", program[0]); return 2; }
    ptrace(PTRACE_SETOPTIONS, child, NULL,
           (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL));
    uint64_t base = load_base(child, program[0]);
    for (size_t i = 0; i < probe_count; i++) {
        probes[i].address = base + probes[i].offset;
        poke_byte(child, probes[i].address, 0xCC, &probes[i].original);
        probes[i].armed = 1;
    }
    fprintf(stderr, "trace-functions: %zu functions armed in %s\n", probe_count, program[0]);
    ptrace(PTRACE_CONT, child, NULL, NULL);

    size_t hits = 0, startup = 0;
    int startup_traced = 0;
    double ready_at = 0, last_check = 0;
    for (;;) {
        if (ready_at && !startup_traced && now() - ready_at >= idle_seconds) {
            startup_traced = 1;
            startup = hits;
            fprintf(out, "#ready\n");
            fflush(out);
            if (!stop_file) break;
            fprintf(stderr, "trace-functions: start-up traced (%zu functions); tracing on until %s exists\n", hits, stop_file);
        }
        if (startup_traced && now() - last_check > 0.2) {
            struct stat st;
            last_check = now();
            if (stat(stop_file, &st) == 0) break;
        }
        int pid = waitpid(-1, &status, __WALL | WNOHANG);
        if (pid < 0) { fprintf(stderr, "trace-functions: the program ended before the trace was done\n"); return 1; }
        if (pid == 0) {
            struct pollfd ready = { .fd = notify, .events = POLLIN };
            if (poll(&ready, 1, 1) > 0) {
                char message[4096];
                ssize_t length = recv(notify, message, sizeof message - 1, 0);
                if (length > 0) {
                    message[length] = 0;
                    if (!ready_at && (strncmp(message, "READY=1", 7) == 0 || strstr(message, "\nREADY=1"))) {
                        ready_at = now();
                        fprintf(stderr, "trace-functions: ready after %zu functions; idling %.0f s\n", hits, idle_seconds);
                    }
                }
            }
            continue;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == child) { fprintf(stderr, "trace-functions: the program ended before the trace was done\n"); return 1; }
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int signal = WSTOPSIG(status);
        int event = status >> 16;
        int forward = 0;
        if (event == PTRACE_EVENT_CLONE) {
            forward = 0;
        } else if (signal == SIGTRAP) {
            struct user_regs_struct registers;
            ptrace(PTRACE_GETREGS, pid, NULL, &registers);
            struct probe *probe = probe_at(registers.rip - 1);
            if (probe) {
                /* Two threads can reach one entry before either trap is handled: the second
                 * finds it disarmed and only needs its instruction pointer moved back. */
                if (probe->armed) {
                    poke_byte(pid, probe->address, probe->original, NULL);
                    probe->armed = 0;
                    fprintf(out, "%s\n", probe->names);
                    hits++;
                }
                registers.rip = probe->address;
                ptrace(PTRACE_SETREGS, pid, NULL, &registers);
            } else {
                forward = SIGTRAP;
            }
        } else if (signal == SIGSTOP) {
            forward = 0; /* a new thread's first stop */
        } else {
            forward = signal;
        }
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)forward);
    }
    fclose(out);
    kill(child, SIGKILL);
    unlink(socket_path);
    fprintf(stderr, "trace-functions: %zu of %zu functions ran by ready + %.0f s idle, %zu more after\n",
            startup, probe_count, idle_seconds, hits - startup);
    return 0;
}
