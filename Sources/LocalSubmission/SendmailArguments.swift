import MailVocabulary

/// Sendmail's command line, with Sendmail's meanings (sendmail(8); Postfix's
/// sendmail(1) where the two agree), parsed the way getopt does it:
/// single-letter flags may be grouped (`-ti`, `-oem`), a flag's argument
/// may be attached (`-fuser@x`) or the next argument (`-f user@x`), and
/// `--` ends the flags.
///
/// The first argument that is not a flag ends the flags too, as with POSIX
/// getopt and Sendmail; everything after it is a recipient. An argument
/// after that point that starts with "-" is refused rather than sent to:
/// `sendmail alice -f x` is a mistake (GNU getopt would take -f as a flag,
/// Sendmail would mail "-f"), and saying so beats guessing. After `--`
/// every argument is an address, whatever it starts with.
///
/// Flags accepted and silently ignored, because they ask for what Postern
/// does anyway or for nothing at all: `-m`, `-U`, `-G`, `-c`, `-s`, `-Am`,
/// `-Ac`. Flags accepted with a note (their feature does not exist here):
/// `-n`, `-d`, `-D`, `-M`, `-p`, `-X`, and every `-o`/`-O` option but
/// IgnoreDots (`i`), ErrorMode (`e`) and DeliveryMode (`d`).
public enum SendmailArguments {
    /// The most recipients one command line may name.
    public static let maxRecipients = 10_000
    /// The longest -V envelope identifier (RFC 3461 §4.4).
    public static let maxEnvelopeIDLength = 100
    /// The longest -L tag, -C path, -F name or address.
    public static let maxValueLength = 1_000
    /// The largest -h hop count.
    public static let maxHopCount = 1_000

    public static let usage = """
        usage: sendmail [flags] [--] [recipient ...]
          -t             take the recipients from To, Cc and Bcc
          -i, -oi        a line of a single "." does not end the message
          -f ADDR, -r ADDR
                         envelope sender ("<>" or "" for the null sender)
          -F NAME        full name for the From: line
          -oem -oep -oeq -oew -oee
                         report errors by mail, print, quietly, by mail,
                         by mail and exit 0
          -odb -odi -odq deliver in the background, interactively, queue only
          -B 7BIT|8BITMIME, -N never|success,failure,delay, -R full|hdrs,
          -V ENVID       body type and delivery status notification requests
          -bm            read a message and send it (the default)
          -bs            an SMTP session on standard input and output
          -bp            print the queue (mailq)
          -bi            rebuild the aliases (newaliases)
          -bv            verify the recipients
          -q, -qI<id>, -qR<recipient>, -qS<sender>
                         run the queue, or the matching part of it, once
          -v             verbose
          -L TAG, -h HOPS, -C FILE, -o OPTION, -O NAME=VALUE
        """

    /// - Parameter args: the arguments without argv[0].
    public static func parse(_ args: [String]) throws(SendmailUsageError) -> SendmailInvocation {
        var parser = SendmailArgumentParser(args: args)
        return try parser.run()
    }
}

/// One pass over the arguments; `SendmailArguments` documents the rules.
struct SendmailArgumentParser {
    let args: [String]
    var index = 0
    var invocation = SendmailInvocation()

    init(args: [String]) {
        self.args = args
    }

    mutating func run() throws(SendmailUsageError) -> SendmailInvocation {
        while index < args.count {
            let argument = args[index]
            index += 1
            if argument == "--" {
                for rest in args[index...] { try addRecipients(rest) }
                break
            }
            guard argument.hasPrefix("-") else {
                try addRecipients(argument)
                for rest in args[index...] {
                    guard !rest.hasPrefix("-") else {
                        throw SendmailUsageError("flags must come before the recipients: \(rest)")
                    }
                    try addRecipients(rest)
                }
                break
            }
            guard argument != "-" else { throw SendmailUsageError("a lone \"-\" is neither a flag nor an address") }
            try flagGroup(Array(argument.unicodeScalars.dropFirst()))
        }
        return invocation
    }

