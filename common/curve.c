/*  CURVE keys in zcert files; see curve.h. */
#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static const char s_no_key[] = "0000000000000000000000000000000000000000";

/*  zcert_load reads NAME_secret when it exists and NAME otherwise, so that
    both the public and the secret file's name work. */
zcert_t *curve_load_secret(const char *path, char *err, size_t err_len)
{
    if (!zmq_has("curve")) {
        snprintf(err, err_len, "this libzmq has no CURVE support");
        return NULL;
    }
    zcert_t *cert = zcert_load(path);
    if (!cert) {
        snprintf(err, err_len, "CURVE certificate %s: missing or not a zcert file", path);
        return NULL;
    }
    if (strcmp(zcert_secret_txt(cert), s_no_key) == 0) {
        snprintf(err, err_len, "CURVE certificate %s: no secret key (give the NAME_secret file)",
                 path);
        curve_cert_destroy(&cert);
        return NULL;
    }
    return cert;
}

void curve_cert_destroy(zcert_t **cert_p)
{
    if (!cert_p || !*cert_p)
        return;
    /* czmq frees without wiping: the key bytes live inside the zcert */
    explicit_bzero((void *) (uintptr_t) zcert_secret_key(*cert_p), 32);
    explicit_bzero((void *) (uintptr_t) zcert_secret_txt(*cert_p), 40);
    zcert_destroy(cert_p);
}

static bool is_z85_key(const char *text)
{
    if (strlen(text) != 40)
        return false;
    uint8_t raw[32];
    return zmq_z85_decode(raw, text) != NULL;
}

int curve_server_key(const char *text, char out[CURVE_KEY_TXT], char *err, size_t err_len)
{
    if (is_z85_key(text)) {
        memcpy(out, text, CURVE_KEY_TXT);
        return 0;
    }
    zcert_t *cert = zcert_load(text);
    if (!cert) {
        snprintf(err, err_len, "CURVE server key '%s': neither 40 Z85 characters nor a "
                               "certificate file", text);
        return -1;
    }
    snprintf(out, CURVE_KEY_TXT, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

int curve_client_apply(void *zmq_socket, const zcert_t *cert, const char *server_key, char *err,
                       size_t err_len)
{
    const char *pub = zcert_public_txt((zcert_t *) cert);
    const char *sec = zcert_secret_txt((zcert_t *) cert);
    if (zmq_setsockopt(zmq_socket, ZMQ_CURVE_SERVERKEY, server_key, 40) != 0
        || zmq_setsockopt(zmq_socket, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0
        || zmq_setsockopt(zmq_socket, ZMQ_CURVE_SECRETKEY, sec, 40) != 0) {
        snprintf(err, err_len, "cannot set the CURVE keys: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int curve_client_setup(void *zmq_socket, const char *cert_path, const char *server_key_text,
                       char *err, size_t err_len)
{
    char server_key[CURVE_KEY_TXT];
    if (curve_server_key(server_key_text, server_key, err, err_len) != 0)
        return -1;
    zcert_t *cert = curve_load_secret(cert_path, err, err_len);
    if (!cert)
        return -1;
    int rc = curve_client_apply(zmq_socket, cert, server_key, err, err_len);
    curve_cert_destroy(&cert);
    return rc;
}

int curve_keygen(const char *path, char *err, size_t err_len)
{
    char secret_path[4096];
    if ((size_t) snprintf(secret_path, sizeof secret_path, "%s_secret", path) >= sizeof secret_path) {
        snprintf(err, err_len, "%s: path too long", path);
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0 || lstat(secret_path, &st) == 0) {
        snprintf(err, err_len, "%s or %s already exists; not overwritten", path, secret_path);
        return -1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(err, err_len, "cannot make a key pair");
        return -1;
    }
    /* the secret file is created 0600 by this process, never wider */
    mode_t before = umask(0077);
    int rc = zcert_save(cert, path);
    umask(before);
    curve_cert_destroy(&cert);
    if (rc != 0) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    /* the public half is for sharing */
    chmod(path, 0644);
    return 0;
}

bool curve_endpoint_exposed(const char *endpoint)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    /* a source address (tcp://SRC;DST) does not matter here: DST is bound */
    const char *semi = strchr(host, ';');
    if (semi)
        host = semi + 1;
    const char *end = host[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
    if (!end)
        return true;
    size_t len = (size_t) (end - host) + (host[0] == '[' ? 1 : 0);
    char name[256];
    if (len >= sizeof name)
        return true;
    memcpy(name, host, len);
    name[len] = '\0';
    if (strcmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0
        || strcmp(name, "::1") == 0)
        return false;
    unsigned a, b, c, d;
    char extra;
    if (sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256
        && c < 256 && d < 256)
        return false;
    return true;
}
