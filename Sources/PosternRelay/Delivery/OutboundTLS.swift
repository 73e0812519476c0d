import Logging
import PosternCore

/// Outbound TLS, set up before the chroot. Until the relay's TLS layer
/// exists this offers none: the state machine then treats every STARTTLS
/// as failed, which `may` survives in the clear and `encrypt`/`verify`
/// defer.
enum OutboundTLS {
    static func prepare(config: PosternConfig, logger: Logger) -> TLSStarter? {
        logger.warning("outbound TLS is not available in this build")
        return nil
    }
}
