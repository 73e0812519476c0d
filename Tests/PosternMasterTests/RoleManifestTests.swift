import PosternCore
import PosternListener
import PosternLocal
import PosternLookup
import PosternQueue
import PosternRelay
import PosternSubmit
import XCTest

/// The manifests the master runs by: the edges they give are the ones the
/// processes need, no peer is named on one side only, and only `local`
/// keeps capabilities.
final class RoleManifestTests: XCTestCase {
    let supervised = [
        LookupRole.manifest, QueueRole.manifest, LocalRole.manifest, RelayRole.manifest, ListenerRole.manifest,
        SubmitRole.manifest,
    ]

    func testTheEdgesAreTheEightSocketpairs() {
        let edges = Set(
            RoleManifests.edges(supervised).map { [$0.0.rawValue, $0.1.rawValue].sorted().joined(separator: "-") })
        XCTAssertEqual(
            edges,
            [
                "listener-lookup", "listener-queue", "local-queue", "queue-relay", "lookup-queue", "lookup-relay",
                "queue-submit", "lookup-submit",
            ])
        XCTAssertEqual(RoleManifests.inconsistencies(supervised), [])
    }

    func testNoEdgeJoinsTheNetworkToTheProcessThatKeepsCapabilities() {
        for (a, b) in RoleManifests.edges(supervised) {
            XCTAssertFalse([a, b].contains(.listener) && [a, b].contains(.local), "listener-local")
            XCTAssertFalse([a, b].contains(.relay) && [a, b].contains(.local), "relay-local")
            XCTAssertFalse([a, b].contains(.listener) && [a, b].contains(.submit), "listener-submit")
        }
    }

    func testOnlyLocalKeepsCapabilitiesAndOnlyItStaysRoot() {
        for manifest in supervised {
            if manifest.role == .local {
                XCTAssertEqual(manifest.identity, .root)
                XCTAssertEqual(manifest.root, .none)
                XCTAssertEqual(Set(manifest.capabilities), [.setuid, .setgid, .sysChroot, .dacReadSearch, .chown])
            } else {
                XCTAssertNotNil(manifest.systemUser, "\(manifest.role)")
                XCTAssertNotEqual(manifest.root, .none, "\(manifest.role) is chrooted")
                XCTAssertEqual(manifest.capabilities, [], "\(manifest.role)")
            }
        }
        XCTAssertEqual(LocalWorkerRole.manifest.identity, .recipient)
        XCTAssertEqual(LocalWorkerRole.manifest.capabilities, [])
    }

    func testAPeerNamedOnOneSideOnlyIsFound() {
        var broken = supervised
        broken[3] = RoleManifest(
            role: .relay, identity: .systemUser("postern-relay"), root: .emptyDirectory, peers: [.queue, .local],
            job: "")
        let problems = RoleManifests.inconsistencies(broken)
        XCTAssertEqual(
            problems,
            [
                "lookup names relay as a peer, but not the other way",
                "relay names local as a peer, but not the other way",
            ])
        XCTAssertFalse(RoleManifests.edges(broken).contains { $0 == (.relay, .lookup) || $0 == (.lookup, .relay) })
    }

    func testTheDescriptionNamesTheConfiguredRoot() {
        var config = PosternConfig(sourcePath: "t.conf", myHostname: "mx.example.org")
        config.queueDirectory = "/srv/spool"
        XCTAssertEqual(
            QueueRole.manifest.describe(in: config),
            "queue: user postern-queue, root /srv/spool (QueueDirectory), capabilities none, peers listener local relay lookup submit, given the queue control sockets; the spool: commits, scheduling, retries, notices, queue control"
        )
    }
}
