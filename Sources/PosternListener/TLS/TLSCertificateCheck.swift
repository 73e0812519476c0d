import COpenSSL
import Glibc
import OpenSSLSupport

/// The certificate and key checks `postern check` runs, with the time given
/// so that tests (and "will this still work next month?") can choose it.
public enum TLSCertificateCheck {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public enum Severity: String, Sendable { case error, warning }
        public var severity: Severity
        public var message: String
        public var description: String { "\(severity.rawValue): \(message)" }
    }

    /// A certificate that expires within this many days is warned about.
    public static let expiryWarningDays = 30

    /// The problems as lines, `error: …` or `warning: …`; empty when all is well.
    public static func check(chain: String, key: String, now: time_t) -> [String] {
        problems(chain: chain, key: key, now: now).map(\.description)
    }

    public static func problems(chain: String, key: String, now: time_t) -> [Problem] {
        OpenSSLErrors.clear()
        defer { OpenSSLErrors.clear() }
        var problems: [Problem] = []
        let certificates = readCertificates(chain, &problems)
        defer { certificates.forEach { X509_free($0) } }
        for (index, certificate) in certificates.enumerated() {
            checkValidity(certificate, index: index, now: now, &problems)
            if index > 0 && X509_check_issued(certificate, certificates[index - 1]) != X509_V_OK {
                problems.append(
                    Problem(
                        severity: .warning,
                        message: "\(chain): certificate \(index + 1) (\(name(certificate))) did not issue "
                            + "certificate \(index) (\(name(certificates[index - 1]))): chain out of order"))
            }
        }
        checkKey(key, against: certificates.first, chain: chain, &problems)
        return problems
    }

    private static func readCertificates(_ path: String, _ problems: inout [Problem]) -> [OpaquePointer] {
        do throws(TLSError) {
            try TLSContext.checkReadable(path)
        } catch {
            problems.append(Problem(severity: .error, message: "certificate chain: \(error)"))
            return []
        }
        guard let bio = BIO_new_file(path, "r") else {
            problems.append(
                Problem(severity: .error, message: "certificate chain \(path): \(OpenSSLErrors.drain())"))
            return []
        }
        defer { BIO_free(bio) }
        var certificates: [OpaquePointer] = []
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
        // The read that ends the loop queues "no start line": expected at the end.
        let trailing = OpenSSLErrors.drain(fallback: "")
        if certificates.isEmpty {
            problems.append(
                Problem(
                    severity: .error,
                    message: "certificate chain \(path): no PEM certificate"
                        + (trailing.isEmpty ? "" : " (\(trailing))")))
        }
        return certificates
    }

    private static func checkValidity(
        _ certificate: OpaquePointer, index: Int, now: time_t, _ problems: inout [Problem]
    ) {
        let what = "certificate \(index + 1) (\(name(certificate)))"
        guard let notBefore = X509_get0_notBefore(certificate), let notAfter = X509_get0_notAfter(certificate) else {
            problems.append(Problem(severity: .error, message: "\(what): no validity dates"))
            return
        }
        var t = now
        let afterVsNow = X509_cmp_time(notAfter, &t)
        let beforeVsNow = X509_cmp_time(notBefore, &t)
        var soon = now + time_t(expiryWarningDays * 86400)
        let afterVsSoon = X509_cmp_time(notAfter, &soon)
        if afterVsNow == 0 || beforeVsNow == 0 || afterVsSoon == 0 {
            problems.append(Problem(severity: .error, message: "\(what): unreadable validity dates"))
        } else if afterVsNow < 0 {
            problems.append(Problem(severity: .error, message: "\(what) expired on \(date(notAfter))"))
        } else if beforeVsNow > 0 {
            problems.append(Problem(severity: .error, message: "\(what) is not valid before \(date(notBefore))"))
        } else if afterVsSoon < 0 {
            let days = seconds(notAfter).map { " (in \(max(0, ($0 - Int(now)) / 86400)) days)" } ?? ""
            problems.append(Problem(severity: .warning, message: "\(what) expires on \(date(notAfter))\(days)"))
        }
    }

    private static func checkKey(
        _ path: String, against certificate: OpaquePointer?, chain: String, _ problems: inout [Problem]
    ) {
        do throws(TLSError) {
            try TLSContext.checkReadable(path)
            let key = try TLSContext.loadPrivateKey(path)
            defer { EVP_PKEY_free(key) }
            guard let certificate else { return }
            if X509_check_private_key(certificate, key) != 1 {
                let detail = OpenSSLErrors.drain(fallback: "")
                problems.append(
                    Problem(
                        severity: .error,
                        message: "private key \(path) does not match certificate \(name(certificate)) in \(chain)"
                            + (detail.isEmpty ? "" : " (\(detail))")))
            }
        } catch {
            problems.append(Problem(severity: .error, message: "private key: \(error)"))
        }
    }

    static func name(_ certificate: OpaquePointer) -> String {
        TLSSession.subject(of: certificate) ?? "no subject"
    }

    /// "2000-01-01 00:00:00 UTC".
    static func date(_ time: UnsafePointer<ASN1_TIME>) -> String {
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return "an unreadable date" }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }

    static func seconds(_ time: UnsafePointer<ASN1_TIME>) -> Int? {
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Int(timegm(&parts))
    }
}
