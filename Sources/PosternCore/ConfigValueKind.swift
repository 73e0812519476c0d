/// How one kind of option value is read from the file and written back.
/// `render` must give text that `parse` turns into the same value: the
/// master hands the rendered configuration to its children, who parse it
/// again, and the option table's tests check every default this way.
struct ConfigValueKind<Value: SendableMetatype>: Sendable {
    /// The value, or every reason it is not one (a list can have several).
    let parse: @Sendable (String) throws(ConfigValueErrors) -> Value
    /// The value in the file's syntax.
    let render: @Sendable (Value) -> String
}

extension ConfigValueKind {
    /// A kind whose parser gives one reason at most, as all but the lists do.
    static func single(
        _ parse: @escaping @Sendable (String) throws(ConfigValueError) -> Value,
        render: @escaping @Sendable (Value) -> String
    ) -> Self {
        Self(
            parse: { text throws(ConfigValueErrors) in
                do throws(ConfigValueError) {
                    return try parse(text)
                } catch {
                    throw ConfigValueErrors(error)
                }
            },
            render: render)
    }

    /// An optional value: `keyword` (any case) means nil, and nil prints as
    /// it (`none` for the TLS files, `syslog` for LogFile).
    static func optional<Wrapped>(
        _ kind: ConfigValueKind<Wrapped>, keyword: String = ConfigOption.noneKeyword
    ) -> Self where Value == Wrapped? {
        Self(
            parse: { text throws(ConfigValueErrors) in
                ConfigText.asciiLowercased(text) == keyword ? nil : try kind.parse(text)
            },
            render: { value in value.map(kind.render) ?? keyword })
    }

    /// A list or text that may be empty: `none` (any case) is the empty
    /// value, and the empty value prints as `none`, so that it round-trips.
    static func orNone(_ kind: Self) -> Self where Value: RangeReplaceableCollection {
        Self(
            parse: { text throws(ConfigValueErrors) in
                ConfigText.asciiLowercased(text) == ConfigOption.noneKeyword ? Value() : try kind.parse(text)
            },
            render: { value in value.isEmpty ? ConfigOption.noneKeyword : kind.render(value) })
    }

    /// One of an enumeration's raw values, any case; the reason follows the
    /// quoted text ("is neither reject nor normalize").
    static func keyword(_ reason: String) -> Self where Value: RawRepresentable<String> {
        single(
            { text throws(ConfigValueError) in
                guard let value = Value(rawValue: ConfigText.asciiLowercased(text)) else {
                    throw ConfigValueError("\(ConfigText.quoted(text)) \(reason)")
                }
                return value
            }, render: \.rawValue)
    }
}

// The parsers are wrapped in closures rather than named (`ConfigValue.size`):
// in Swift 5 mode a method reference is not @Sendable, and a closure does not
// infer a typed throw from its context, hence `text throws(ConfigValueError) in`.

extension ConfigValueKind where Value == String {
    /// Text a parser checks (and may normalise), printed as it is.
    static func text(_ parse: @escaping @Sendable (String) throws(ConfigValueError) -> String) -> Self {
        single(parse, render: { $0 })
    }

    /// An absolute path with single slashes.
    static var path: Self { text { text throws(ConfigValueError) in try ConfigValue.absolutePath(text) } }
    /// A file's absolute path (not the root).
    static var filePath: Self { text { text throws(ConfigValueError) in try ConfigValue.filePath(text) } }
    /// A host name, lower case.
    static var hostName: Self { text { text throws(ConfigValueError) in try ConfigValue.hostName(text) } }
    static var groupName: Self { text { text throws(ConfigValueError) in try ConfigValue.groupName(text) } }
    static var userName: Self { text { text throws(ConfigValueError) in try ConfigValue.userName(text) } }
    /// SmtpGreetingMessage: no control characters, only the macros $j, $b, $$.
    static var greeting: Self { text { text throws(ConfigValueError) in try ConfigValue.greeting(text) } }
    /// SMART_HOST: `host`, `[host]` or `[host]:port`.
    static var smartHost: Self { text { text throws(ConfigValueError) in try ConfigValue.smartHost(text) } }
    /// HomeMailbox: a Maildir below the home.
    static var maildir: Self { text { text throws(ConfigValueError) in try ConfigValue.homeMailbox(text) } }
    /// An OpenSSL cipher list.
    static var cipherString: Self { text { text throws(ConfigValueError) in try ConfigValue.cipherString(text) } }
}

extension ConfigValueKind where Value == Int {
    /// Bytes, with k, m or g; printed in the largest unit that divides it.
    static var size: Self {
        single({ text throws(ConfigValueError) in try ConfigValue.size(text) }, render: { ConfigValue.renderSize($0) })
    }

    /// A whole number within the option's range.
    static func count(in range: ClosedRange<Int>) -> Self {
        single({ text throws(ConfigValueError) in try ConfigValue.integer(text, in: range) }, render: { "\($0)" })
    }

    /// Seconds within the option's range, with s, m, h or d.
    static func duration(in range: ClosedRange<Int>) -> Self {
        single(
            { text throws(ConfigValueError) in try ConfigValue.duration(text, in: range) },
            render: { ConfigValue.renderDuration($0) })
    }
}

extension ConfigValueKind where Value == UInt16 {
    /// A TCP port, 1 to 65535.
    static var port: Self {
        single(
            { text throws(ConfigValueError) in UInt16(clamping: try ConfigValue.integer(text, in: 1...65_535)) },
            render: { "\($0)" })
    }
}

extension ConfigValueKind where Value == Bool {
    /// yes/no (true/false, on/off, 1/0 are read too); printed as yes or no.
    static var yesNo: Self {
        single({ text throws(ConfigValueError) in try ConfigValue.boolean(text) }, render: { $0 ? "yes" : "no" })
    }
}

extension ConfigValueKind where Value == [String] {
    /// Host names separated by commas and blanks; one reason per bad name.
    static var domains: Self {
        Self(
            parse: { text throws(ConfigValueErrors) in try ConfigValue.domainList(text).get() },
            render: { $0.joined(separator: ", ") })
    }

    /// MASQUERADE_DOMAIN entries (`host.example`, `.example`).
    static var masqueradeDomains: Self {
        Self(
            parse: { text throws(ConfigValueErrors) in try ConfigValue.masqueradeDomains(text).get() },
            render: { $0.joined(separator: ", ") })
    }

    /// User names separated by commas and blanks.
    static var users: Self {
        single(
            { text throws(ConfigValueError) in try ConfigValue.userList(text) }, render: { $0.joined(separator: ", ") })
    }

    /// SASL mechanism names, upper case, printed in order with blanks.
    static var mechanisms: Self {
        single(
            { text throws(ConfigValueError) in try ConfigValue.mechanisms(text) }, render: { $0.joined(separator: " ") }
        )
    }
}

extension ConfigValueKind where Value == [ListenAddress] {
    /// DNS servers, `ADDR[:PORT]` (port 53 when left out).
    static var resolvers: Self {
        single(
            { text throws(ConfigValueError) in try ConfigValue.resolvers(text) },
            render: { $0.map(\.description).joined(separator: ", ") })
    }
}

extension ConfigValueKind where Value == Set<PrivacyOption> {
    /// Sendmail's privacy flags, `goaway` and `public` expanded.
    static var privacyOptions: Self {
        Self(
            parse: { text throws(ConfigValueErrors) in try ConfigValue.privacyOptions(text).get() },
            render: { ConfigValue.renderPrivacy($0) })
    }
}
