import XCTest

@testable import LogReview

/// Lines as the daemon writes them (from an integration run), counted.
final class AggregationTests: XCTestCase {
    static let log = """
        Dec  8 01:45:30 vm postern/master[100]: started relay, pid=110
        Dec  8 01:45:32 vm postern/listener[101]: connect from 127.0.0.1
        Dec  8 01:45:32 vm postern/listener[101]: connect from 127.0.0.2
        Dec  8 01:45:32 vm postern/listener[101]: TLS established, client=127.0.0.2: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
        Dec  8 01:45:32 vm postern/listener[101]: authenticated, client=127.0.0.2, mechanism=CRAM-MD5, user=carol
        Dec  8 01:45:32 vm postern/listener[101]: authentication failed, client=127.0.0.2, mechanism=PLAIN: 535
        Dec  8 01:45:32 vm postern/queue[102]: 2SJJTWCR36AR: queued, from=<tester@client.test>, size=384, nrcpt=1, client=127.0.0.1
        Dec  8 01:45:32 vm postern/listener[101]: 2SJJTWCR36AR: accepted, client=127.0.0.1, helo=<client.test>
        Dec  8 01:45:32 vm postern/listener[101]: disconnect from 127.0.0.1
        Dec  8 01:45:32 vm postern/listener[101]: reject: RCPT from 127.0.0.2: 550 5.7.1 <someone@far.test>: Relaying denied
        Dec  8 01:45:32 vm postern/listener[101]: reject: RCPT from 127.0.0.2: 550 5.1.1 <x@example.test>: Recipient address rejected: User unknown in local recipient table
        Dec  8 01:45:32 vm postern/listener[101]: reject: MAIL from 127.0.0.2: 550 5.7.1 <spammer@bad.test>: Access denied
        Dec  8 01:45:32 vm postern/listener[101]: reject: CONNECT from 127.0.0.3: 554 5.7.1 Service unavailable; client [127.0.0.3] blocked using bl.test
        Dec  8 01:45:32 vm postern/listener[101]: reject: SMTP from 127.0.0.2: 552 5.3.4 Message size exceeds fixed limit
        Dec  8 01:45:32 vm postern/listener[101]: reject: SMTP from 127.0.0.2: 550 5.6.11 Message contains bare CR or bare LF
        Dec  8 01:45:32 vm postern/listener[101]: reject: SMTP from 127.0.0.2: 501 5.5.4 Syntax: HELO hostname
        Dec  8 01:45:32 vm postern/listener[101]: refused 127.0.0.4: 421 4.7.0 mail.example.test Too many connections from your address
        Dec  8 01:45:32 vm postern/local[103]: 2SJJTWCR36AR: delivery by the worker of pt-alice, nrcpt=1
        Dec  8 01:45:32 vm postern/queue[102]: 2SJJTWCR36AR: to=<pt-alice@example.test>, relay=local, status=sent (delivered to mailbox, 494 bytes)
        Dec  8 01:45:32 vm postern/queue[102]: G0NE00000002: to=<pt-deleted@example.test>, relay=local, status=bounced (5.1.1 user unknown)
        Dec  8 01:45:32 vm postern/queue[102]: 0ZQ0K9YPWHVR: queued, from=<>, size=1500, nrcpt=1, notice=failed about G0NE00000002, to=<pt-alice@example.test>
        Dec  8 01:45:32 vm postern/queue[102]: 0ZQ0K9YPWHVR: to=<pt-alice@example.test>, relay=local, status=sent (delivered to maildir, 1719 bytes)
        Dec  8 01:45:33 vm postern/queue[102]: TB92EHHMD26P: to=<remote@far.test>, relay=relay, status=deferred (4.4.1 connect to 127.0.0.1[127.0.0.1]:1: Connection refused)
        Dec  8 01:45:33 vm postern/relay[110]: 3RRRRRRRRRRR: to=<r@tls.test>, relay=mx.tls.test[192.0.2.1]:25, TLSv1.2 with cipher X (128/128 bits), status=sent (250 ok)
        Dec  8 01:45:33 vm postern/queue[102]: 3RRRRRRRRRRR: to=<r@tls.test>, relay=relay, status=sent (250 ok)
        Dec  8 01:45:33 vm postern/master[100]: error: relay died, pid=110, signal=9; restarting in 0.1s
        Dec  8 01:45:33 vm postern/master[100]: started relay, pid=111
        Dec  8 01:45:34 vm postern/submit[104]: 5SBMTTED0000: local submission, uid=1000 (alice), from=<alice@example.test>, nrcpt=1
        Dec  8 01:45:34 vm postern/lookup[105]: warning: DNS block list bl.test did not answer for 127.0.0.9: timeout
        Dec  8 02:00:00 vm postfix/smtpd[9]: connect from elsewhere
        not a syslog line
        """

