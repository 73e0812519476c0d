import PosternRelay
import XCTest

/// The relay's test target exists before its code does; the client's tests
/// replace this file.
final class RelayPlaceholderTests: XCTestCase {
    func testRelayModuleLinks() {
        XCTAssertNotNil(RelayRole.self)
    }
}
