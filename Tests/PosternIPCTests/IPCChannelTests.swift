import CShims
import Glibc
import NIOConcurrencyHelpers
import PosternCore
import XCTest

@testable import PosternIPC

final class IPCChannelTests: XCTestCase {
    private func pair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard pst_socketpair_seqpacket(&fds) == 0 else { throw IPCError.closed }
        return (fds[0], fds[1])
    }

    func testDescriptorTravelsWithItsFrame() throws {
        let (a, b) = try pair()
        let sender = IPCChannel(fd: a, peer: .listener, local: .queue)
        let receiver = IPCChannel(fd: b, peer: .queue, local: .listener)
        defer {
            close(a)
            close(b)
        }
        let path = "/tmp/postern-ipc-test-\(getpid())"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { unlink(path) }
        let id = QueueID.generate()
        try sender.send(.messageOpened(id), descriptors: [fd])
        close(fd)
        let frame = try XCTUnwrap(try receiver.receive())
        XCTAssertEqual(frame.message, .messageOpened(id))
        XCTAssertEqual(frame.descriptors.count, 1)
        let written = Array("hello".utf8)
        XCTAssertEqual(write(frame.descriptors[0], written, written.count), 5)
        // Received descriptors are close-on-exec.
        XCTAssertNotEqual(fcntl(frame.descriptors[0], F_GETFD) & FD_CLOEXEC, 0)
        close(frame.descriptors[0])
        var st = stat()
        stat(path, &st)
        XCTAssertEqual(st.st_size, 5)
    }

    func testOversizedDatagramIsAViolation() throws {
        let (a, b) = try pair()
        var size: Int32 = 1 << 20
        setsockopt(a, SOL_SOCKET, SO_SNDBUF, &size, 4)
        setsockopt(b, SOL_SOCKET, SO_RCVBUF, &size, 4)
        let receiver = IPCChannel(fd: b, peer: .listener, local: .queue)
        defer {
            close(a)
            close(b)
        }
        let big = [UInt8](repeating: 7, count: FrameHeader.maxSize + 100)
        XCTAssertEqual(big.withUnsafeBytes { send(a, $0.baseAddress, $0.count, 0) }, big.count)
        XCTAssertThrowsError(try receiver.receive()) { error in
            guard case .violation(.frameTooLarge) = error as? IPCError else {
                return XCTFail("unexpected \(error)")
            }
        }
    }

    func testGarbageClosesTheChannelAsAViolationAndFailsPendingRequests() throws {
        let (a, b) = try pair()
        let channel = IPCChannel(fd: b, peer: .lookup, local: .listener)
        let closed = expectation(description: "closed")
        let failed = expectation(description: "pending request failed")
        channel.start(
            onRequest: { _ in XCTFail("garbage must not reach the handler") },
            onClose: { reason in
                guard case .violation = reason else { return XCTFail("reason \(reason)") }
                closed.fulfill()
            })
        channel.request(.checkRecipient(address: "a@b.test", client: ClientContext(address: "127.0.0.1"))) { result in
            if case .failure(.closed) = result { failed.fulfill() }
        }
        // Read the request so the socket stays clean, then answer with garbage.
        var buffer = [UInt8](repeating: 0, count: 1024)
        XCTAssertGreaterThan(recv(a, &buffer, buffer.count, 0), 0)
        let garbage: [UInt8] = [0, 0, 0, 12, 0xFF, 0xFF, 1, 0, 0, 0, 0, 1]
        _ = send(a, garbage, garbage.count, 0)
        wait(for: [failed, closed], timeout: 5)
        close(a)
    }

    func testResponsesCompleteTheirRequestsByID() throws {
        let (a, b) = try pair()
        let client = IPCChannel(fd: a, peer: .lookup, local: .listener)
        let server = IPCChannel(fd: b, peer: .listener, local: .lookup)
        server.start(
            onRequest: { frame in
                if case .checkRecipient(let address, _) = frame.message {
                    try? server.respond(
                        to: frame.requestID, with: .recipientAccepted(localUser: String(address.prefix(1))))
                }
            }, onClose: { _ in })
        client.start(onRequest: { _ in }, onClose: { _ in })
        let done = expectation(description: "answers")
        done.expectedFulfillmentCount = 20
        for i in 0..<20 {
            let letter = String(UnicodeScalar(UInt8(97 + i)))
            client.request(.checkRecipient(address: "\(letter)@x.test", client: ClientContext(address: "127.0.0.1"))) {
                result in
                if case .success(let frame) = result, frame.message == .recipientAccepted(localUser: letter) {
                    done.fulfill()
                }
            }
        }
        wait(for: [done], timeout: 5)
        client.shutdown()
        server.shutdown()
    }

    /// On SOCK_SEQPACKET an empty datagram reads as 0 bytes, like end of file.
    func testEmptyDatagramIsAViolationNotEndOfFile() throws {
        let (a, b) = try pair()
        let receiver = IPCChannel(fd: b, peer: .listener, local: .queue)
        defer {
            close(a)
            close(b)
        }
        XCTAssertEqual(send(a, nil, 0, 0), 0)
        XCTAssertThrowsError(try receiver.receive()) { error in
            XCTAssertEqual(error as? IPCError, .violation(.truncated))
        }
        shutdown(a, Int32(SHUT_RDWR))
        XCTAssertNil(try receiver.receive())
    }

    /// After the reader closed its descriptor, a late shutdown() must not
    /// touch the number, which may already belong to a new channel.
    func testShutdownAfterTheReaderEndedLeavesTheNumberAlone() throws {
        let (a, b) = try pair()
        let old = IPCChannel(fd: b, peer: .master, local: .lookup)
        let ended = expectation(description: "reader ended")
        old.start(onRequest: { _ in }, onClose: { _ in ended.fulfill() })
        close(a)
        wait(for: [ended], timeout: 5)
        usleep(50_000)
        let (c, d) = try pair()
        defer {
            close(c)
            close(d)
        }
        old.shutdown()
        let ping = FrameCodec.encode(.shutdown, requestID: 0, isResponse: false)
        XCTAssertEqual(send(c, ping, ping.count, 0), ping.count)
        let fresh = IPCChannel(fd: d, peer: .master, local: .lookup)
        XCTAssertEqual(try fresh.receive()?.message, .shutdown)
    }

    /// A peer that does not answer in time: the request fails with
    /// `.timedOut`, the late answer goes to the late-response handler (not
    /// a protocol violation), and the channel keeps working.
    func testADeadlineFailsTheRequestAndTheLateAnswerIsNoViolation() throws {
        let (a, b) = try pair()
        let client = IPCChannel(fd: a, peer: .lookup, local: .listener)
        let server = IPCChannel(fd: b, peer: .listener, local: .lookup)
        let asked = NIOLockedValueBox<[UInt32]>([])
        server.start(onRequest: { frame in asked.withLockedValue { $0.append(frame.requestID) } }, onClose: { _ in })
        let late = expectation(description: "late answer")
        client.onLateResponse { frame in
            if frame.message == .accepted { late.fulfill() }
        }
        let closed = expectation(description: "closed")
        closed.isInverted = true
        client.start(onRequest: { _ in }, onClose: { _ in closed.fulfill() })

        let timedOut = expectation(description: "timed out")
        let started = MonotonicClock.now()
        let elapsed = NIOLockedValueBox(0.0)
        client.request(.checkSender(address: "a@x.test", client: ClientContext(address: "127.0.0.1")), timeout: 0.3) {
            result in
            elapsed.withLockedValue { $0 = MonotonicClock.now() - started }
            if case .failure(.timedOut) = result { timedOut.fulfill() }
        }
        wait(for: [timedOut], timeout: 5)
        XCTAssertGreaterThanOrEqual(elapsed.withLockedValue { $0 }, 0.3)
        XCTAssertLessThan(elapsed.withLockedValue { $0 }, 2)
        let first = try XCTUnwrap(asked.withLockedValue { $0.first })
        try server.respond(to: first, with: .accepted)
        wait(for: [late], timeout: 5)

        // Still usable: an answered request with a deadline succeeds.
        let answered = expectation(description: "answered")
        client.request(.checkSender(address: "b@x.test", client: ClientContext(address: "127.0.0.1")), timeout: 5) {
            result in
            if case .success(let frame) = result, frame.message == .discarded { answered.fulfill() }
        }
        let second = try XCTUnwrap(secondRequest(asked))
        try server.respond(to: second, with: .discarded)
        wait(for: [answered, closed], timeout: 1)
        client.shutdown()
        server.shutdown()
    }

    private func secondRequest(_ asked: NIOLockedValueBox<[UInt32]>) -> UInt32? {
        for _ in 0..<200 {
            if let id = asked.withLockedValue({ $0.dropFirst().first }) { return id }
            usleep(10_000)
        }
        return nil
    }

    /// A kind of message that does not travel from this peer to this
    /// process is a protocol violation, however well it decodes: the
    /// listener cannot send the queue a delivery order, nor the lookup a
    /// spool file.
    func testAMessageOnAnEdgeItDoesNotTravelIsAViolation() throws {
        let (a, b) = try pair()
        defer {
            close(a)
            close(b)
        }
        let listenerEnd = IPCChannel(fd: a, peer: .queue, local: .listener)
        let queueEnd = IPCChannel(fd: b, peer: .listener, local: .queue)
        try listenerEnd.send(.openMessage)
        XCTAssertEqual(try queueEnd.receive()?.message, .openMessage)
        let id = QueueID.generate()
        try listenerEnd.send(
            .deliver(DeliveryJob(queueID: id, sender: "", arrival: 0, recipients: [])), descriptors: [a])
        XCTAssertThrowsError(try queueEnd.receive()) { error in
            XCTAssertEqual(error as? IPCError, .violation(.notOnThisEdge(IPCMessage.Kind.deliver.rawValue)))
        }
        try listenerEnd.send(.shutdown)
        XCTAssertThrowsError(try queueEnd.receive()) { error in
            XCTAssertEqual(error as? IPCError, .violation(.notOnThisEdge(IPCMessage.Kind.shutdown.rawValue)))
        }
    }

    /// Every kind travels somewhere, and a kind that carries a descriptor
    /// is sent only by the master, the queue or local (the processes that
    /// own what descriptors stand for: sockets, spool files, the passwd file).
    func testTheRouteTable() {
        for kind in IPCMessage.Kind.allCases {
            XCTAssertFalse(kind.spec.routes.isEmpty, "\(kind) travels nowhere")
            if kind.descriptorCount > 0 {
                for (from, _) in kind.spec.routes {
                    XCTAssertTrue([.master, .queue, .local].contains(from), "\(kind) with a descriptor from \(from)")
                }
            }
        }
        XCTAssertTrue(IPCMessage.Kind.checkClient.travels(from: .listener, to: .lookup))
        XCTAssertFalse(IPCMessage.Kind.checkClient.travels(from: .queue, to: .lookup))
        XCTAssertTrue(IPCMessage.Kind.spoolSpace.travels(from: .queue, to: .listener))
        XCTAssertFalse(IPCMessage.Kind.controlSocket.travels(from: .master, to: .listener))
    }
}
