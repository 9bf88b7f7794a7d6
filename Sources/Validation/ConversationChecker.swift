import AdapterKit

/// Checks a `bedrock-conversation-2024` record:
/// `{"schemaVersion", "system": [{"text"}], "messages": [{"role", "content": [{"text"}]}]}`
/// with roles alternating from `firstRole` and ending with `lastRole`. System text and user
/// turns count as input, assistant turns as output.
struct ConversationChecker {
    let schema: ConversationSchema
    /// The bucket the training data goes to, when known: media must be in it.
    var dataBucket: String?
    /// Distillation: the teacher writes the answers, so a record may end with the user's turn.
    var answerOptional = false
    /// Distillation for a student that takes one prompt per record (Meta's).
    var singleTurn = false

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
                if !schema.anySchemaVersion && text != schema.schemaVersion {
                    report(.error, .schemaVersion, valueOffset, "schemaVersion is \"\(text)\", expected \"\(schema.schemaVersion)\"")
                }
            case "system":
                guard schema.systemAllowed else {
                    report(.error, .unknownField, keyOffset, "this model takes no \"system\" prompt")
                    try s.skipValue(depth: 1)
                    return
                }
                try textParts(&s, at: valueOffset, what: "system", report: report, reserved: true) { counts.inputCharacters += $0 }
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

