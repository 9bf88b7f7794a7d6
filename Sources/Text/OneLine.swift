/// Text from outside (a service's error body, a server's reply, a file name) made fit for one
/// line of a journal entry, a mail header's neighbour, a store column or a terminal: control
/// characters become spaces, runs of whitespace one space, and it is cut at a length a person
/// reads at a glance. An error page of HTML, written as is, spans dozens of journal lines.
public enum OneLine {
    /// `text` on one line, at most `limit` characters (an ellipsis marks a cut).
    public static func of(_ text: some StringProtocol, limit: Int? = nil) -> String {
        var out = ""
        out.reserveCapacity(min(text.utf8.count, (limit ?? Int.max) &+ 1))
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if isBreaking(scalar) {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.unicodeScalars.append(" ")
                pendingSpace = false
            }
            out.unicodeScalars.append(scalar)
        }
        guard let limit, out.count > limit else { return out }
        return String(out.prefix(max(0, limit - 1))) + "…"
    }

    /// The words of a markup body (an HTML error page from a proxy or an emulator): elements
    /// removed with what `<script>`/`<style>` hold, common entities decoded, on one line.
    public static func words(ofMarkup body: some StringProtocol, limit: Int = 200) -> String {
        let bytes = Array(body.utf8)
        var text: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "<") else {
                text.append(bytes[i])
                i += 1
                continue
            }
            text.append(UInt8(ascii: " "))
            let hidden = ["script", "style"].first { startsTag($0, in: bytes, at: i + 1) }
            if let hidden, let end = find("</" + hidden, in: bytes, from: i + 1) {
                i = end
            }
            // Past the element's (or its closing tag's) `>`; an unterminated tag ends the text.
            i = (bytes[i...].firstIndex(of: UInt8(ascii: ">")) ?? bytes.count - 1) + 1
        }
        var decoded = String(decoding: text, as: UTF8.self)
        for (entity, character) in entities { decoded = decoded.replacing(entity, with: character) }
        return of(decoded, limit: limit)
    }

    /// Whether the ASCII `name` starts at `index`, in any case.
    static func startsTag(_ name: String, in bytes: [UInt8], at index: Int) -> Bool {
        let name = Array(name.utf8)
        guard index + name.count <= bytes.count else { return false }
        return zip(bytes[index..<index + name.count], name).allSatisfy { lower($0) == $1 }
    }

    /// Where the ASCII `needle` next starts at or after `start`, in any case.
    static func find(_ needle: String, in bytes: [UInt8], from start: Int) -> Int? {
        let first = Array(needle.utf8)
        guard !first.isEmpty, bytes.count >= first.count else { return nil }
        var index = start
        while index + first.count <= bytes.count {
            if zip(bytes[index..<index + first.count], first).allSatisfy({ lower($0) == $1 }) { return index }
            index += 1
        }
        return nil
    }

    static func lower(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    static let entities = [("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&apos;", "'"), ("&amp;", "&")]

    /// Whitespace and every control character (C0, DEL, C1, and the Unicode line and
    /// paragraph separators, which some terminals and mail readers also break on).
    static func isBreaking(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0...0x20, 0x7F...0xA0, 0x2028, 0x2029: true
        default: false
        }
    }
}
