/// What may stand as a local user on the right-hand side of a
/// virtusertable or mailertable entry. The name goes on to the local
/// delivery process, so it must be a plain login-like name: no `@`, `%`
/// or `!` (routing to somewhere else), no `/`, `|` or `:` (files, programs
/// and `:include:`, which belong in the aliases file where their owner is
/// known), no quotes, blanks or controls, and no leading `-` (which a
/// delivery program would take for an option).
enum VirtualLocalUser {
    /// Longer than any login name on Linux (32) with room to spare.
    static let maxLength = 256

    static func isValid(_ name: some StringProtocol) -> Bool {
        guard let first = name.first, first != "-", first != ".", name.utf8.count <= maxLength else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0...0x20, 0x7f...0x9f: return false
            default: return !forbidden.contains(scalar)
            }
        }
    }

    private static let forbidden: Set<Unicode.Scalar> = [
        "@", "%", "!", "/", "|", ":", "\"", "\\", ",", ";", "<", ">", "(", ")", "[", "]",
    ]
}
