import XCTest

@testable import LocalSubmission

final class DropFileNameTests: XCTestCase {
    func testANameRoundTripsAndForeignNamesAreNotOurs() throws {
        let name = try XCTUnwrap(DropFileName(uid: 1000, random: [UInt8](repeating: 0xAB, count: 16)))
        XCTAssertEqual(DropFileName(name.description), name)
        XCTAssertEqual(name.uid, 1000)
        XCTAssertNil(DropFileName("U1000.xyz"))
        XCTAssertNil(DropFileName("../U1000." + String(repeating: "a", count: 32)))
    }
}
