import XCTest

@testable import PosternLookup

final class PasswdFileTests: XCTestCase {
    func testPasswdParsingSkipsMalformedAndNISLines() {
        let text = """
            root:x:0:0:root:/root:/bin/bash
            +nis::::::
            -bad::::::
            :nouser:1:1::/:/bin/sh
            alice:x:1000:1000::/home/alice:/bin/sh
            broken line

            """
        XCTAssertEqual(PasswdFile.userNames(Array(text.utf8)), ["root", "alice"])
    }
}
