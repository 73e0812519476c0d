// swift-tools-version:6.0
import PackageDescription

/// libFuzzer targets for Postern's parsers and the SMTP server machine.
///
/// A package of its own so that the sanitizer flags never touch the main
/// build. The product modules are the main package's own sources, reached
/// through the symbolic links in Sources/ (the main package exports only the
/// `postern` executable, so they cannot be a package dependency); their
/// dependencies below must follow the main Package.swift.
///
/// Build and run with scripts/fuzz, which passes the flags a libFuzzer
/// binary needs: -sanitize=fuzzer, -parse-as-library and the lld linker.
/// Each fuzz target's source defines `LLVMFuzzerTestOneInput` and its
/// `<target>_main`, the symbol SwiftPM links in as `main`.
let fuzzTargets = [
    "fuzz_command", "fuzz_address", "fuzz_data", "fuzz_session",
    "fuzz_frame", "fuzz_control", "fuzz_access", "fuzz_dns", "fuzz_reply", "fuzz_aliases", "fuzz_drop",
]

/// The harnesses check internal invariants (`@testable import`), and build
/// with optimization, so the modules they look into need testability.
let testable: [SwiftSetting] = [.unsafeFlags(["-enable-testing"])]

let package = Package(
    name: "PosternFuzz",
    platforms: [.macOS(.v13)],
    products: fuzzTargets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The main package's targets, as its Package.swift declares them.
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .systemLibrary(name: "CSASL", pkgConfig: "libsasl2", providers: [.apt(["libsasl2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "CShims"),
        .target(name: "CSASLShims", dependencies: ["CSASL"]),
        .target(name: "MailVocabulary", swiftSettings: testable),
        .target(name: "LocalSubmission", dependencies: ["MailVocabulary"], swiftSettings: testable),
        .target(
            name: "PosternCore",
            dependencies: ["CShims", "MailVocabulary", .product(name: "Logging", package: "swift-log")],
            swiftSettings: testable),
        .target(
            name: "PosternIPC",
            dependencies: [
                "PosternCore", "CShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: testable),
        .target(name: "PosternPrivilege", dependencies: ["PosternCore", "PosternIPC", "CShims", "CCap"]),
        .target(name: "SMTPProtocol", dependencies: ["MailVocabulary"], swiftSettings: testable),
        .target(name: "PosternAliases", dependencies: ["PosternCore"], swiftSettings: testable),
        .target(
            name: "PosternLookup",
            dependencies: [
                "PosternCore", "MailVocabulary", "PosternIPC", "PosternPrivilege", "PosternAliases", "SMTPProtocol", "CSASL",
                "CSASLShims",
            ],
            swiftSettings: testable),
        .target(name: "OpenSSLSupport", dependencies: ["COpenSSL"]),
        .target(
            name: "PosternRelay",
            dependencies: [
                "PosternCore", "PosternIPC", "PosternPrivilege", "SMTPProtocol", "COpenSSL", "OpenSSLSupport",
            ],
            swiftSettings: testable),
        .target(
            name: "PosternQueue",
            dependencies: [
                "PosternCore", "PosternIPC", "PosternPrivilege", "CShims",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: testable),

        // Shared by the harnesses: the libFuzzer driver, input helpers.
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        .target(name: "SMTPFuzzSupport", dependencies: ["FuzzSupport", "SMTPProtocol"]),

        .executableTarget(name: "fuzz_command", dependencies: ["FuzzSupport", "SMTPFuzzSupport", "SMTPProtocol"]),
        .executableTarget(name: "fuzz_address", dependencies: ["FuzzSupport", "SMTPFuzzSupport", "SMTPProtocol"]),
        .executableTarget(name: "fuzz_data", dependencies: ["FuzzSupport", "SMTPFuzzSupport", "SMTPProtocol"]),
        .executableTarget(
            name: "fuzz_session",
            dependencies: [
                "FuzzSupport", "SMTPFuzzSupport", "SMTPProtocol", "PosternCore", "PosternIPC", "PosternQueue",
            ]),
        .executableTarget(name: "fuzz_frame", dependencies: ["FuzzSupport", "PosternCore", "PosternIPC"]),
        .executableTarget(name: "fuzz_control", dependencies: ["FuzzSupport", "PosternCore", "PosternQueue"]),
        .executableTarget(name: "fuzz_access", dependencies: ["FuzzSupport", "PosternLookup"]),
        .executableTarget(name: "fuzz_dns", dependencies: ["FuzzSupport", "PosternLookup"]),
        .executableTarget(name: "fuzz_reply", dependencies: ["FuzzSupport", "PosternCore", "SMTPProtocol"]),
        .executableTarget(name: "fuzz_aliases", dependencies: ["FuzzSupport", "PosternCore", "PosternAliases"]),
        .executableTarget(name: "fuzz_drop", dependencies: ["FuzzSupport", "LocalSubmission"]),
    ],
    swiftLanguageModes: [.v5]
)
