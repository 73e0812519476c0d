import XCTest

@testable import PosternCore

/// The option table itself: every option has one row, every row's default
/// survives render and parse, and the rows marked restart-only are the
/// options the master has always warned about.
final class ConfigOptionTableTests: XCTestCase {
    let defaults = PosternConfig(sourcePath: "test.conf", myHostname: "mx.example.org")
    let names = ConfigOption.allCases.map(\.rawValue)

    func testEveryOptionHasExactlyOneRow() {
        XCTAssertEqual(Set(names.map { $0.lowercased() }).count, names.count, "names differ in more than case")
        XCTAssertEqual(ConfigOption.byLowercasedName.count, names.count)
        XCTAssertEqual(Set(ConfigOption.allCases.map(\.keyPath)).count, names.count, "no property has two rows")
        // Every stored property is an option's, but the source path and the
        // Listen kinds (Listen's row carries them): a property added without
        // a row shows here.
        let leaves = Self.storedLeaves(of: defaults)
        XCTAssertEqual(Set(leaves).count, leaves.count)
        XCTAssertEqual(Set(leaves).subtracting(["sourcePath", "listenKinds"]).count, names.count)
    }

    func testRenderPrintsEveryRowOnceInTableOrder() throws {
        let printed = defaults.render().split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            String($0.prefix { $0 != " " })
        }
        XCTAssertEqual(printed, names, "one Listen by default, so one line per row")
        XCTAssertEqual(names.first, "MyHostname")
        XCTAssertEqual(names.last, "SenderLoginMap")
    }

    func testEveryRowsDefaultRendersAndParsesBack() throws {
        for option in ConfigOption.allCases {
            let text = option.render(defaults).map { "\(option.rawValue) = \($0)" }.joined(separator: "\n")
            switch parseConfig(text) {
            case .success(let parsed):
                XCTAssertTrue(option.sameValue(parsed, defaults), text)
                XCTAssertEqual(parsed, defaults, text)
            case .failure(let errors):
                XCTFail("\(text): \(errors)")
            }
        }
    }

    func testRestartOnlyRowsAreThoseTheMasterWarnedAbout() {
        let restart = Dictionary(
            uniqueKeysWithValues: ConfigOption.allCases.compactMap { option in
                option.restart.map { (option.rawValue, $0) }
            })
        XCTAssertEqual(
            restart,
            [
                "Listen": .listen,
                "TLSCertificateFile": .tlsAndSASL, "TLSKeyFile": .tlsAndSASL, "TLSCAFile": .tlsAndSASL,
                "TLSCipherList": .tlsAndSASL, "TLSCipherSuites": .tlsAndSASL, "TLSMinVersion": .tlsAndSASL,
                "SaslPasswordCheck": .tlsAndSASL, "SaslDbFile": .tlsAndSASL, "SaslauthdSocket": .tlsAndSASL,
            ])
        XCTAssertEqual(ConfigRestart.allCases.filter(\.keepsRunningValue), [.listen])
    }

    func testOnlyListenRepeats() {
        XCTAssertEqual(ConfigOption.allCases.filter(\.isRepeatable).map(\.rawValue), ["Listen"])
    }

    func testOnlyTheDirectoriesAndMailGroupHaveTheirDefaultsChecked() {
        var absent = defaults
        for option in ConfigOption.allCases {
            set(&absent, option, "/nonexistent-postern/x")
        }
        absent.mailGroup = "no-such-group-postern"
        absent.queueAdminGroup = "no-such-group-postern"
        absent.addressing.defaultUser = "no-such-user-postern"
        absent.logFile = "/nonexistent-postern/x/log"
        let checked = ConfigOption.allCases.filter { $0.defaultProblem(absent) != nil }.map(\.rawValue)
        XCTAssertEqual(
            checked,
            [
                "ConfigDirectory", "QueueDirectory", "DropDirectory", "EmptyDirectory", "MailDirectory",
                "SafeFileEnvironment",
                "SmrshDirectory", "RunDirectory", "MailGroup",
            ])
    }

    /// Sets the option to `value` when that parses for it (the paths).
    private func set(_ config: inout PosternConfig, _ option: ConfigOption, _ value: String) {
        if case .success(let parsed) = parseConfig("\(option.rawValue) = \(value)") {
            option.copyValue(parsed, &config)
        }
    }

    /// The paths of the stored properties, with those of the option groups
    /// (`security.tlsCAFile`) in place of the groups.
    private static func storedLeaves(of value: Any, under prefix: String = "") -> [String] {
        Mirror(reflecting: value).children.flatMap { child -> [String] in
            let path = prefix + (child.label ?? "?")
            switch child.value {
            case is SecurityConfig, is AddressingConfig, is RelayConfig:
                return storedLeaves(of: child.value, under: path + ".")
            default: return [path]
            }
        }
    }
}
