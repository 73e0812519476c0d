import Glibc
import PosternCore
import XCTest

@testable import PosternIPC

final class FrameCodecTests: XCTestCase {
    private let id = QueueID.generate()

    private var samples: [IPCMessage] {
        [
            .configure(text: "MyHostname = a.test\nListen = 127.0.0.1:25\n"),
            .attachPeer(.queue),
            .listenSocket(address: "127.0.0.1:25"),
            .userDatabase,
            .reload(text: "x = y\n"),
            .shutdown,
            .ready(.listener),
            .peerViolation(.listener, reason: "bad frame"),
            .checkRecipient(address: "alice@example.test", client: ClientContext(address: "127.0.0.1")),
            .checkClient(ClientContext(address: "192.0.2.1", hostname: "client.example", authenticatedUser: "")),
            .clientVerdict(
                ClientVerdict(
                    action: .reject, status: SMTPReply(code: 554, enhanced: "5.7.1", text: "Access denied"),
                    mayRelay: false, hostname: "")),
            .checkSender(address: "", client: ClientContext(address: "::1", authenticatedUser: "alice")),
            .accepted,
            .discarded,
            .recipientRemote(address: "bob@example.org", domain: "example.org"),
            .recipientAccepted(localUser: "alice"),
            .authMechanisms,
            .mechanisms(["PLAIN", "LOGIN", "SCRAM-SHA-256"]),
            .authStart(
                AuthStart(
                    exchange: 7, mechanism: "PLAIN", initialResponse: [0, 0x61, 0, 0x70, 0x0D, 0x0A],
                    client: ClientContext(address: "127.0.0.1"), tls: true)),
            .authStart(
                AuthStart(
                    exchange: 8, mechanism: "LOGIN", initialResponse: nil, client: ClientContext(address: "::1"),
                    tls: false)),
            .authStart(
                AuthStart(
                    exchange: 9, mechanism: "CRAM-MD5", initialResponse: [], client: ClientContext(address: "::1"),
                    tls: false)),
            .authStep(exchange: 7, response: Array("user\0pass".utf8)),
            .authAbort(exchange: 7),
            .authChallenge([0xFF, 0x00, 0x7F]),
            .authSucceeded(user: "alice"),
            .rejected(SMTPReply(code: 550, enhanced: "5.1.1", text: "User unknown")),
            .openMessage,
            .messageOpened(id),
            .commitMessage(
                CommitRequest(
                    queueID: id, sender: "",
                    recipients: [
                        Recipient(
                            address: "\"john doe\"@example.test", localUser: "john", notify: [.success, .delay],
                            originalRecipient: "rfc822;john@example.test"),
                        Recipient(address: "x@example.org", localUser: ""),
                        Recipient(
                            address: "gone@example.test", localUser: "", state: .failed,
                            lastResult: "5.1.1 <gone@example.test>: User unknown"),
                    ],
                    clientAddress: "127.0.0.2", clientHelo: "client.test", authUser: "", dsnReturn: .full,
                    envelopeID: "abc", bodyType: .eightBitMIME, smtputf8: true)),
            .committed(id),
            .abortMessage(id),
            .spoolSpace(freeBytes: 123_456_789_012),
            .controlSocket(.admin),
            .ping(7),
            .pong(UInt64.max),
            .deliver(
                DeliveryJob(
                    queueID: id, sender: "bob@x.test", arrival: 1_700_000_000,
                    recipients: [
                        DeliveryRecipient(index: 0, address: "a@example.test", localUser: "a"),
                        DeliveryRecipient(
                            index: 3, address: "b@example.test", localUser: "nobody", target: .pipe("vacation -t"),
                            originalRecipient: "rfc822;B@example.test", notify: [.failure, .delay], maybeDelivered: true
                        ),
                    ], size: 1234, bodyType: .eightBitMIME, smtputf8: true, dsnReturn: .headers, envelopeID: "e1")),
            .deliveryResult(
                id,
                [
                    RecipientOutcome(index: 1, status: .deferred, text: "4.2.0 later"),
                    RecipientOutcome(index: 4, status: .deferred, text: "4.3.0 worker ended", interrupted: true),
                    RecipientOutcome(index: 3, status: .delivered, text: "2.0.0 ok", notifyHandedOn: true),
                    RecipientOutcome(
                        index: 2, status: .expanded, text: "alias",
                        expansion: [
                            ExpandedRecipient(address: "x@y.test", localUser: "", target: .name),
                            ExpandedRecipient(address: "a@example.test", localUser: "a", target: .file("/a/b/")),
                        ]),
                ]),
            .assignWorker(
                WorkerIdentity(
                    user: "alice", uid: 1000, gid: 1000, groups: [8, 1000], home: "/home/alice",
                    mailDirectory: "/var/mail", homeMailbox: "Maildir/", smrshDirectory: "/etc/postern/smrsh",
                    pipeTimeout: 30, jail: "/var/mailjail", hostname: "example.test")),
            .routeRequest(domain: "example.test"),
            .route(
                RouteAnswer(
                    outcome: .hosts,
                    hosts: [
                        RouteHost(name: "mx1.example.test", addresses: ["127.0.0.2", "::1"], port: 25),
                        RouteHost(name: "mx2.example.test", addresses: ["127.0.0.3"], port: 2525),
                    ], tls: .verify)),
            .route(RouteAnswer(outcome: .permanent, text: "5.1.10 null MX")),
            .submitSocket,
            .reopenLog,
            .explainAddress(address: "alice"),
            .addressExplanation(["alice@example.test: alias of", "  bob@example.test: local user bob"]),
        ]
    }

