/// Just enough XML reading for S3's and the query protocols' small, flat documents:
/// the text of named elements, and the inner XML of repeated ones. Not a general parser:
/// no namespaces prefixes, CDATA or DTDs, which these responses never contain.
public enum XMLText {
    /// The decoded text of every `<name>…</name>` in document order.
    public static func all(_ name: String, in xml: String) -> [String] {
        elements(name, in: xml).map(decodeEntities)
    }

    public static func first(_ name: String, in xml: String) -> String? {
        all(name, in: xml).first
    }

    /// The raw inner XML of every `<name>…</name>` (attributes on the opening tag allowed).
    public static func elements(_ name: String, in xml: String) -> [String] {
        var results: [String] = []
        var rest = xml[...]
        let close = "</\(name)>"
        while let open = rest.range(of: "<\(name)") {
            let afterName = rest[open.upperBound...]
            guard let next = afterName.first, next == ">" || next == " " || next == "/" else {
                rest = afterName
                continue
            }
            guard let tagEnd = afterName.firstIndex(of: ">") else { break }
            if afterName[afterName.startIndex..<tagEnd].hasSuffix("/") {  // <name/>
                results.append("")
                rest = afterName[afterName.index(after: tagEnd)...]
                continue
            }
            let body = afterName[afterName.index(after: tagEnd)...]
            guard let end = body.range(of: close) else { break }
            results.append(String(body[..<end.lowerBound]))
            rest = body[end.upperBound...]
        }
        return results
    }

    public static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else {
                out += rest[amp...]
                return out
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number =
                    entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let number, let scalar = Unicode.Scalar(number) { out.unicodeScalars.append(scalar) } else { out += "&\(entity);" }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
