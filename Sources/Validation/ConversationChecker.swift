import AdapterKit

/// Checks a `bedrock-conversation-2024` record:
/// `{"schemaVersion", "system": [{"text"}], "messages": [{"role", "content": [{"text"}]}]}`
/// with roles alternating from `firstRole` and ending with `lastRole`. System text and user
/// turns count as input, assistant turns as output.
struct ConversationChecker {
    let schema: ConversationSchema

    func check(_ s: inout ByteScanner, report: RecordChecker.Report) throws(ByteScanner.Failure) -> RecordChecker.Counts {
        var counts = RecordChecker.Counts()
        var sawVersion = false, sawMessages = false
        var seenKeys: Set<String> = []
        try forEachMember(&s) { (s, key, keyOffset) throws(ByteScanner.Failure) in
            if !seenKeys.insert(key).inserted {
                report(.error, .duplicateKey, keyOffset, "duplicate key \"\(key)\"")
            }
            let valueOffset = s.i
            switch key {
            case "schemaVersion":
                sawVersion = true
                guard s.kindOfNextValue() == "a string" else {
                    report(.error, .wrongType, valueOffset, "\"schemaVersion\" must be a string, found \(s.kindOfNextValue())")
                    try s.skipValue(depth: 1)
                    return
                }
                let value = try s.scanString()
                let text = s.decode(value)
                if text != schema.schemaVersion {
                    report(.error, .schemaVersion, valueOffset, "schemaVersion is \"\(text)\", expected \"\(schema.schemaVersion)\"")
                }
            case "system":
                guard schema.systemAllowed else {
                    report(.error, .unknownField, keyOffset, "this model takes no \"system\" prompt")
                    try s.skipValue(depth: 1)
                    return
                }
                try textParts(&s, at: valueOffset, what: "system", report: report) { counts.inputCharacters += $0 }
            case "messages":
                sawMessages = true
                try messages(&s, at: valueOffset, counts: &counts, report: report)
            default:
                report(.warning, .unknownField, keyOffset, "unknown field \"\(key)\" (Bedrock ignores it)")
                try s.skipValue(depth: 1)
            }
        }
        if !sawVersion { report(.error, .missingField, 0, "missing required field \"schemaVersion\"") }
        if !sawMessages { report(.error, .missingField, 0, "missing required field \"messages\"") }
        return counts
    }

    private func messages(_ s: inout ByteScanner, at offset: Int, counts: inout RecordChecker.Counts, report: RecordChecker.Report) throws(ByteScanner.Failure) {
        guard s.kindOfNextValue() == "an array" else {
            report(.error, .wrongType, offset, "\"messages\" must be an array, found \(s.kindOfNextValue())")
            try s.skipValue(depth: 1)
            return
        }
        var roles: [(String, Int)] = []
        try forEachElement(&s) { (s, index) throws(ByteScanner.Failure) in
            let messageOffset = s.i
            guard s.kindOfNextValue() == "an object" else {
                report(.error, .wrongType, messageOffset, "messages[\(index)] must be an object, found \(s.kindOfNextValue())")
                try s.skipValue(depth: 2)
                return
            }
            var role: String?
            var characters = 0
            var sawContent = false
            try forEachMember(&s) { (s, key, keyOffset) throws(ByteScanner.Failure) in
                let valueOffset = s.i
                switch key {
                case "role":
                    guard s.kindOfNextValue() == "a string" else {
                        report(.error, .wrongType, valueOffset, "messages[\(index)].role must be a string")
                        try s.skipValue(depth: 3)
                        return
                    }
                    role = s.decode(try s.scanString())
                case "content":
                    sawContent = true
                    try textParts(&s, at: valueOffset, what: "messages[\(index)].content", report: report) { characters += $0 }
                default:
                    report(.warning, .unknownField, keyOffset, "unknown field \"\(key)\" in messages[\(index)]")
                    try s.skipValue(depth: 3)
                }
            }
            if !sawContent { report(.error, .missingField, messageOffset, "messages[\(index)] has no \"content\"") }
            guard let role else {
                report(.error, .missingField, messageOffset, "messages[\(index)] has no \"role\"")
                return
            }
            switch role {
            case "user": counts.inputCharacters += characters
            case "assistant": counts.outputCharacters += characters
            default:
                report(.error, .roleOrder, messageOffset, "messages[\(index)].role is \"\(role)\"; expected \"user\" or \"assistant\"")
            }
            roles.append((role, messageOffset))
        }
        guard let first = roles.first else {
            report(.error, .roleOrder, offset, "\"messages\" is empty; a record needs at least a \(schema.firstRole) and an \(schema.lastRole) turn")
            return
        }
        if first.0 != schema.firstRole {
            report(.error, .roleOrder, first.1, "the first message is from \"\(first.0)\"; conversations start with \"\(schema.firstRole)\"")
        }
        for k in 1..<max(roles.count, 1) where k < roles.count && roles[k].0 == roles[k - 1].0 {
            report(.error, .roleOrder, roles[k].1, "messages[\(k - 1)] and messages[\(k)] are both from \"\(roles[k].0)\"; user and assistant must alternate")
        }
        if let last = roles.last, last.0 != schema.lastRole {
            report(.error, .roleOrder, last.1, "the last message is from \"\(last.0)\"; conversations end with \"\(schema.lastRole)\"")
        }
    }

