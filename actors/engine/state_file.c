#include "state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"

int state_file_save(const char *dir, const fork_choice_t *fc)
{
    char path[4096], tmp[4096], h[67], s[67], f[67];
    snprintf(path, sizeof path, "%s/forkchoice", dir);
    snprintf(tmp, sizeof tmp, "%s/.forkchoice.tmp", dir);
    char text[512];
    int n = snprintf(text, sizeof text,
                     "# alys-engine fork choice; replaced atomically on every change\n"
                     "head=%s\nsafe=%s\nfinalized=%s\nfinalized_number=%llu\n",
                     fc->has_head ? hex_encode(fc->head, 32, h) : "none",
                     fc->has_safe ? hex_encode(fc->safe, 32, s) : "none",
                     fc->has_finalized ? hex_encode(fc->finalized, 32, f) : "none",
                     (unsigned long long) fc->finalized_number);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write(fd, text, (size_t) n) != n || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int read_hash(const char *value, bool *has, uint8_t out[32])
{
    if (strcmp(value, "none") == 0) {
        *has = false;
        memset(out, 0, 32);
        return 0;
    }
    *has = true;
    return hex_decode_fixed(value, out, 32);
}

int state_file_read(FILE *f, fork_choice_t *fc)
{
    memset(fc, 0, sizeof *fc);
    char line[256];
    int seen = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = -1;
            break;
        }
        *eq = '\0';
        const char *v = eq + 1;
        /* unknown keys are skipped (a later version may add some); a key
           given twice has no single meaning */
        int bit = strcmp(line, "head") == 0               ? 1
                  : strcmp(line, "safe") == 0             ? 2
                  : strcmp(line, "finalized") == 0        ? 4
                  : strcmp(line, "finalized_number") == 0 ? 8
                                                          : 0;
        if (!bit)
            continue;
        if (seen & bit) {
            rc = -1;
            break;
        }
        seen |= bit;
        if (bit == 1)
            rc = read_hash(v, &fc->has_head, fc->head);
        else if (bit == 2)
            rc = read_hash(v, &fc->has_safe, fc->safe);
        else if (bit == 4)
            rc = read_hash(v, &fc->has_finalized, fc->finalized);
        else
            rc = parse_u64(v, &fc->finalized_number) ? 0 : -1;
    }
    if (rc != 0 || seen != 15) {
        memset(fc, 0, sizeof *fc);
        return -1;
    }
    fc->known = false;
    return 0;
}

int state_file_load(const char *dir, fork_choice_t *fc, char *err, size_t err_len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/forkchoice", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = state_file_read(f, fc);
    fclose(f);
    if (rc != 0) {
        snprintf(err, err_len, "%s is malformed; ignoring it", path);
        return -1;
    }
    return 1;
}