    private func messages(_ s: inout ByteScanner, at offset: Int, counts: inout RecordChecker.Counts, report: RecordChecker.Report) throws(ByteScanner
        .Failure)
    {
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
            var blocks = ContentBlocks()
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
                    blocks = try contentBlocks(&s, at: valueOffset, what: "messages[\(index)].content", report: report) { characters += $0 }
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
            case "user":
                counts.inputCharacters += characters
                // Reserved strings fail a job in user and system text only.
                for (offset, word) in blocks.reserved { report(.error, .reservedString, offset, reservedMessage(word)) }
                counts.images += blocks.images.count
                counts.videos += blocks.videos.count
                if let media = schema.media {
                    if blocks.images.count > media.maxImagesPerRecord {
                        report(
                            .error, .media, blocks.images[media.maxImagesPerRecord],
                            "messages[\(index)] has \(blocks.images.count) images; at most \(media.maxImagesPerRecord) per record")
                    }
                    if blocks.videos.count > media.maxVideosPerRecord {
                        report(
                            .error, .media, blocks.videos[media.maxVideosPerRecord],
                            "messages[\(index)] has \(blocks.videos.count) videos; at most \(media.maxVideosPerRecord) per record")
                    }
                }
                for offset in blocks.reasoning {
                    report(.error, .media, offset, "messages[\(index)] is a user turn; reasoningContent belongs in assistant turns")
                }
            case "assistant":
                counts.outputCharacters += characters
                for offset in blocks.images + blocks.videos {
                    report(.error, .media, offset, "messages[\(index)] is an assistant turn; images and videos belong in user turns")
                }
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
            report(
                .error, .roleOrder, roles[k].1,
                "messages[\(k - 1)] and messages[\(k)] are both from \"\(roles[k].0)\"; user and assistant must alternate")
        }
        let userTurns = roles.filter { $0.0 == schema.firstRole }
        if singleTurn, userTurns.count > 1 {
            report(
                .error, .roleOrder, userTurns[1].1, "distillation for this model takes single-turn records: one user turn (and at most one answer)")
        }
        if let last = roles.last, last.0 != schema.lastRole, !(answerOptional && last.0 == schema.firstRole) {
            report(.error, .roleOrder, last.1, "the last message is from \"\(last.0)\"; conversations end with \"\(schema.lastRole)\"")
        }
    }

    /// What a turn's content holds besides its text, with byte offsets for reports.
    struct ContentBlocks {
        var images: [Int] = []
        var videos: [Int] = []
        var reasoning: [Int] = []
        /// Reserved strings found in the text, at their offsets; reported for user turns only.
        var reserved: [(Int, String)] = []
    }

    /// A turn's content: `[{"text"} | {"image"} | {"video"} | {"reasoningContent"}, …]`, as the
    /// schema allows. Text parts need non-empty text; `add` receives each text's length.
    private func contentBlocks(
        _ s: inout ByteScanner, at offset: Int, what: String, report: RecordChecker.Report, add: (Int) -> Void
    ) throws(ByteScanner.Failure) -> ContentBlocks {
        var blocks = ContentBlocks()
        guard s.kindOfNextValue() == "an array" else {
            report(.error, .wrongType, offset, "\"\(what)\" must be an array of content blocks, found \(s.kindOfNextValue())")
            try s.skipValue(depth: 2)
            return blocks
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
            var kinds = 0
            try forEachMember(&s) { (s, key, keyOffset) throws(ByteScanner.Failure) in
                let valueOffset = s.i
                switch key {
                case "text":
                    kinds += 1
                    guard s.kindOfNextValue() == "a string" else {
                        report(.error, .wrongType, valueOffset, "\(what)[\(index)].text must be a string, found \(s.kindOfNextValue())")
                        try s.skipValue(depth: 4)
                        return
                    }
                    let text = try s.scanString()
                    if RecordChecker.isBlank(s, text) { report(.error, .emptyText, valueOffset, "\(what)[\(index)].text is empty") }
                    blocks.reserved += reservedStrings(in: s, text)
                    add(text.characters)
                case "image", "video":
                    kinds += 1
                    guard schema.media != nil else {
                        report(
                            .error, .media, keyOffset, "\(what)[\(index)] is \(key == "image" ? "an image" : "a video"); this model takes text only")
                        try s.skipValue(depth: 4)
                        return
                    }
                    let start = s.i
                    try s.skipValue(depth: 4)
                    mediaBlock(key, bytes: s.bytes(start..<s.i), at: valueOffset, what: "\(what)[\(index)].\(key)", report: report)
                    if key == "image" { blocks.images.append(keyOffset) } else { blocks.videos.append(keyOffset) }
                case "reasoningContent" where schema.reasoningContent:
                    kinds += 1
                    let start = s.i
                    try s.skipValue(depth: 4)
                    let value = try? JSONValue(parsing: s.bytes(start..<s.i))
                    if value?.at("reasoningText", "text")?.stringValue?.isEmpty != false {
                        report(.error, .wrongType, valueOffset, "\(what)[\(index)].reasoningContent needs {\"reasoningText\": {\"text\": \"…\"}}")
                    }
                    blocks.reasoning.append(keyOffset)
                default:
                    report(.warning, .unknownField, keyOffset, "unknown field \"\(key)\" in \(what)[\(index)]")
                    try s.skipValue(depth: 4)
                }
            }
            if kinds == 0 { report(.error, .missingField, partOffset, "\(what)[\(index)] has no \"text\"") }
        }
        if parts == 0 { report(.error, .emptyText, offset, "\"\(what)\" is empty") }
        return blocks
    }

    /// `{"format": "png", "source": {"s3Location": {"uri": "s3://bucket/key", "bucketOwner"?}}}`.
    private func mediaBlock(_ kind: String, bytes: [UInt8], at offset: Int, what: String, report: RecordChecker.Report) {
        guard let media = schema.media, let value = try? JSONValue(parsing: bytes) else {
            report(.error, .wrongType, offset, "\(what) must be an object with \"format\" and \"source\"")
            return
        }
        let formats = kind == "image" ? media.imageFormats : media.videoFormats
        let limit = kind == "image" ? media.maxImagesPerRecord : media.maxVideosPerRecord
        if limit == 0 {
            report(.error, .media, offset, "\(what): this model takes no \(kind)s")
            return
        }
        if let format = value["format"]?.stringValue {
            if !formats.contains(format) {
                report(.error, .media, offset, "\(what).format is \"\(format)\"; \(kind)s must be \(formats.joined(separator: ", "))")
            }
        } else {
            report(.error, .missingField, offset, "\(what) has no \"format\"")
        }
        guard let uri = value.at("source", "s3Location", "uri")?.stringValue else {
            report(.error, .media, offset, "\(what) needs source.s3Location.uri (bytes cannot be sent in training data)")
            return
        }
        guard let location = S3URI(uri) else {
            report(.error, .media, offset, "\(what): '\(uri)' is not an s3://bucket/key URI")
            return
        }
        if let bucket = dataBucket, location.bucket != bucket {
            report(.error, .media, offset, "\(what): \(uri) is not in the training data's bucket '\(bucket)'; media must be in the same bucket")
        }
    }

    /// Reserved strings in a JSON string token: found in its raw bytes for an exact column,
    /// or (written with escapes) in its decoded text, at the string's start.
    private func reservedStrings(in s: ByteScanner, _ text: ByteScanner.StringInfo) -> [(Int, String)] {
        guard !schema.reservedStrings.isEmpty else { return [] }
        var found: [(Int, String)] = []
        let raw = UnsafeBufferPointer(start: s.base, count: s.end)[text.start..<text.end]
        for word in schema.reservedStrings {
            let needle = Array(word.utf8)
            if let at = Self.firstIndex(of: needle, in: raw) {
                found.append((at, word))
            } else if text.hasEscapes, s.decode(text).contains(word) {
                found.append((text.start, word))
            }
        }
        return found.sorted { $0.0 < $1.0 }
    }

    static func firstIndex(of needle: [UInt8], in haystack: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        while i <= haystack.endIndex - needle.count {
            if haystack[i] == needle[0] && haystack[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    func reservedMessage(_ word: String) -> String {
        "\"\(word)\" is reserved: a training job fails on it in system or user text; rephrase it"
    }

    /// `[{"text": "…"}, …]`: every part needs non-empty text; `add` receives each part's length.
    private func textParts(
        _ s: inout ByteScanner, at offset: Int, what: String, report: RecordChecker.Report, reserved: Bool = false, add: (Int) -> Void
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
                if reserved {
                    for (at, word) in reservedStrings(in: s, text) { report(.error, .reservedString, at, reservedMessage(word)) }
                }
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
        if s.peek() == 0x7D {
            s.i += 1
            return
        }
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
        if s.peek() == 0x5D {
            s.i += 1
            return
        }
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

/// `s3://bucket/key`, as training data names its media.
struct S3URI: Equatable {
    var bucket: String
    var key: String

    init?(_ text: String) {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst(5)
        guard let slash = rest.firstIndex(of: "/"), slash > rest.startIndex, rest.index(after: slash) < rest.endIndex else { return nil }
        bucket = String(rest[..<slash])
        key = String(rest[rest.index(after: slash)...])
    }
}
