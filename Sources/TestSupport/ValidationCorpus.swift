import AdapterKit
import Foundation

/// Bad and tricky-but-good training files with what the validator must say about each.
///
/// Shared by the validator's tests and the inbox's (every bad file must end in rejected/
/// with its bytes unchanged), and it seeds the fuzzer.
public enum ValidationCorpus {
    /// A small prompt/completion model so record-count cases stay small: 2 to 50 records,
    /// 4,096 input and 2,048 output tokens at 6 characters per token.
    public static let fieldsModel = ModelDescription(
        id: "corpus.fields-v1", displayName: "Corpus (fields)", inferenceID: "corpus.fields-v1",
        record: .promptCompletion,
        limits: DataLimits(maxInputTokens: 4096, maxOutputTokens: 2048, minTrainingRecords: 2, maxTrainingRecords: 50),
        hyperparameters: [])

    /// A conversation model: 2 to 50 records, 16,000 tokens in all.
    public static let conversationModel = ModelDescription(
        id: "corpus.conversation-v1", displayName: "Corpus (conversation)", inferenceID: "corpus.conversation-v1",
        record: .bedrockConversation,
        limits: DataLimits(maxTotalTokens: 16_000, minTotalRecords: 2, maxTotalRecords: 50),
        hyperparameters: [])

    public enum Content: Sendable {
        case bytes([UInt8])
        /// Written in pieces so a huge file is never held in memory.
        case repeated(prefix: [UInt8], byte: UInt8, count: Int, suffix: [UInt8])
        case symlink(to: String)
        case fifo
        case directory
    }

    public struct Case: Sendable {
        public var name: String
        public var content: Content
        public var conversation: Bool
        /// For bad cases: the kind and `line` or `line:column` of the problem that must be reported.
        public var expectedKind: String?
        public var expectedLocation: String?

        public var isGood: Bool { expectedKind == nil }
        public var model: ModelDescription { conversation ? ValidationCorpus.conversationModel : ValidationCorpus.fieldsModel }

        /// Creates the file (or symlink, FIFO, directory) at `path`.
        public func materialize(at path: String) throws {
            switch content {
            case .bytes(let bytes):
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            case .repeated(let prefix, let byte, let count, let suffix):
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                defer { try? handle.close() }
                try handle.write(contentsOf: Data(prefix))
                let chunk = Data(repeating: byte, count: 1 << 20)
                var left = count
                while left > 0 {
                    let n = min(left, chunk.count)
                    try handle.write(contentsOf: chunk.prefix(n))
                    left -= n
                }
                try handle.write(contentsOf: Data(suffix))
            case .symlink(let target):
                try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
            case .fifo:
                guard mkfifo(path, 0o644) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            case .directory:
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            }
        }
    }