    func testEveryKindRoundTrips() throws {
        XCTAssertEqual(Set(samples.map(\.kind)), Set(IPCMessage.Kind.allCases))
        for message in samples {
            let bytes = FrameCodec.encode(message, requestID: 77, isResponse: true)
            let decoded = try FrameCodec.decode(bytes, descriptorCount: message.kind.descriptorCount)
            XCTAssertEqual(decoded.message, message)
            XCTAssertEqual(decoded.requestID, 77)
            XCTAssertTrue(decoded.isResponse)
        }
    }

    func testEveryTruncationIsRefused() {
        for message in samples {
            let bytes = FrameCodec.encode(message, requestID: 1, isResponse: false)
            for n in 0..<bytes.count {
                XCTAssertThrowsError(
                    try FrameCodec.decode(Array(bytes.prefix(n)), descriptorCount: message.kind.descriptorCount),
                    "\(message.kind) truncated to \(n)")
            }
        }
    }

    func testTrailingBytesAreRefused() {
        var bytes = FrameCodec.encode(.shutdown, requestID: 0, isResponse: false)
        bytes.append(0)
        bytes[3] = UInt8(bytes.count)
        XCTAssertThrowsError(try FrameCodec.decode(bytes, descriptorCount: 0)) { error in
            XCTAssertEqual(error as? IPCDecodeError, .trailingBytes(1))
        }
    }

    func testLengthMismatchUnknownTypeVersionFlags() {
        let good = FrameCodec.encode(.openMessage, requestID: 5, isResponse: false)
        var wrongLength = good
        wrongLength[3] &+= 1
        XCTAssertThrowsError(try FrameCodec.decode(wrongLength, descriptorCount: 0))
        var unknownType = good
        unknownType[5] = 0xEE
        XCTAssertThrowsError(try FrameCodec.decode(unknownType, descriptorCount: 0)) { error in
            XCTAssertEqual(error as? IPCDecodeError, .unknownType(0xEE))
        }
        var version = good
        version[6] = 2
        XCTAssertThrowsError(try FrameCodec.decode(version, descriptorCount: 0)) { error in
            XCTAssertEqual(error as? IPCDecodeError, .unsupportedVersion(2))
        }
        var flags = good
        flags[7] = 0x80
        XCTAssertThrowsError(try FrameCodec.decode(flags, descriptorCount: 0))
    }

    func testDescriptorCountMustMatchTheKind() {
        let opened = FrameCodec.encode(.messageOpened(id), requestID: 1, isResponse: true)
        XCTAssertThrowsError(try FrameCodec.decode(opened, descriptorCount: 0))
        let shutdown = FrameCodec.encode(.shutdown, requestID: 0, isResponse: false)
        XCTAssertThrowsError(try FrameCodec.decode(shutdown, descriptorCount: 1)) { error in
            XCTAssertEqual(error as? IPCDecodeError, .unexpectedDescriptors(expected: 0, got: 1))
        }
    }

    /// CR, LF and NUL are refused in every envelope field, wherever it is.
    func testForbiddenBytesInFieldsAreRefused() {
        for bad in ["a\rb@example.test", "a\nb@example.test", "a\0b@example.test"] {
            let message = IPCMessage.checkRecipient(address: bad, client: ClientContext(address: "127.0.0.1"))
            let bytes = FrameCodec.encode(message, requestID: 1, isResponse: false)
            XCTAssertThrowsError(try FrameCodec.decode(bytes, descriptorCount: 0)) { error in
                XCTAssertEqual(error as? IPCDecodeError, .badField("address"))
            }
            let commit = IPCMessage.commitMessage(
                CommitRequest(
                    queueID: id, sender: bad, recipients: [], clientAddress: "127.0.0.1", clientHelo: "h",
                    authUser: ""))
            XCTAssertThrowsError(
                try FrameCodec.decode(FrameCodec.encode(commit, requestID: 1, isResponse: false), descriptorCount: 0))
        }
    }

    func testBadQueueIDAndRoleAreRefused() {
        var w = ByteWriter()
        w.string("not-a-queue-id")
        XCTAssertThrowsError(try decodePayload(kind: .committed, w.bytes))
        var r = ByteWriter()
        r.string("superuser")
        XCTAssertThrowsError(try decodePayload(kind: .attachPeer, r.bytes))
    }

    func testHugeCountsAreRefusedBeforeAllocation() {
        var w = ByteWriter()
        w.string(id.value)
        w.u32(UInt32.max)
        XCTAssertThrowsError(try decodePayload(kind: .deliveryResult, w.bytes)) { error in
            XCTAssertEqual(error as? IPCDecodeError, .countTooLarge(field: "outcomes", count: Int(UInt32.max)))
        }
    }

    func testRandomBytesNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let n = Int.random(in: 0..<64, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if n >= 12 {
                // Mostly plausible headers, so the payload decoders are reached.
                bytes[0] = 0
                bytes[1] = 0
                bytes[2] = 0
                bytes[3] = UInt8(n)
                bytes[4] = 0
                bytes[5] = IPCMessage.Kind.allCases.randomElement(using: &rng).map { UInt8($0.rawValue) } ?? 0
                bytes[6] = 1
            }
            _ = try? FrameCodec.decode(bytes, descriptorCount: 0)
        }
    }

    private func decodePayload(kind: IPCMessage.Kind, _ payload: [UInt8]) throws -> IPCMessage {
        var r = ByteReader(payload)
        return try IPCMessage.decode(kind: kind, payload: &r)
    }
}
