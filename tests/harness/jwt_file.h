/*  jwt_file: the Engine API JWT secret as the tests keep it: one file of 64
    hex digits, read the way execution clients read it (optional 0x, any
    case, surrounding whitespace), written 0600, and the HS256 bearer
    token signed with it. Shared by the harness, the stub execution client
    and the suites that start an actor, so that they agree on one format. */
#ifndef ALYS_TEST_JWT_FILE_H
#define ALYS_TEST_JWT_FILE_H

#include <stddef.h>
#include <stdint.h>

/*  Reads the secret at path into key. Returns 0, or -1 with a message
    naming the file in err. */
int jwt_file_read(const char *path, uint8_t key[32], char *err, size_t err_len);

/*  Writes "0x" + 64 hex digits + newline at path, mode 0600 (the actor
    warns about anything wider). Returns 0 or -1 (errno set). */
int jwt_file_write(const char *path, const uint8_t key[32]);

/*  The secret whose bytes are fill, fill + 1, ... (wrapping): a distinct,
    reproducible secret per test. */
void jwt_file_key_fill(uint8_t key[32], uint8_t fill);

/*  jwt_file_write of the secret jwt_file_key_fill(fill). */
int jwt_file_write_fill(const char *path, uint8_t fill);

/*  An HS256 token with the claim iat, signed with key: the caller frees it.
    NULL on failure. */
char *jwt_file_token(const uint8_t key[32], long iat);

#endif
