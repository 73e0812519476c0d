import COpenSSL

/// An `SSL` whose network side is a pair of memory BIOs, as both TLS
/// layers drive OpenSSL: the caller moves ciphertext between the BIOs and
/// its socket itself (NIO for the listener, poll() for the relay).
public enum MemoryBIOConnection {
    /// The `SSL` (which owns both BIOs: `SSL_free` frees them), the BIO
    /// OpenSSL reads the peer's bytes from, and the one it writes to; nil
    /// when OpenSSL could not allocate them (`OpenSSLErrors.drain()` says
    /// why).
    public static func make(_ context: OpaquePointer) -> (
        ssl: OpaquePointer, networkIn: OpaquePointer, networkOut: OpaquePointer
    )? {
        OpenSSLErrors.clear()
        guard let ssl = SSL_new(context) else { return nil }
        guard let method = BIO_s_mem(), let input = BIO_new(method) else {
            SSL_free(ssl)
            return nil
        }
        guard let output = BIO_new(method) else {
            BIO_free(input)
            SSL_free(ssl)
            return nil
        }
        // An empty input BIO means "no bytes yet", not the end of the stream.
        _ = postern_bio_set_mem_eof_retry(input)
        _ = postern_bio_set_mem_eof_retry(output)
        SSL_set_bio(ssl, input, output)
        return (ssl, input, output)
    }
}
