// swift-tools-version:6.0
import PackageDescription

/// The targets that build in Swift 6 language mode (strict concurrency
/// checked by the compiler); the rest follow target by target.
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// One executable, `postern`; one library target per process role so that a
/// reader sees in one place what that role may touch.
let package = Package(
    name: "Postern",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "postern", targets: ["postern"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries, found through pkg-config.
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSASL", pkgConfig: "libsasl2", providers: [.apt(["libsasl2-dev"])]),
        // What Swift cannot call: CMSG macros, variadic prctl/syslog, setres*id.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CShims"),
        // Seeding Cyrus SASL's nonces from getrandom: C with one slot table,
        // so a real .c file (a header-only static would be copied per caller).
        .target(name: "CSASLShims", dependencies: ["CSASL"]),
        // OpenSSL helpers the listener's and the relay's TLS share.
        .target(name: "OpenSSLSupport", dependencies: ["COpenSSL"], swiftSettings: swift6),

        // The mail vocabulary every part shares (no dependencies): replies,
        // DSN requests, body types, privacy flags, line-ending policy.
        .target(name: "MailVocabulary", swiftSettings: swift6),
        .target(
            name: "PosternCore",
            dependencies: [
                "CShims", "MailVocabulary",
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: swift6),
        .target(
            name: "PosternIPC",
            dependencies: [
                "PosternCore", "CShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ], swiftSettings: swift6),
        .target(
            name: "PosternPrivilege", dependencies: ["PosternCore", "PosternIPC", "CShims", "CCap"],
            swiftSettings: swift6),
        .target(name: "SMTPProtocol", dependencies: ["MailVocabulary"], swiftSettings: swift6),
        // The sendmail command's logic (pure): arguments, the message on stdin, headers, drop files.
        .target(name: "LocalSubmission", dependencies: ["MailVocabulary"], swiftSettings: swift6),
        // The aliases map: read by the lookup (RCPT) and by local delivery.
        .target(name: "PosternAliases", dependencies: ["PosternCore"], swiftSettings: swift6),
        // `postern log`: the log review's parser, counts, report and trace (pure).
        .target(name: "LogReview", swiftSettings: swift6),

        .target(
            name: "PosternMaster", dependencies: ["PosternCore", "PosternIPC", "PosternPrivilege", "CShims"],
            swiftSettings: swift6),
        .target(
            name: "PosternListener",
            dependencies: [
                "PosternCore", "PosternIPC", "PosternPrivilege", "SMTPProtocol", "CShims", "COpenSSL", "OpenSSLSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ], swiftSettings: swift6),
        .target(
            name: "PosternLookup",
            dependencies: [
                "PosternCore", "MailVocabulary", "PosternIPC", "PosternPrivilege", "PosternAliases", "SMTPProtocol",
                "CSASL", "CSASLShims",
            ], swiftSettings: swift6),
        .target(
            name: "PosternQueue",
            dependencies: [
                "PosternCore", "PosternIPC", "PosternPrivilege", "CShims",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ], swiftSettings: swift6),
        .target(
            name: "PosternLocal",
            dependencies: [
                "PosternCore", "PosternIPC", "PosternPrivilege", "PosternAliases", "CShims",
            ], swiftSettings: swift6),
        .target(
            name: "PosternRelay",
            dependencies: [
                "PosternCore", "PosternIPC", "PosternPrivilege", "SMTPProtocol", "COpenSSL", "OpenSSLSupport",
            ], swiftSettings: swift6),
        .target(
            name: "PosternSubmit",
            dependencies: [
                "PosternCore", "PosternIPC", "PosternPrivilege", "SMTPProtocol", "LocalSubmission", "PosternListener",
                "CShims", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ], swiftSettings: swift6),
        .executableTarget(
            name: "postern",
            dependencies: [
                "PosternCore", "PosternMaster", "PosternListener", "PosternLookup",
                "PosternQueue", "PosternLocal", "PosternRelay", "PosternSubmit", "LocalSubmission", "PosternIPC",
                "LogReview", "CZlib",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], swiftSettings: swift6),

        .testTarget(name: "PosternCoreTests", dependencies: ["PosternCore"]),
        .testTarget(name: "LogReviewTests", dependencies: ["LogReview", "PosternCore"], swiftSettings: swift6),
        .testTarget(name: "LocalSubmissionTests", dependencies: ["LocalSubmission"]),
        .testTarget(name: "PosternSubmitTests", dependencies: ["PosternSubmit", "LocalSubmission", "PosternCore"]),
        .testTarget(
            name: "PosternIPCTests",
            dependencies: ["PosternIPC", "PosternCore", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(name: "SMTPProtocolTests", dependencies: ["SMTPProtocol", "PosternCore"]),
        .testTarget(name: "PosternLocalTests", dependencies: ["PosternLocal", "PosternCore", "PosternIPC"]),
        .testTarget(
            name: "PosternListenerTests",
            dependencies: [
                "PosternListener", "COpenSSL", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(name: "PosternLookupTests", dependencies: ["PosternLookup", "PosternIPC"]),
        .testTarget(name: "PosternQueueTests", dependencies: ["PosternQueue", "PosternCore", "PosternIPC"]),
        .testTarget(name: "PosternAliasesTests", dependencies: ["PosternAliases", "PosternCore"]),
        .testTarget(
            name: "PosternRelayTests",
            dependencies: [
                "PosternRelay", "PosternCore", "SMTPProtocol",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .testTarget(
            name: "PosternMasterTests",
            dependencies: [
                "PosternMaster", "PosternCore", "PosternIPC", "PosternListener", "PosternLookup", "PosternQueue",
                "PosternLocal", "PosternRelay", "PosternSubmit", "CShims",
            ]),
    ],
    swiftLanguageModes: [.v5]
)
