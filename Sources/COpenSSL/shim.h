#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>

/*
 * OpenSSL spells many of its settings as function-like macros or as
 * expressions Swift's importer cannot read (SSL_OP_BIT(n)). These inline
 * wrappers give them a callable, typed name. Nothing here holds state.
 */

static inline uint64_t postern_ssl_op_server_defaults(void) {
    return SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION
        | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE
        | SSL_OP_SINGLE_DH_USE;
}

static inline int postern_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline long postern_ssl_ctx_set_mode_release_buffers(SSL_CTX *ctx) {
    return SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

static inline long postern_ssl_ctx_set_session_cache_server(SSL_CTX *ctx) {
    return SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
}

/* An empty memory BIO reports "retry" instead of EOF: the TLS engine then
   says WANT_READ, which is what a socket that has no bytes yet means. */
static inline long postern_bio_set_mem_eof_retry(BIO *bio) {
    return BIO_set_mem_eof_return(bio, -1);
}

static inline const char *postern_tls_default_ciphersuites(void) {
    return TLS_DEFAULT_CIPHERSUITES;
}

static inline int postern_tls1_2_version(void) { return TLS1_2_VERSION; }
static inline int postern_tls1_3_version(void) { return TLS1_3_VERSION; }

/* A passphrase callback that refuses: a daemon must never prompt on a
   terminal for a key's passphrase. */
static inline int postern_no_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return 0;
}

static inline pem_password_cb *postern_no_passphrase_callback(void) {
    return postern_no_passphrase;
}

/* Asking for a client certificate does not require one, and an unverifiable
   one is recorded, not refused (opportunistic, like Postfix's ask_ccert). */
static inline int postern_accept_any_client_certificate(int preverify_ok, X509_STORE_CTX *ctx) {
    (void)preverify_ok; (void)ctx;
    return 1;
}

static inline void postern_ssl_ctx_request_client_certificate(SSL_CTX *ctx) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, postern_accept_any_client_certificate);
}

static inline unsigned long postern_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }
