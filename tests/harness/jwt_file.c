/*  jwt_file: reading, writing and signing with a test JWT secret. */
#include "jwt_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int jwt_file_read(const char *path, uint8_t key[32], char *err, size_t err_len)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, err_len, "cannot open JWT secret %s: %s", path, strerror(errno));
        return -1;
    }
    char text[256];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *start = text;
    while (is_space(*start))
        start++;
    char *end = start + strlen(start);
    while (end > start && is_space(end[-1]))
        *--end = '\0';
    if (hex_decode_fixed(start, key, 32) < 0) {
        snprintf(err, err_len, "JWT secret %s is not 32 bytes of hex", path);
        return -1;
    }
    return 0;
}

int jwt_file_write(const char *path, const uint8_t key[32])
{
    char text[2 + 64 + 2];
    hex_encode(key, 32, text); /* "0x" + 64 digits */
    strcat(text, "\n");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            errno = e ? e : EIO;
            return -1;
        }
        done += (size_t) w;
    }
    return close(fd);
}

void jwt_file_key_fill(uint8_t key[32], uint8_t fill)
{
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t) (fill + i);
}

int jwt_file_write_fill(const char *path, uint8_t fill)
{
    uint8_t key[32];
    jwt_file_key_fill(key, fill);
    return jwt_file_write(path, key);
}

char *jwt_file_token(const uint8_t key[32], long iat)
{
    jwt_t *jwt = NULL;
    char *token = NULL;
    if (jwt_new(&jwt) == 0 && jwt_set_alg(jwt, JWT_ALG_HS256, key, 32) == 0
        && jwt_add_grant_int(jwt, "iat", iat) == 0)
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    return token;
}
