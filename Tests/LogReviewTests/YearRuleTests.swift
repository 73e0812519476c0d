import XCTest

@testable import LogReview

final class YearRuleTests: XCTestCase {
    func testTheReferenceYearUnlessTheStampIsLater() {
        let january = YearRule(reference: LogTime(year: 2025, month: 1, day: 2))
        XCTAssertEqual(january.year(month: 1, day: 1), 2025)
        XCTAssertEqual(january.year(month: 1, day: 3), 2025, "a day of slack")
        XCTAssertEqual(january.year(month: 1, day: 4), 2024)
        XCTAssertEqual(january.year(month: 12, day: 31), 2024)
        let december = YearRule(reference: LogTime(year: 2024, month: 12, day: 31))
        XCTAssertEqual(december.year(month: 12, day: 31), 2024)
        XCTAssertEqual(december.year(month: 1, day: 1), 2024)
    }

    func testSinceAndUntilArguments() {
        XCTAssertEqual(LogTime(argument: "2024-12-08"), LogTime(year: 2024, month: 12, day: 8))
        XCTAssertEqual(
            LogTime(argument: "2024-12-08 01:04"), LogTime(year: 2024, month: 12, day: 8, hour: 1, minute: 4))
        XCTAssertEqual(
            LogTime(argument: "2024-12-08T01:04:05"),
            LogTime(year: 2024, month: 12, day: 8, hour: 1, minute: 4, second: 5))
        for bad in ["", "2024-13-01", "2024-12-8", "yesterday", "2024-12-08 25:00"] {
            XCTAssertNil(LogTime(argument: bad), bad)
        }
    }
}
