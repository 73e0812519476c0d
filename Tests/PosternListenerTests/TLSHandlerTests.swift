import COpenSSL
import NIOCore
import NIOEmbedded
import XCTest

@testable import PosternListener

/// The handler on an `EmbeddedChannel`, against an in-process OpenSSL
/// client: every byte each way is visible and the clock is the test's.
final class TLSHandlerTests: XCTestCase {
    private var files: TLSTestFiles!
    private var context: TLSContext!

    override func setUpWithError() throws {
        files = try tlsFiles()
        context = try TLSContext(TLSConfiguration(certificateChainPath: files.cert, privateKeyPath: files.key))
    }

    /// A server channel with the handler (and `extra` handlers after it), connected.
    private func makeServer(
        _ handler: TLSServerHandler? = nil, halfClosure: Bool = false, before: [ChannelHandler] = []
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(before)
        try channel.pipeline.syncOperations.addHandler(handler ?? TLSServerHandler(context: context))
        if halfClosure { try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true) }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2525)).wait()
        return channel
    }

    /// Moves ciphertext both ways until neither side has more to say.
    private func exchange(_ server: EmbeddedChannel, _ client: TLSSession) throws {
        for _ in 0..<50 {
            var progressed = false
            if !client.isHandshakeComplete, case .failed(let error) = client.handshake() {
                XCTFail("client handshake: \(error)")
                return
            }
            if let bytes = client.takeCiphertext(allocator: server.allocator) {
                try server.writeInbound(bytes)
                progressed = true
            }
            while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                XCTAssertTrue(client.receive(bytes))
                progressed = true
            }
            if !progressed { return }
        }
        XCTFail("exchange did not settle")
    }

    /// What the client can decrypt now, and how its reading ended.
    private func clientRead(_ client: TLSSession) -> (String, TLSSession.ReadResult) {
        var buffer = ByteBuffer()
        while true {
            let result = client.read(into: &buffer)
            if result != .data { return (String(buffer: buffer), result) }
        }
    }

    private func serverRead(_ server: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try server.readInbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    func testHandshakeThenDataBothWays() throws {
        var infos: [TLSSessionInfo] = []
        let server = try makeServer(TLSServerHandler(context: context) { infos.append($0) })
        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        XCTAssertTrue(client.isHandshakeComplete)
        XCTAssertEqual(infos.count, 1)
        XCTAssertEqual(infos.first?.version, "TLSv1.3")
        XCTAssertEqual(infos.first?.cipher, "TLS_AES_256_GCM_SHA384")
        XCTAssertEqual(infos.first?.bits, 256)
        XCTAssertNil(infos.first?.peerCertificateSubject)

        XCTAssertNil(client.write(ByteBuffer(string: "EHLO client.example\r\n")))
        try exchange(server, client)
        XCTAssertEqual(try serverRead(server), "EHLO client.example\r\n")

        try server.writeAndFlush(ByteBuffer(string: "250 ok\r\n")).wait()
        try exchange(server, client)
        XCTAssertEqual(clientRead(client).0, "250 ok\r\n")
        XCTAssertNoThrow(try server.throwIfErrorCaught())
    }

    /// Implicit TLS: the greeting is written at channelActive, before any
    /// handshake byte; it waits, and its promise completes only when its
    /// ciphertext has gone down the pipeline.
    func testOutputBeforeHandshakeWaitsForIt() throws {
        let server = try makeServer()
        let promise = server.eventLoop.makePromise(of: Void.self)
        server.writeAndFlush(ByteBuffer(string: "220 mail.example ESMTP\r\n"), promise: promise)
        var done = false
        promise.futureResult.whenSuccess { done = true }
        XCTAssertNil(try server.readOutbound(as: ByteBuffer.self))
        XCTAssertFalse(done)

        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        XCTAssertTrue(done)
        XCTAssertEqual(clientRead(client).0, "220 mail.example ESMTP\r\n")
    }

    /// A write's promise is the network write's: not done before the flush.
    func testWritePromiseFollowsTheNetworkWrite() throws {
        let server = try makeServer()
        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        let promise = server.eventLoop.makePromise(of: Void.self)
        var done = false
        promise.futureResult.whenSuccess { done = true }
        server.write(ByteBuffer(string: "250 ok\r\n"), promise: promise)
        XCTAssertFalse(done)
        XCTAssertNil(try server.readOutbound(as: ByteBuffer.self))
        server.flush()
        XCTAssertTrue(done)
        try exchange(server, client)
        XCTAssertEqual(clientRead(client).0, "250 ok\r\n")
    }

    func testTooMuchOutputBeforeHandshakeClosesTheConnection() throws {
        let server = try makeServer(TLSServerHandler(context: context, maxPendingOutput: 1000))
        let first = server.eventLoop.makePromise(of: Void.self)
        let second = server.eventLoop.makePromise(of: Void.self)
        server.write(ByteBuffer(repeating: 0x41, count: 900), promise: first)
        server.write(ByteBuffer(repeating: 0x42, count: 200), promise: second)
        XCTAssertThrowsError(try second.futureResult.wait()) {
            XCTAssertEqual($0 as? TLSError, .pendingOutputLimitExceeded(limit: 1000))
        }
        XCTAssertThrowsError(try first.futureResult.wait())
        XCTAssertThrowsError(try server.throwIfErrorCaught()) {
            XCTAssertEqual($0 as? TLSError, .pendingOutputLimitExceeded(limit: 1000))
        }
        XCTAssertFalse(server.isActive)
    }

    func testGarbageFailsTheHandshakeWithOpenSSLsMessage() throws {
        let server = try makeServer()
        XCTAssertThrowsError(try server.writeInbound(ByteBuffer(string: "EHLO not-a-client-hello.example\r\n"))) {
            error in
            guard case .handshakeFailed(let message) = error as? TLSError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(message.contains("SSL routines"), message)
            XCTAssertTrue(message.contains("wrong version number") || message.contains("record"), message)
        }
        XCTAssertFalse(server.isActive)
        // This thread's OpenSSL error queue is empty: nothing leaks into the next connection.
        XCTAssertEqual(ERR_peek_error(), 0)
    }

    func testClientGoneDuringHandshakeIsReported() throws {
        let server = try makeServer()
        let client = try TLSTestClientContext().session()
        _ = client.handshake()
        guard var hello = client.takeCiphertext(allocator: server.allocator) else { return XCTFail("no ClientHello") }
        try server.writeInbound(hello.readSlice(length: hello.readableBytes / 2) ?? ByteBuffer())
        server.pipeline.fireChannelInactive()
        XCTAssertThrowsError(try server.throwIfErrorCaught()) {
            XCTAssertEqual($0 as? TLSError, .closedDuringHandshake(reason: "end of input"))
        }
    }

    func testEndOfInputDuringHandshakeClosesWithError() throws {
        let server = try makeServer(halfClosure: true)
        server.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        XCTAssertThrowsError(try server.throwIfErrorCaught()) {
            XCTAssertEqual($0 as? TLSError, .closedDuringHandshake(reason: "end of input"))
        }
        XCTAssertFalse(server.isActive)
    }

    func testHandshakeTimeout() throws {
        let server = try makeServer(TLSServerHandler(context: context, handshakeTimeout: .seconds(30)))
        server.embeddedEventLoop.advanceTime(by: .seconds(29))
        XCTAssertTrue(server.isActive)
        server.embeddedEventLoop.advanceTime(by: .seconds(2))
        XCTAssertThrowsError(try server.throwIfErrorCaught()) {
            XCTAssertEqual($0 as? TLSError, .handshakeTimedOut(seconds: 30))
        }
        XCTAssertFalse(server.isActive)
    }

    func testCloseSendsCloseNotify() throws {
        let server = try makeServer()
        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        let closed = server.close()
        try exchange(server, client)
        XCTAssertEqual(clientRead(client).1, .closeNotify)
        XCTAssertNoThrow(try closed.wait())
        XCTAssertFalse(server.isActive)
    }

    func testWriteAfterOutputClosedFails() throws {
        // EmbeddedChannel closes fully on any close: keep the half-close from reaching it.
        let server = try makeServer(before: [OutputCloseSwallower()])
        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        try server.close(mode: .output).wait()
        try exchange(server, client)
        XCTAssertEqual(clientRead(client).1, .closeNotify)
        XCTAssertThrowsError(try server.writeAndFlush(ByteBuffer(string: "late")).wait()) {
            XCTAssertEqual($0 as? TLSError, .outputClosed)
        }
    }

    /// Without half-closure, the client's close_notify is the end: the server answers and closes.
    func testReceivedCloseNotifyClosesTheChannel() throws {
        let server = try makeServer()
        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        XCTAssertNil(client.write(ByteBuffer(string: "QUIT\r\n")))
        client.shutdown()
        try exchange(server, client)
        XCTAssertEqual(try serverRead(server), "QUIT\r\n")
        XCTAssertEqual(clientRead(client).1, .closeNotify)
        XCTAssertFalse(server.isActive)
        XCTAssertNoThrow(try server.throwIfErrorCaught())
    }

    /// With half-closure on TLS 1.3, close_notify is an end of input and the server may still answer.
    func testReceivedCloseNotifyIsEndOfInputWithHalfClosure() throws {
        let events = EventRecorder()
        let server = try makeServer(halfClosure: true)
        try server.pipeline.syncOperations.addHandler(events)
        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        client.shutdown()
        try exchange(server, client)
        XCTAssertEqual(events.inputClosed, 1)
        XCTAssertTrue(server.isActive)
        try server.writeAndFlush(ByteBuffer(string: "221 bye\r\n")).wait()
        try exchange(server, client)
        XCTAssertEqual(clientRead(client).0, "221 bye\r\n")
    }

    /// After the handshake the network is read only for the application; a
    /// partial record does not use up the application's read.
    func testReadsOnlyWhenTheApplicationAsks() throws {
        let reads = ReadCounter()
        let server = try makeServer(before: [reads])
        XCTAssertEqual(reads.count, 1, "the handshake asks for its ClientHello")
        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        let afterHandshake = reads.count
        XCTAssertGreaterThanOrEqual(afterHandshake, 2)

        XCTAssertNil(client.write(ByteBuffer(string: "DATA\r\n")))
        guard var record = client.takeCiphertext(allocator: server.allocator),
            let firstHalf = record.readSlice(length: record.readableBytes / 2)
        else { return XCTFail("no record") }
        try server.writeInbound(firstHalf)
        XCTAssertEqual(reads.count, afterHandshake, "nobody asked to read")

        server.read()
        XCTAssertEqual(reads.count, afterHandshake + 1)
        try server.writeInbound(record.readSlice(length: 1) ?? ByteBuffer())
        XCTAssertEqual(reads.count, afterHandshake + 2, "no plaintext yet: read again for the application")
        try server.writeInbound(record)
        XCTAssertEqual(reads.count, afterHandshake + 2, "delivered: the application asks again if it wants more")
        XCTAssertEqual(try serverRead(server), "DATA\r\n")
    }

    /// TLS 1.3 lets a client send data right behind its Finished: it is delivered.
    func testDataPipelinedAfterFinished() throws {
        let server = try makeServer()
        let client = try TLSTestClientContext().session()
        _ = client.handshake()
        try server.writeInbound(client.takeCiphertext(allocator: server.allocator) ?? ByteBuffer())
        while let bytes = try server.readOutbound(as: ByteBuffer.self) { XCTAssertTrue(client.receive(bytes)) }
        XCTAssertEqual(client.handshake(), .complete)
        XCTAssertNil(client.write(ByteBuffer(string: "EHLO fast.example\r\n")))
        try server.writeInbound(client.takeCiphertext(allocator: server.allocator) ?? ByteBuffer())
        XCTAssertEqual(try serverRead(server), "EHLO fast.example\r\n")
    }

    func testLargeWriteIsChunkedAndIntact() throws {
        let server = try makeServer()
        let client = try TLSTestClientContext().session()
        try exchange(server, client)
        var payload = ByteBuffer()
        for i in 0..<(300 << 10) { payload.writeInteger(UInt8(truncatingIfNeeded: i &* 31 &+ 7)) }
        try server.writeAndFlush(payload).wait()
        var received = ByteBuffer()
        while let bytes = try server.readOutbound(as: ByteBuffer.self) {
            XCTAssertTrue(client.receive(bytes))
            while client.read(into: &received) == .data {}
        }
        XCTAssertEqual(received, payload)
    }

    func testHandlerRemovedFailsWaitingWrites() throws {
        let handler = TLSServerHandler(context: context)
        let server = try makeServer(handler)
        let promise = server.eventLoop.makePromise(of: Void.self)
        server.writeAndFlush(ByteBuffer(string: "waiting"), promise: promise)
        try server.pipeline.syncOperations.removeHandler(handler).wait()
        XCTAssertThrowsError(try promise.futureResult.wait())
    }
}

private final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}

private final class EventRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var inputClosed = 0

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { inputClosed += 1 }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Stands in for a socket's shutdown(SHUT_WR), which EmbeddedChannel does not have.
private final class OutputCloseSwallower: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output {
            promise?.succeed()
        } else {
            context.close(mode: mode, promise: promise)
        }
    }
}