    /// `[{"text": "…"}, …]`: every part needs non-empty text; `add` receives each part's length.
    private func textParts(
        _ s: inout ByteScanner, at offset: Int, what: String, report: RecordChecker.Report, add: (Int) -> Void
    ) throws(ByteScanner.Failure) {
        guard s.kindOfNextValue() == "an array" else {
            report(.error, .wrongType, offset, "\"\(what)\" must be an array of {\"text\": …} objects, found \(s.kindOfNextValue())")
            try s.skipValue(depth: 2)
            return
        }
        var parts = 0
        try forEachElement(&s) { (s, index) throws(ByteScanner.Failure) in
            parts += 1
            let partOffset = s.i
            guard s.kindOfNextValue() == "an object" else {
                report(.error, .wrongType, partOffset, "\(what)[\(index)] must be an object with \"text\", found \(s.kindOfNextValue())")
                try s.skipValue(depth: 3)
                return
            }
            var sawText = false
            try forEachMember(&s) { (s, key, keyOffset) throws(ByteScanner.Failure) in
                guard key == "text" else {
                    report(.warning, .unknownField, keyOffset, "unknown field \"\(key)\" in \(what)[\(index)]")
                    try s.skipValue(depth: 4)
                    return
                }
                sawText = true
                let valueOffset = s.i
                guard s.kindOfNextValue() == "a string" else {
                    report(.error, .wrongType, valueOffset, "\(what)[\(index)].text must be a string, found \(s.kindOfNextValue())")
                    try s.skipValue(depth: 4)
                    return
                }
                let text = try s.scanString()
                if RecordChecker.isBlank(s, text) { report(.error, .emptyText, valueOffset, "\(what)[\(index)].text is empty") }
                add(text.characters)
            }
            if !sawText { report(.error, .missingField, partOffset, "\(what)[\(index)] has no \"text\"") }
        }
        if parts == 0 { report(.error, .emptyText, offset, "\"\(what)\" is empty") }
    }

    /// Calls `body` for each member of the object at the cursor, positioned at the value.
    private func forEachMember(
        _ s: inout ByteScanner, _ body: (inout ByteScanner, String, Int) throws(ByteScanner.Failure) -> Void
    ) throws(ByteScanner.Failure) {
        try s.expect(0x7B, "'{'")
        if s.peek() == 0x7D { s.i += 1; return }
        while true {
            s.skipWhitespace()
            guard !s.atEnd, s.current == 0x22 else { throw s.unexpected(expected: "a string key") }
            let keyOffset = s.i
            let key = s.decode(try s.scanString())
            try s.expect(0x3A, "':'")
            s.skipWhitespace()
            try body(&s, key, keyOffset)
            guard let next = s.peek() else { throw s.fail("unexpected end of line inside an object") }
            s.i += 1
            if next == 0x2C { continue }
            if next == 0x7D { return }
            s.i -= 1
            throw s.unexpected(expected: "',' or '}'")
        }
    }

    /// Calls `body` for each element of the array at the cursor, positioned at the element.
    private func forEachElement(
        _ s: inout ByteScanner, _ body: (inout ByteScanner, Int) throws(ByteScanner.Failure) -> Void
    ) throws(ByteScanner.Failure) {
        try s.expect(0x5B, "'['")
        if s.peek() == 0x5D { s.i += 1; return }
        var index = 0
        while true {
            s.skipWhitespace()
            try body(&s, index)
            index += 1
            guard let next = s.peek() else { throw s.fail("unexpected end of line inside an array") }
            s.i += 1
            if next == 0x2C { continue }
            if next == 0x5D { return }
            s.i -= 1
            throw s.unexpected(expected: "',' or ']'")
        }
    }
}