    /// `-tiv`: flags until one that takes the rest of the group (or the
    /// next argument) as its value.
    private mutating func flagGroup(_ letters: [Unicode.Scalar]) throws(SendmailUsageError) {
        var position = 0
        while position < letters.count {
            let letter = letters[position]
            position += 1
            let rest = String(String.UnicodeScalarView(letters[position...]))
            if SendmailArgumentParser.flagsWithoutValue.contains(letter) {
                try flag(letter)
            } else if letter == "q" {
                try SendmailQueueRun.apply(rest, to: &invocation)
                return
            } else if SendmailArgumentParser.flagsWithValue.contains(letter) {
                let value: String
                if !rest.isEmpty {
                    value = rest
                } else if index < args.count {
                    value = args[index]
                    index += 1
                } else {
                    throw SendmailUsageError("option requires an argument -- \(letter)")
                }
                try flag(letter, value: value)
                return
            } else {
                throw SendmailUsageError("unknown flag -\(letter)")
            }
        }
    }

    static let flagsWithoutValue: Set<Unicode.Scalar> = ["t", "i", "v", "m", "n", "U", "G", "c", "s", "I"]
    static let flagsWithValue: Set<Unicode.Scalar> = [
        "A", "B", "b", "C", "D", "d", "e", "F", "f", "h", "L", "M", "N", "O", "o", "p", "R", "r", "V", "X",
    ]

    private mutating func flag(_ letter: Unicode.Scalar) throws(SendmailUsageError) {
        switch letter {
        case "t": invocation.extractRecipients = true
        case "i": invocation.ignoreDots = true
        case "v": invocation.verbose = true
        case "I": invocation.mode = .rebuildAliases
        case "n": invocation.notes.append("sendmail: -n ignored: aliases always apply")
        default: break  // -m, -U, -G, -c, -s: nothing to do.
        }
    }

    private mutating func flag(_ letter: Unicode.Scalar, value: String) throws(SendmailUsageError) {
        switch letter {
        case "A":
            guard value == "m" || value == "c" else { throw SendmailUsageError("-A takes m or c, not \"\(value)\"") }
        case "B": invocation.bodyType = try SendmailValues.bodyType(value)
        case "b": invocation.mode = try SendmailValues.mode(value)
        case "C": invocation.configFile = try SendmailValues.text(value, flag: "-C")
        case "e": SendmailOptions.errorMode(value, spelled: "-e\(value)", into: &invocation)
        case "F": invocation.fullName = try SendmailValues.text(value, flag: "-F", allowEmpty: true)
        case "f", "r": try setSender(value)
        case "h": invocation.hopCount = try SendmailValues.hopCount(value)
        case "L": invocation.logTag = try SendmailValues.text(value, flag: "-L")
        case "N": invocation.notify = try SendmailValues.notify(value)
        case "O": SendmailOptions.long(value, into: &invocation)
        case "o": SendmailOptions.short(value, into: &invocation)
        case "R": invocation.ret = try SendmailValues.ret(value)
        case "V": invocation.envelopeID = try SendmailValues.envelopeID(value)
        default:  // -D, -d, -M, -p, -X
            invocation.notes.append("sendmail: -\(letter) \(value) ignored")
        }
    }

    /// Sendmail refuses a second -f ("More than one from person"); Postfix
    /// takes the last. The same address twice is harmless, so only a
    /// different one is refused.
    private mutating func setSender(_ value: String) throws(SendmailUsageError) {
        let sender = try SendmailValues.sender(value)
        if let previous = invocation.sender, previous != sender {
            throw SendmailUsageError("more than one sender: \(previous) and \(sender)")
        }
        invocation.sender = sender
    }

    /// Sendmail reads each argument as an address list: "a@x, b@y" is two.
    private mutating func addRecipients(_ argument: String) throws(SendmailUsageError) {
        for address in RecipientArgument.split(argument) {
            guard Bytes.hasNoControls(address), address.utf8.count <= SendmailArguments.maxValueLength else {
                throw SendmailUsageError("invalid recipient: \(address.debugDescription)")
            }
            guard invocation.recipients.count < SendmailArguments.maxRecipients else {
                throw SendmailUsageError("more than \(SendmailArguments.maxRecipients) recipients")
            }
            invocation.recipients.append(address)
        }
    }
}
