/*  One actor per state dir and per ipc endpoint; see instance.h. */
#include "instance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct instance {
    int lock_fd;
    char *socket_path;  /* the ipc file this process bound, or NULL */
    dev_t socket_dev;
    ino_t socket_ino;
    struct timespec socket_ctime; /* an inode number can be reused at once */
};

instance_t *instance_new(void)
{
    instance_t *self = calloc(1, sizeof *self);
    if (self)
        self->lock_fd = -1;
    return self;
}

void instance_destroy(instance_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    instance_t *self = *self_p;
    if (self->socket_path) {
        /* only our own file: after a takeover the path may be another's */
        struct stat st;
        if (lstat(self->socket_path, &st) == 0 && S_ISSOCK(st.st_mode)
            && st.st_dev == self->socket_dev && st.st_ino == self->socket_ino
            && st.st_ctim.tv_sec == self->socket_ctime.tv_sec
            && st.st_ctim.tv_nsec == self->socket_ctime.tv_nsec)
            unlink(self->socket_path);
        free(self->socket_path);
    }
    if (self->lock_fd >= 0)
        close(self->lock_fd); /* releases the flock */
    free(self);
    *self_p = NULL;
}

const char *instance_ipc_path(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) != 0)
        return NULL;
    const char *path = endpoint + 6;
    if (*path == '@' || *path == '\0')
        return NULL;
    return path;
}

int instance_lock_dir(instance_t *self, const char *dir, char *err, size_t err_len)
{
    char path[4096];
    if ((size_t) snprintf(path, sizeof path, "%s/lock", dir) >= sizeof path) {
        snprintf(err, err_len, "--state-dir %s: path too long", dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        char text[32] = "";
        ssize_t n = pread(fd, text, sizeof text - 1, 0);
        close(fd);
        if (saved != EWOULDBLOCK) {
            snprintf(err, err_len, "cannot lock %s: %s", path, strerror(saved));
            return -1;
        }
        long pid = n > 0 ? strtol(text, NULL, 10) : 0;
        if (pid > 0)
            snprintf(err, err_len, "--state-dir %s is in use by another alys-engine (pid %ld)",
                     dir, pid);
        else
            snprintf(err, err_len, "--state-dir %s is in use by another alys-engine", dir);
        return -1;
    }
    char text[32];
    int len = snprintf(text, sizeof text, "%ld\n", (long) getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t) len, 0) != len) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    self->lock_fd = fd;
    return 0;
}

int instance_claim_endpoint(instance_t *self, const char *endpoint, char *err, size_t err_len)
{
    (void) self;
    const char *path = instance_ipc_path(endpoint);
    if (!path)
        return 0;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        snprintf(err, err_len, "cannot bind %s: the path is longer than %zu bytes", endpoint,
                 sizeof addr.sun_path - 1);
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, err_len, "cannot bind %s: %s", endpoint, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, err_len, "cannot bind %s: %s exists and is not a socket", endpoint, path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return -1;
    }
    int rc = connect(fd, (struct sockaddr *) &addr, sizeof addr);
    int saved = errno;
    close(fd);
    if (rc == 0 || saved == EAGAIN) {
        /* EAGAIN: a listener whose backlog is full is a live listener */
        snprintf(err, err_len, "cannot bind %s: another process is serving on it "
                               "(a second actor on the same endpoint is refused)", endpoint);
        return -1;
    }
    if (saved != ECONNREFUSED) {
        snprintf(err, err_len, "cannot bind %s: probing %s: %s", endpoint, path, strerror(saved));
        return -1;
    }
    /* nobody listens: the file of an actor that died */
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, err_len, "cannot remove the stale socket %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int instance_bound(instance_t *self, const char *endpoint, mode_t mode, char *err, size_t err_len)
{
    const char *path = instance_ipc_path(endpoint);
    if (!path)
        return 0;
    struct stat st;
    if (chmod(path, mode) != 0 || lstat(path, &st) != 0) {
        snprintf(err, err_len, "cannot set the mode of %s: %s", path, strerror(errno));
        return -1;
    }
    free(self->socket_path);
    self->socket_path = strdup(path);
    if (!self->socket_path) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    self->socket_dev = st.st_dev;
    self->socket_ino = st.st_ino;
    self->socket_ctime = st.st_ctim;
    return 0;
}
