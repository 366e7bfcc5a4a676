/*
 * bench_spawn.c - wall-clock time of whole processes, from spawn to exit.
 *
 *   bench_spawn [-n RUNS] [-c OK_CODE] COMMAND [ARG...]
 *
 * Runs COMMAND RUNS times (default 1) one after the other with posix_spawn
 * (stdout and stderr to /dev/null) and prints each run's seconds from just
 * before posix_spawn to the return of waitpid, one per line.  Exits 1 if a
 * run cannot be started or exits with a status other than OK_CODE (default 0).
 *
 * The bench scripts time both sides' whole processes through it (ckpt's tool
 * and `python3 -c "import torch; torch.load(...)"`), so neither side pays the
 * overhead of spawning from a big Python driver (about 3-4 ms per spawn on
 * the project's VM, which is a third of ckpt's whole process).
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"

extern char **environ;

int main(int argc, char **argv) {
    long runs = 1, ok_code = 0;
    int a = 1;
    while (a + 1 < argc && argv[a][0] == '-') {
        char *end;
        if (!strcmp(argv[a], "-n")) runs = strtol(argv[a + 1], &end, 10);
        else if (!strcmp(argv[a], "-c")) ok_code = strtol(argv[a + 1], &end, 10);
        else break;
        if (*end) break;
        a += 2;
    }
    if (a >= argc || argv[a][0] == '-' || runs < 1 || runs > 100000) {
        fprintf(stderr, "usage: bench_spawn [-n RUNS] [-c OK_CODE] COMMAND [ARG...]\n");
        return 2;
    }
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0) {
        fprintf(stderr, "bench_spawn: cannot set up the child's output\n");
        return 1;
    }
    int rc = 0;
    for (long r = 0; r < runs && rc == 0; r++) {
        pid_t pid;
        int status;
        double t0 = bench_now();
        int e = posix_spawnp(&pid, argv[a], &fa, NULL, argv + a, environ);
        if (e != 0) {
            fprintf(stderr, "bench_spawn: cannot start %s: %s\n", argv[a], strerror(e));
            rc = 1;
            break;
        }
        if (waitpid(pid, &status, 0) != pid) {
            perror("bench_spawn: waitpid");
            rc = 1;
            break;
        }
        double t = bench_now() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != ok_code) {
            fprintf(stderr, "bench_spawn: %s exited with status %d\n", argv[a],
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            rc = 1;
            break;
        }
        printf("%.6f\n", t);
    }
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}
