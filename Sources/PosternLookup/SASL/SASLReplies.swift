import CSASL
import MailVocabulary
import PosternIPC

/// The SMTP replies an AUTH exchange can end with (RFC 4954 §6). A wrong
/// password and an unknown user get the same text, so the answer never
/// tells a guesser which of the two it got wrong.
enum SASLReplies {
    static let invalidCredentials = SMTPReply(
        code: 535, enhanced: "5.7.8", text: "Authentication credentials invalid")
    static let unknownMechanism = SMTPReply(code: 504, enhanced: "5.5.4", text: "Unrecognized authentication type")
    static let temporaryFailure = SMTPReply(code: 454, enhanced: "4.7.0", text: "Temporary authentication failure")
    static let cannotDecode = SMTPReply(code: 501, enhanced: "5.5.2", text: "Cannot decode response")
    static let unknownExchange = SMTPReply(code: 501, enhanced: "5.5.2", text: "No authentication in progress")

    /// The reply for a Cyrus result code that ended an exchange.
    static func reply(for code: Int32) -> SMTPReply {
        switch code {
        case SASL_BADAUTH, SASL_NOUSER, SASL_NOVERIFY, SASL_NOAUTHZ, SASL_EXPIRED, SASL_DISABLED,
            SASL_NOUSERPASS, SASL_TRANS:
            return invalidCredentials
        case SASL_NOMECH, SASL_TOOWEAK, SASL_ENCRYPT:
            return unknownMechanism
        case SASL_BADPROT, SASL_BADPARAM:
            return cannotDecode
        default:
            // SASL_FAIL, SASL_NOMEM, SASL_UNAVAIL (saslauthd down), SASL_TRYAGAIN...
            return temporaryFailure
        }
    }
}
