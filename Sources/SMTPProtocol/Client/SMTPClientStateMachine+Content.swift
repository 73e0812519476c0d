/// Streaming the message: the I/O layer reads the spool one block at a time
/// when asked (`.readContent`), and the machine encodes each block, so the
/// bytes that go out are decided here, where they are tested, and BDAT
/// chunks are counted against their replies.
extension SMTPClientStateMachine {
    /// Asks for the next block. While the answer to a read for an earlier
    /// message is still to come, the request waits for it, so that the I/O
    /// layer never has two reads outstanding.
    mutating func requestContent(_ actions: inout [SMTPClientAction]) {
        readOutstanding = true
        waitChanged = true
        if readsToDrop > 0 {
            readDeferred = true
        } else {
            actions.append(.readContent)
        }
    }

    /// Takes the answer to the outstanding read; false when the answer is
    /// one to drop (the message it was read for is already reported).
    private mutating func takeReadAnswer(_ actions: inout [SMTPClientAction]) -> Bool {
        if readsToDrop > 0 {
            readsToDrop -= 1
            if readsToDrop == 0 && readDeferred {
                readDeferred = false
                actions.append(.readContent)
            }
            return false
        }
        guard readOutstanding, stage == .transaction, transaction != nil else { return false }
        readOutstanding = false
        waitChanged = true
        return true
    }

    mutating func contentBlock(_ block: [UInt8], _ actions: inout [SMTPClientAction]) {
        guard takeReadAnswer(&actions), var transaction else { return }
        switch transaction.content {
        case .data(var stuffer):
            let encoded = stuffer.stuff(block)
            transaction.content = .data(stuffer)
            self.transaction = transaction
            if !encoded.isEmpty { actions.append(.send(encoded)) }
            requestContent(&actions)
        case .bdat(var framer):
            guard !transaction.contentRefused else {
                advance(&actions)
                return
            }
            if let chunk = framer.add(block) {
                actions.append(.send(chunk))
                expected.append(.bdat(last: false))
            }
            transaction.content = .bdat(framer)
            self.transaction = transaction
            // Without PIPELINING each chunk waits for the last one's reply
            // (RFC 3030 §4.2).
            if transaction.pipelined || expected.isEmpty { requestContent(&actions) }
        case .none, .finished:
            break
        }
    }

    mutating func contentEnd(_ actions: inout [SMTPClientAction]) {
        guard takeReadAnswer(&actions), var transaction else { return }
        switch transaction.content {
        case .data(var stuffer):
            actions.append(.send(stuffer.finish()))
            expected.append(.dataEnd)
        case .bdat(var framer):
            guard !transaction.contentRefused else {
                advance(&actions)
                return
            }
            actions.append(.send(framer.finish()))
            expected.append(.bdat(last: true))
        case .none, .finished:
            return
        }
        transaction.content = .finished
        self.transaction = transaction
    }

    /// Without the rest of the content the message cannot be ended (a "."
    /// now would deliver half of it), so the connection is dropped and the
    /// server discards the transaction.
    mutating func contentUnreadable(_ actions: inout [SMTPClientAction]) {
        guard takeReadAnswer(&actions), let transaction else { return }
        if transaction.contentRefused {
            advance(&actions)
            return
        }
        let text = "the queued message could not be read; the connection to host \(texts.host) was dropped"
        abort(SessionFailure(status: "4.3.0", text: text), quit: false, &actions)
    }
}
