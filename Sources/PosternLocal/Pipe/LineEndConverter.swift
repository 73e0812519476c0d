/// Turns the spool's CR LF line ends into the LF that local programs
/// expect, one chunk at a time.
///
/// Only a CR directly followed by LF is a line end; a lone CR is content and
/// passes through. A CR at the end of a chunk is held until the next byte
/// says which it was, so the output does not depend on where chunks split.
struct LineEndConverter {
    private var heldCR = false

    mutating func convert(_ input: ArraySlice<UInt8>, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + input.count + 1)
        for byte in input {
            if heldCR && byte != 0x0A {
                out.append(0x0D)
            }
            heldCR = byte == 0x0D
            if !heldCR {
                out.append(byte)
            }
        }
    }

    /// A CR that ended the message was content after all.
    mutating func finish(into out: inout [UInt8]) {
        if heldCR {
            out.append(0x0D)
            heldCR = false
        }
    }
}