    static func record(_ i: Int) -> String { #"{"prompt":"Summarize meeting \#(i).","completion":"Decision \#(i) was made."}"# }
    static func records(_ n: Int, from start: Int = 1) -> String { (start..<(start + n)).map { record($0) + "\n" }.joined() }
    static func conversation(_ i: Int, roles: [String] = ["user", "assistant"], version: String = "bedrock-conversation-2024") -> String {
        let messages = roles.enumerated().map { #"{"role":"\#($1)","content":[{"text":"Turn \#($0) of \#(i)."}]}"# }.joined(separator: ",")
        return #"{"schemaVersion":"\#(version)","system":[{"text":"Be brief."}],"messages":[\#(messages)]}"#
    }
    static func conversations(_ n: Int) -> String { (1...n).map { conversation($0) + "\n" }.joined() }
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func bad(_ name: String, _ text: String, _ kind: ProblemKindName, _ location: String?, conversation: Bool = false) -> Case {
        Case(name: name, content: .bytes(bytes(text)), conversation: conversation, expectedKind: kind.rawValue, expectedLocation: location)
    }
    static func bad(_ name: String, _ raw: [UInt8], _ kind: ProblemKindName, _ location: String?) -> Case {
        Case(name: name, content: .bytes(raw), conversation: false, expectedKind: kind.rawValue, expectedLocation: location)
    }
    static func good(_ name: String, _ text: String, conversation: Bool = false) -> Case {
        Case(name: name, content: .bytes(bytes(text)), conversation: conversation, expectedKind: nil, expectedLocation: nil)
    }

    /// Mirrors the validator's problem kinds without making test support depend on it.
    public enum ProblemKindName: String, Sendable {
        case byteOrderMark = "byte_order_mark", invalidUTF8 = "invalid_utf8", invalidJSON = "invalid_json"
        case notAnObject = "not_an_object", blankLine = "blank_line", lineTooLong = "line_too_long", tooDeep = "too_deep"
        case duplicateKey = "duplicate_key", missingField = "missing_field", wrongType = "wrong_type", emptyText = "empty_text"
        case schemaVersion = "schema_version", roleOrder = "role_order", inputTooLong = "input_over_token_limit"
        case outputTooLong = "output_over_token_limit", totalTooLong = "total_over_token_limit"
        case tooFewRecords = "too_few_records", tooManyRecords = "too_many_records", unreadable = "unreadable", media = "media"
    }

    public static let bad: [Case] = {
        let two = records(2, from: 10)
        let atInputLimit = String(repeating: "a", count: 4096 * 6)
        return [
            bad(
                "invalid-utf8-mid-line.jsonl", bytes(two) + bytes(#"{"prompt":"caf"#) + [0xC3, 0x28] + bytes(#"","completion":"x"}"#) + [0x0A],
                .invalidUTF8, "3:15"),
            bad("truncated-last-line.jsonl", two + #"{"prompt":"Summarize","compl"#, .invalidJSON, "3:23"),
            bad("array-instead-of-object.jsonl", two + #"[{"prompt":"a","completion":"b"}]"# + "\n", .notAnObject, "3:1"),
            bad(
                "depth-bomb.jsonl",
                two + #"{"prompt":"a","completion":"b","x":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}\n",
                .tooDeep, "3:99"),
            Case(
                name: "hundred-megabyte-line.jsonl",
                content: .repeated(prefix: bytes(two + #"{"prompt":""#), byte: 0x61, count: 100 << 20, suffix: bytes(#"","completion":"x"}"# + "\n")),
                conversation: false, expectedKind: ProblemKindName.lineTooLong.rawValue, expectedLocation: "3:1"),
            bad("utf8-bom.jsonl", [0xEF, 0xBB, 0xBF] + bytes(two), .byteOrderMark, "1:1"),
            bad("nul-byte.jsonl", bytes(two) + bytes(#"{"prompt":"a"#) + [0x00] + bytes(#"b","completion":"c"}"#) + [0x0A], .invalidJSON, "3:13"),
            bad("duplicate-keys.jsonl", two + #"{"prompt":"a","prompt":"b","completion":"c"}"# + "\n", .duplicateKey, "3:15"),
            bad("number-for-string.jsonl", two + #"{"prompt":42,"completion":"x"}"# + "\n", .wrongType, "3:11"),
            bad("null-for-string.jsonl", two + #"{"prompt":"a","completion":null}"# + "\n", .wrongType, "3:28"),
            bad("array-for-string.jsonl", two + #"{"prompt":["a"],"completion":"b"}"# + "\n", .wrongType, "3:11"),
            bad(
                "wrong-role-order.jsonl", conversations(2) + conversation(3, roles: ["user", "user", "assistant"]) + "\n", .roleOrder, "3",
                conversation: true),
            bad(
                "conversation-ends-with-user.jsonl", conversations(2) + conversation(3, roles: ["user", "assistant", "user"]) + "\n", .roleOrder, "3",
                conversation: true),
            bad(
                "conversation-starts-with-assistant.jsonl", conversations(2) + conversation(3, roles: ["assistant", "user", "assistant"]) + "\n",
                .roleOrder, "3", conversation: true),
            bad(
                "conversation-unknown-role.jsonl", conversations(2) + conversation(3, roles: ["user", "system", "assistant"]) + "\n", .roleOrder, "3",
                conversation: true),
            bad(
                "conversation-empty-messages.jsonl", conversations(2) + #"{"schemaVersion":"bedrock-conversation-2024","messages":[]}"# + "\n",
                .roleOrder, "3", conversation: true),
            bad(
                "conversation-wrong-schema-version.jsonl", conversations(2) + conversation(3, version: "bedrock-conversation-2023") + "\n",
                .schemaVersion, "3:18", conversation: true),
            bad(
                "conversation-missing-schema-version.jsonl",
                conversations(2) + #"{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"assistant","content":[{"text":"b"}]}]}"# + "\n",
                .missingField, "3", conversation: true),
            bad(
                "conversation-messages-not-array.jsonl", conversations(2) + #"{"schemaVersion":"bedrock-conversation-2024","messages":"hi"}"# + "\n",
                .wrongType, "3:57", conversation: true),
            bad(
                "conversation-content-without-text.jsonl",
                conversations(2)
                    + #"{"schemaVersion":"bedrock-conversation-2024","messages":[{"role":"user","content":[{"caption":"x"}]},{"role":"assistant","content":[{"text":"b"}]}]}"#
                    + "\n", .missingField, "3", conversation: true),
            bad(
                "conversation-image-for-text-model.jsonl",
                conversations(2)
                    + #"{"schemaVersion":"bedrock-conversation-2024","messages":[{"role":"user","content":[{"image":"x"}]},{"role":"assistant","content":[{"text":"b"}]}]}"#
                    + "\n", .media, "3:85", conversation: true),
            bad(
                "conversation-empty-text.jsonl",
                conversations(2)
                    + #"{"schemaVersion":"bedrock-conversation-2024","messages":[{"role":"user","content":[{"text":""}]},{"role":"assistant","content":[{"text":"b"}]}]}"#
                    + "\n", .emptyText, "3", conversation: true),
            bad("empty-file.jsonl", "", .tooFewRecords, nil),
            bad("only-blank-lines.jsonl", "\n\n  \n\r\n", .blankLine, "1:1"),
            bad("blank-line-between-records.jsonl", records(1) + "\n" + records(1, from: 5), .blankLine, "2:1"),
            bad("too-few-records.jsonl", records(1), .tooFewRecords, nil),
            bad("too-many-records.jsonl", records(51), .tooManyRecords, nil),
            bad("input-over-limit-by-one.jsonl", two + #"{"prompt":"\#(atInputLimit)a","completion":"x"}"# + "\n", .inputTooLong, "3"),
            bad(
                "output-over-limit-by-one.jsonl", two + #"{"prompt":"x","completion":"\#(String(repeating: "b", count: 2048 * 6 + 1))"}"# + "\n",
                .outputTooLong, "3"),
            bad("missing-completion.jsonl", two + #"{"prompt":"only a prompt"}"# + "\n", .missingField, "3"),
            bad("empty-prompt.jsonl", two + #"{"prompt":"","completion":"x"}"# + "\n", .emptyText, "3:11"),
            bad("whitespace-only-completion.jsonl", two + #"{"prompt":"p","completion":" \n\t "}"# + "\n", .emptyText, "3:28"),
            bad("trailing-comma.jsonl", two + #"{"prompt":"a","completion":"b",}"# + "\n", .invalidJSON, "3:32"),
            bad("single-quotes.jsonl", two + "{'prompt':'a','completion':'b'}\n", .invalidJSON, "3:2"),
            bad("unterminated-string.jsonl", two + #"{"prompt":"a,"completion":"b"}"# + "\n", .invalidJSON, "3:15"),
            bad("invalid-escape.jsonl", two + #"{"prompt":"\x41","completion":"b"}"# + "\n", .invalidJSON, "3:12"),
            bad("lone-surrogate.jsonl", two + #"{"prompt":"\ud800","completion":"b"}"# + "\n", .invalidJSON, "3:12"),
            bad(
                "overlong-utf8.jsonl", bytes(two) + bytes(#"{"prompt":""#) + [0xC0, 0xAF] + bytes(#"","completion":"b"}"#) + [0x0A], .invalidUTF8,
                "3:12"),
            bad(
                "utf8-encoded-surrogate.jsonl", bytes(two) + bytes(#"{"prompt":""#) + [0xED, 0xA0, 0x80] + bytes(#"","completion":"b"}"#) + [0x0A],
                .invalidUTF8, "3:12"),
            bad("latin1-text.jsonl", bytes(two) + bytes(#"{"prompt":"caf"#) + [0xE9] + bytes(#"","completion":"b"}"#) + [0x0A], .invalidUTF8, "3:15"),
            bad("trailing-garbage.jsonl", two + #"{"prompt":"a","completion":"b"} x"# + "\n", .invalidJSON, "3:33"),
            bad("two-objects-on-a-line.jsonl", two + record(7) + record(8) + "\n", .invalidJSON, "3:70"),
            bad("bare-string-line.jsonl", two + "\"hello\"\n", .notAnObject, "3:1"),
            bad("raw-tab-in-string.jsonl", two + "{\"prompt\":\"a\tb\",\"completion\":\"c\"}\n", .invalidJSON, "3:13"),
            bad("leading-zero.jsonl", two + #"{"prompt":"a","completion":"b","n":012}"# + "\n", .invalidJSON, "3:36"),
            bad("comment-line.jsonl", two + "// a comment\n", .invalidJSON, "3:1"),
            bad("classic-mac-line-endings.jsonl", record(1) + "\r" + record(2) + "\r", .invalidJSON, "1:71"),
            Case(
                name: "symlink-to-etc-shadow.jsonl", content: .symlink(to: "/etc/shadow"), conversation: false,
                expectedKind: ProblemKindName.unreadable.rawValue, expectedLocation: nil),
            Case(name: "fifo.jsonl", content: .fifo, conversation: false, expectedKind: ProblemKindName.unreadable.rawValue, expectedLocation: nil),
            Case(
                name: "directory.jsonl", content: .directory, conversation: false, expectedKind: ProblemKindName.unreadable.rawValue,
                expectedLocation: nil),
        ]
    }()

    public static let good: [Case] = [
        good("escaped-line-separators.jsonl", records(2) + #"{"prompt":"a\u2028b\u2029c","completion":"d"}"# + "\n"),
        good("surrogate-pairs.jsonl", records(2) + #"{"prompt":"smile \ud83d\ude00","completion":"ok 😀"}"# + "\n"),
        good("crlf.jsonl", records(3).replacingOccurrences(of: "\n", with: "\r\n")),
        good("no-final-newline.jsonl", records(2) + record(9)),
        good(
            "long-but-legal.jsonl",
            records(2) + #"{"prompt":"\#(String(repeating: "a", count: 4096 * 6))","completion":"\#(String(repeating: "b", count: 2048 * 6))"}"#
                + "\n"),
        good("unicode-text.jsonl", records(2) + #"{"prompt":"会议纪要：总结。","completion":"Résumé — naïve café"}"# + "\n"),
        good("escaped-quotes-and-slashes.jsonl", records(2) + #"{"prompt":"say \"hi\" \\ \/ ","completion":"\"ok\""}"# + "\n"),
        good("whitespace-around-tokens.jsonl", records(2) + "  { \"prompt\" : \"a\" , \"completion\" : \"b\" }  \n"),
        good("unknown-field-is-a-warning.jsonl", records(2) + #"{"prompt":"a","completion":"b","meta":{"source":[1,2,{"x":null}]}}"# + "\n"),
        good("duplicate-record-is-a-warning.jsonl", records(2) + record(1) + "\n"),
        good("conversation.jsonl", conversations(3), conversation: true),
        good(
            "conversation-multi-turn.jsonl", conversations(2) + conversation(9, roles: ["user", "assistant", "user", "assistant"]) + "\n",
            conversation: true),
    ]
}
