/// Splits a document into the sentences an extractive summary chooses from.
///
/// A sentence ends at `.`, `!` or `?` followed by white space and a capital letter, a digit
/// or a quote, and at every line break. Decimal numbers, version strings and the common
/// abbreviations do not end one. The rule is deliberately plain: the same splitter runs on
/// training records and on prompts, so what it gets wrong it gets wrong consistently.
public enum SentenceSplitter {
    static let abbreviations: Set<String> = ["e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "ms.", "dr.", "no.", "approx.", "cf."]

    public static func sentences(_ text: String) -> [String] {
        var sentences: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let characters = Array(line)
            var start = 0
            var i = 0
            while i < characters.count {
                let c = characters[i]
                if c == "." || c == "!" || c == "?" {
                    // Closing quotes and brackets belong to the sentence they end.
                    var end = i + 1
                    while end < characters.count, "\"')]”’".contains(characters[end]) { end += 1 }
                    var next = end
                    while next < characters.count, characters[next].isWhitespace { next += 1 }
                    let spaced = next > end
                    let opensNext =
                        next >= characters.count
                        || characters[next].isUppercase || characters[next].isNumber || "\"'“‘(".contains(characters[next])
                    if (spaced || next >= characters.count) && opensNext && !isAbbreviation(characters[start..<end]) {
                        append(characters[start..<end], to: &sentences)
                        start = next
                        i = next
                        continue
                    }
                }
                i += 1
            }
            append(characters[start...], to: &sentences)
        }
        return sentences
    }

    private static func append(_ characters: ArraySlice<Character>, to sentences: inout [String]) {
        let text = String(characters).trimmingWhitespace()
        if !text.isEmpty { sentences.append(text) }
    }

    private static func isAbbreviation(_ sentence: ArraySlice<Character>) -> Bool {
        let lastWord = sentence.split(whereSeparator: \.isWhitespace).last.map { String($0).lowercased() } ?? ""
        return abbreviations.contains(lastWord)
    }

    /// Words as the budget counts them: runs of non-space characters.
    public static func wordCount(_ text: String) -> Int {
        text.split(whereSeparator: \.isWhitespace).count
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
