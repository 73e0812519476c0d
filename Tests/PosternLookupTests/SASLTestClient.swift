import CSASL
import Glibc
import XCTest

/// A real Cyrus SASL client for the server tests: the other end of every
/// exchange is libsasl2's own client code with its own plugins, so the
/// server is tested against what a mail client linking Cyrus would send.
final class SASLTestClient {
    private static let initialized: Int32 = sasl_client_init(nil)

    private let user: UnsafeMutablePointer<CChar>
    private let secret: UnsafeMutableRawPointer
    private var callbacks: UnsafeMutablePointer<sasl_callback_t>
    private var conn: OpaquePointer?

    init(user: String, password: String, hostname: String) throws {
        XCTAssertEqual(Self.initialized, SASL_OK)
        self.user = strdup(user)
        let bytes = Array(password.utf8)
        secret = UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<sasl_secret_t>.size + bytes.count + 1, alignment: 8)
        secret.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<sasl_secret_t>.size + bytes.count + 1)
        secret.assumingMemoryBound(to: sasl_secret_t.self).pointee.len = UInt(bytes.count)
        let data = secret + MemoryLayout<sasl_secret_t>.offset(of: \sasl_secret_t.data)!
        data.copyMemory(from: bytes, byteCount: bytes.count)
        callbacks = .allocate(capacity: 4)
        let context = Unmanaged.passUnretained(self).toOpaque()
        callbacks[0] = sasl_callback_t(
            id: UInt(SASL_CB_USER), proc: unsafeBitCast(emptyName, to: (@convention(c) () -> Int32).self),
            context: context)
        callbacks[1] = sasl_callback_t(
            id: UInt(SASL_CB_AUTHNAME), proc: unsafeBitCast(authName, to: (@convention(c) () -> Int32).self),
            context: context)
        callbacks[2] = sasl_callback_t(
            id: UInt(SASL_CB_PASS), proc: unsafeBitCast(passCallback, to: (@convention(c) () -> Int32).self),
            context: context)
        callbacks[3] = sasl_callback_t(id: UInt(SASL_CB_LIST_END), proc: nil, context: nil)
        let code = sasl_client_new("smtp", hostname, nil, nil, callbacks, 0, &conn)
        guard code == SASL_OK else { throw ClientError(code: code) }
    }

    deinit {
        if conn != nil { sasl_dispose(&conn) }
        callbacks.deallocate()
        secret.deallocate()
        free(user)
    }

    struct ClientError: Error { var code: Int32 }

    /// The initial response (nil when the mechanism sends none first).
    func start(_ mechanism: String) throws -> [UInt8]? {
        var output: UnsafePointer<CChar>?
        var length: UInt32 = 0
        var used: UnsafePointer<CChar>?
        let code = sasl_client_start(conn, mechanism, nil, &output, &length, &used)
        guard code == SASL_OK || code == SASL_CONTINUE else { throw ClientError(code: code) }
        XCTAssertEqual(used.map { String(cString: $0) }, mechanism)
        guard let output else { return nil }
        return Array(UnsafeRawBufferPointer(start: output, count: Int(length)))
    }

    func step(_ challenge: [UInt8]) throws -> [UInt8] {
        var output: UnsafePointer<CChar>?
        var length: UInt32 = 0
        let code = challenge.withUnsafeBytes { raw in
            sasl_client_step(
                conn, raw.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(raw.count), nil, &output, &length)
        }
        guard code == SASL_OK || code == SASL_CONTINUE else { throw ClientError(code: code) }
        guard let output else { return [] }
        return Array(UnsafeRawBufferPointer(start: output, count: Int(length)))
    }

    fileprivate static func from(_ context: UnsafeMutableRawPointer?) -> SASLTestClient? {
        context.map { Unmanaged<SASLTestClient>.fromOpaque($0).takeUnretainedValue() }
    }

    fileprivate var userName: UnsafePointer<CChar> { UnsafePointer(user) }
    fileprivate var secretPointer: UnsafeMutablePointer<sasl_secret_t> {
        secret.assumingMemoryBound(to: sasl_secret_t.self)
    }
}

private let noAuthorizationIdentity: UnsafeMutablePointer<CChar> = strdup("")

private let emptyName:
    @convention(c) (
        UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>?, UnsafeMutablePointer<UInt32>?
    ) ->
        Int32 = { _, _, result, length in
            // No authorization identity: act as the authentication identity.
            result?.pointee = UnsafePointer(noAuthorizationIdentity)
            length?.pointee = 0
            return SASL_OK
        }

private let authName:
    @convention(c) (
        UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>?, UnsafeMutablePointer<UInt32>?
    ) ->
        Int32 = { context, _, result, length in
            guard let client = SASLTestClient.from(context) else { return SASL_FAIL }
            result?.pointee = client.userName
            length?.pointee = UInt32(strlen(client.userName))
            return SASL_OK
        }

private let passCallback:
    @convention(c) (
        OpaquePointer?, UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UnsafeMutablePointer<sasl_secret_t>?>?
    ) ->
        Int32 = { _, context, _, result in
            guard let client = SASLTestClient.from(context) else { return SASL_FAIL }
            result?.pointee = client.secretPointer
            return SASL_OK
        }
