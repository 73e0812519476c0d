import PosternCore
/// Why a line of an aliases file (or of an `:include:` list) was refused.
/// Typed so that the small parsing pieces can throw precisely and the line
/// loop turns each into one `MapProblem` with the file and line.
public enum AliasSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    case lineTooLong(bytes: Int)
    case nulByte
    case controlCharacter(UInt32)
    case continuationWithoutEntry
    case missingColon
    case emptyName
    case nameTooLong(String, bytes: Int)
    case blankInName(String)
    case domainInName(String)
    case textAfterQuotedName(String)
    case unterminatedQuote
    case noTargets(String)
    case blankInTarget(String)
    case emptyPipe
    case emptyInclude
    case relativeInclude(String)
    case invalidAddress(String)
    case emptyVerbatimUser
    case tooManyTargets(limit: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let bytes):
            return "line is \(bytes) bytes long (limit \(AliasesFile.maximumLineBytes))"
        case .nulByte: return "NUL byte in line"
        case .controlCharacter(let value):
            return "control character U+\(String(value, radix: 16, uppercase: true)) in line"
        case .continuationWithoutEntry: return "continuation line (starts with a blank) with no alias before it"
        case .missingColon: return "no colon after the alias name"
        case .emptyName: return "empty alias name"
        case .nameTooLong(let name, let bytes):
            return "name \"\(name.prefix(20))...\" is \(bytes) bytes long (limit \(AliasName.maximumBytes))"
        case .blankInName(let name): return "name \"\(name)\" contains a blank; quote it"
        case .domainInName(let name): return "name \"\(name)\" has a domain; alias names are local parts"
        case .textAfterQuotedName(let text): return "text \"\(text)\" between the quoted name and the colon"
        case .unterminatedQuote: return "unterminated quote"
        case .noTargets(let name): return "alias \"\(name)\" has no targets"
        case .blankInTarget(let target):
            return "target \"\(target)\" contains a blank; separate targets with commas or quote it"
        case .emptyPipe: return "pipe target with no command"
        case .emptyInclude: return ":include: with no file name"
        case .relativeInclude(let path): return ":include: file \"\(path)\" is not an absolute path"
        case .invalidAddress(let target): return "invalid address \"\(target)\""
        case .emptyVerbatimUser: return "backslash with no user name after it"
        case .tooManyTargets(let limit): return "more than \(limit) targets; use an :include: file"
        }
    }
}
