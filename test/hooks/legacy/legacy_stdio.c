/* A legacy C program, as found in the wild: system(), popen() + fgets() and
 * fdopen() on a socket read with fgets(). It knows nothing of grove. The
 * hooks test runs it plainly and under grove-run and compares the output,
 * and links the same source (main renamed by the build) to run it inside a
 * greenlet while other greenlets keep running. Keep the output
 * deterministic: the test compares it byte for byte. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void* feed(void* arg) {
    const int fd = *(int*)arg;
    const char* lines[] = {"alpha\n", "beta\n", "gamma\n"};
    for (int i = 0; i < 3; ++i) {
        usleep(20000);
        if (write(fd, lines[i], strlen(lines[i])) < 0) break;
    }
    close(fd);
    return NULL;
}

int main(void) {
    char line[128];
    int status, sum = 0, sv[2];
    FILE* in;
    pthread_t feeder;

    fflush(stdout);
    status = system("echo system says hi; exit 3");
    printf("system: exit %d\n", WEXITSTATUS(status));

    in = popen("sleep 0.05; seq 1 5", "r");
    if (!in) return 1;
    while (fgets(line, sizeof line, in)) {
        printf("popen: %s", line);
        sum += atoi(line);
    }
    status = pclose(in);
    printf("popen: sum %d, pclose exit %d\n", sum, WEXITSTATUS(status));

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
    if (pthread_create(&feeder, NULL, feed, &sv[1]) != 0) return 1;
    in = fdopen(sv[0], "r");
    if (!in) return 1;
    while (fgets(line, sizeof line, in)) printf("socket: %s", line);
    fclose(in);
    pthread_join(feeder, NULL);
    printf("done\n");
    fflush(stdout);
    return 0;
}
