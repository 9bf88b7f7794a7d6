import Foundation

/// The BERT uncased tokenizer, as `BertTokenizer` (do_lower_case, tokenize_chinese_chars)
/// splits text: clean, isolate CJK characters, lower-case, strip accents (NFD, drop
/// non-spacing marks), split on whitespace and punctuation, then WordPiece greedy longest
/// match with `##` continuations; a word over 100 characters or with no match is `[UNK]`.
public struct WordPieceTokenizer: Sendable {
    let vocabulary: [String: Int32]
    public let unknownID: Int32
    public let classifierID: Int32
    public let separatorID: Int32
    public let paddingID: Int32
    static let maximumWordCharacters = 100

    public init(vocabularyFile path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var vocabulary: [String: Int32] = [:]
        var index: Int32 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if !token.isEmpty || index == 0, vocabulary[token] == nil { vocabulary[token] = index }
            index += 1
        }
        guard let unk = vocabulary["[UNK]"], let cls = vocabulary["[CLS]"], let sep = vocabulary["[SEP]"], let pad = vocabulary["[PAD]"] else {
            throw TokenizerError.missingSpecialTokens(path)
        }
        self.vocabulary = vocabulary
        unknownID = unk
        classifierID = cls
        separatorID = sep
        paddingID = pad
    }

    public var vocabularySize: Int { vocabulary.count }

    /// `[CLS] tokens… [SEP]`, truncated to `maximumLength` ids in all.
    public func encode(_ text: String, maximumLength: Int = 512) -> [Int32] {
        var ids: [Int32] = [classifierID]
        for word in Self.basicTokens(text) {
            ids += wordPieces(word)
            if ids.count >= maximumLength - 1 { break }
        }
        if ids.count > maximumLength - 1 { ids.removeLast(ids.count - (maximumLength - 1)) }
        ids.append(separatorID)
        return ids
    }

    func wordPieces(_ word: String) -> [Int32] {
        let characters = Array(word.unicodeScalars)
        guard characters.count <= Self.maximumWordCharacters else { return [unknownID] }
        var pieces: [Int32] = []
        var start = 0
        while start < characters.count {
            var end = characters.count
            var found: Int32?
            while start < end {
                var candidate = String(String.UnicodeScalarView(characters[start..<end]))
                if start > 0 { candidate = "##" + candidate }
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }

    /// Basic tokenization: the words and punctuation marks WordPiece then splits.
    static func basicTokens(_ text: String) -> [String] {
        var spaced = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0 || value == 0xFFFD || isControl(scalar) { continue }
            if isWhitespace(scalar) {
                spaced.append(" ")
            } else if isCJK(value) {
                spaced.append(" ")
                spaced.append(scalar)
                spaced.append(" ")
            } else {
                spaced.append(scalar)
            }
        }
        var tokens: [String] = []
        for word in String(spaced).split(separator: " ", omittingEmptySubsequences: true) {
            let lowered = word.lowercased().decomposedStringWithCanonicalMapping
            var current = String.UnicodeScalarView()
            for scalar in lowered.unicodeScalars {
                if scalar.properties.generalCategory == .nonspacingMark { continue }
                if isPunctuation(scalar) {
                    if !current.isEmpty {
                        tokens.append(String(current))
                        current = String.UnicodeScalarView()
                    }
                    tokens.append(String(scalar))
                } else {
                    current.append(scalar)
                }
            }
            if !current.isEmpty { tokens.append(String(current)) }
        }
        return tokens
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\r" || s.properties.generalCategory == .spaceSeparator
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        let category = s.properties.generalCategory
        return category == .control || category == .format
    }

    /// ASCII symbols count as punctuation too (BERT splits `$`, `^`, `` ` `` off words).
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks, which BERT tokenizes one character at a time.
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}

public enum TokenizerError: Error, CustomStringConvertible {
    case missingSpecialTokens(String)
    public var description: String {
        switch self {
        case .missingSpecialTokens(let path): "\(path) lacks [UNK], [CLS], [SEP] or [PAD]; is it a BERT vocab.txt?"
        }
    }
}
