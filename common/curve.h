/*  curve: CURVE (CurveZMQ) keys for the engine's sockets, in czmq's zcert
    file format (zcert_save: a public file NAME and a secret file
    NAME_secret holding both keys).

    The actor is a CURVE server: it holds a secret certificate and accepts
    only clients whose public certificate is in an allow directory (checked
    by czmq's zauth). A client (the CLI, the supervisor's health pings, the
    chain and bridge actors) holds its own secret certificate and knows the
    actor's public key. */
#ifndef ALYS_CURVE_H
#define ALYS_CURVE_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#define CURVE_KEY_TXT 41 /* 40 Z85 characters and a NUL */

/*  Loads a certificate that has its secret key (NAME or NAME_secret).
    Returns NULL with err naming the file when it is missing, malformed or
    holds only a public key. */
zcert_t *curve_load_secret(const char *path, char *err, size_t err_len);

/*  Wipes the secret key held in cert, then destroys it. */
void curve_cert_destroy(zcert_t **cert_p);

/*  The server's public key from `text`: 40 Z85 characters, or the path of a
    certificate file (public or secret). Returns 0, or -1 with err. */
int curve_server_key(const char *text, char out[CURVE_KEY_TXT], char *err, size_t err_len);

/*  Makes a raw libzmq socket a CURVE client of the server with public key
    `server_key` (40 Z85 characters), with the keys of `cert`. Must be called
    before connect. Returns 0, or -1 with err. */
int curve_client_apply(void *zmq_socket, const zcert_t *cert, const char *server_key, char *err,
                       size_t err_len);

/*  Loads the client certificate at cert_path and the server key (text as in
    curve_server_key), and applies both to the socket. Returns 0, or -1. */
int curve_client_setup(void *zmq_socket, const char *cert_path, const char *server_key_text,
                       char *err, size_t err_len);

/*  Writes a new key pair as PATH (public) and PATH_secret (both keys, mode
    0600). Refuses to overwrite either file. Returns 0, or -1 with err. */
int curve_keygen(const char *path, char *err, size_t err_len);

/*  True for a tcp:// endpoint whose host is not a loopback address (a
    wildcard, an interface name or any other address counts as exposed). */
bool curve_endpoint_exposed(const char *endpoint);

#endif