    func review(_ filter: ReviewFilter = ReviewFilter()) -> ReviewReport {
        let parser = LogLineParser(yearRule: YearRule(reference: LogTime(year: 2024, month: 12, day: 8)))
        var aggregator = ReviewAggregator(filter: filter)
        for line in Self.log.split(separator: "\n", omittingEmptySubsequences: false) {
            aggregator.add(parser.parse(String(line)))
        }
        return aggregator.result()
    }

    func testEveryCount() {
        let r = review()
        XCTAssertEqual(r.lines.read, 31)
        XCTAssertEqual(r.lines.otherPrograms, 1)
        XCTAssertEqual(r.lines.unparsable, 1)
        XCTAssertEqual(r.connections, 2)
        XCTAssertEqual(r.peakConcurrency, 2)
        XCTAssertEqual(r.messagesAccepted, 1)
        XCTAssertEqual(
            r.rejections.byReason,
            [
                "relaying_denied": 1, "unknown_user": 1, "access_map": 1, "dnsbl": 1, "size": 1,
                "bare_line_endings": 1, "protocol": 1, "limits": 1,
            ])
        XCTAssertEqual(r.auth, AuthCounts(successes: ["CRAM-MD5": 1], failures: ["PLAIN": 1]))
        XCTAssertEqual(r.tls.inbound, TLSDirection(total: 2, tls: 1, versions: ["TLSv1.3": 1]))
        XCTAssertEqual(r.tls.outbound, TLSDirection(total: 1, tls: 1, versions: ["TLSv1.2": 1]))
        XCTAssertEqual(r.deliveries.filter { $0.value > 0 }, ["mbox": 1, "maildir": 1, "relay": 1])
        XCTAssertEqual(r.deferrals.total, 1)
        XCTAssertEqual(r.topDeferralDomains, [KeyCount(key: "far.test", count: 1)])
        XCTAssertEqual(r.bounces.byReason, ["N.N.N user unknown": 1])
        XCTAssertEqual(r.notices.byReason, ["failed": 1])
        XCTAssertEqual(r.childDeaths.byReason, ["relay": 1])
        XCTAssertEqual(r.deathSignals, ["9": 1])
        XCTAssertEqual(r.restarts.byReason, ["relay": 1])
        XCTAssertEqual(r.processes["relay"]?.events["died"], 1)
        XCTAssertEqual(r.processes["submit"]?.events["submitted"], 1)
        XCTAssertEqual(r.processes["master"]?.errors, 1)
        XCTAssertEqual(
            r.processes["lookup"]?.topProblems.first?.key, "DNS block list bl.test did not answer for N.N.N.N: timeout")
        XCTAssertEqual(r.topClientsByRejections.first, KeyCount(key: "127.0.0.2", count: 6))
        XCTAssertEqual(r.messagesPerHour, [KeyCount(key: "2024-12-08 01", count: 1)])
        XCTAssertEqual(r.first, "2024-12-08 01:45:30")
    }

    func testFilters() {
        let listener = review(ReviewFilter(roles: [.listener]))
        XCTAssertEqual(Set(listener.processes.keys), ["listener"])
        XCTAssertEqual(listener.messagesAccepted, 0)
        let late = review(ReviewFilter(since: LogTime(year: 2024, month: 12, day: 8, hour: 1, minute: 45, second: 34)))
        XCTAssertEqual(late.lines.records, 2)
    }

    func testTraceFollowsTheNoticeItCaused() {
        let parser = LogLineParser(yearRule: YearRule(reference: LogTime(year: 2024, month: 12, day: 8)))
        var trace = MessageTrace("G0NE00000002")
        let records = Self.log.split(separator: "\n").compactMap { line -> ClassifiedRecord? in
            guard case .record(let r) = parser.parse(String(line)) else { return nil }
            return ClassifiedRecord(r)
        }
        records.forEach { trace.learn($0) }
        records.forEach { trace.collect($0) }
        XCTAssertEqual(trace.queueIDs, ["G0NE00000002", "0ZQ0K9YPWHVR"])
        XCTAssertEqual(trace.ordered.count, 3)
        var byAddress = MessageTrace("pt-alice@example.test")
        records.forEach { byAddress.learn($0) }
        records.forEach { byAddress.collect($0) }
        XCTAssertEqual(byAddress.queueIDs, ["2SJJTWCR36AR", "0ZQ0K9YPWHVR"])
        XCTAssertTrue(byAddress.ordered.contains { $0.role == .local })
    }

    func testJSONFieldNames() throws {
        let json = try ReportJSON.render(review())
        for name in [
            "\"peak_concurrency\"", "\"messages_accepted\"", "\"top_clients_by_connections\"", "\"death_signals\"",
            "\"in\"", "\"out\"", "\"by\"", "\"other_programs\"", "\"top_problems\"", "\"messages_per_hour\"",
        ] {
            XCTAssertTrue(json.contains(name), name)
        }
    }
}
