/// A model of the local family: it ranks a document's sentences and returns the best ones,
/// in document order, within a budget of words.
///
/// The base model ranks by similarity to the document's centroid and uses a fixed budget.
/// A custom model ranks with its trained `ScoringHead` and uses the budget it learned from
/// the training completions' lengths. Neither ever sees an evaluation reference.
public struct ExtractiveModel: Sendable, Equatable, Codable {
    public var head: ScoringHead?
    public var defaultBudgetWords: Int
    /// What it was trained on, for the model card (`nil` for the base model).
    public var trainedOn: TrainingProvenance?

    /// The base model's budget: about three sentences of an ordinary report.
    public static let baseBudgetWords = 60

    public static let base = ExtractiveModel(head: nil, defaultBudgetWords: baseBudgetWords, trainedOn: nil)

    public init(head: ScoringHead?, defaultBudgetWords: Int, trainedOn: TrainingProvenance?) {
        self.head = head
        self.defaultBudgetWords = defaultBudgetWords
        self.trainedOn = trainedOn
    }

    public func scores(_ document: DocumentFeatures) -> [Float] {
        guard let head else { return document.centrality }
        return document.rows.map(head.score)
    }

    /// The chosen sentences' indices in document order. The best sentence is always taken,
    /// even over budget: an empty summary helps nobody.
    public func select(_ document: DocumentFeatures, budgetWords: Int?) -> [Int] {
        let budget = budgetWords ?? defaultBudgetWords
        let scores = scores(document)
        var chosen: [Int] = []
        var used = 0
        for index in scores.indices.sorted(by: { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }) {
            let words = SentenceSplitter.wordCount(document.sentences[index])
            if chosen.isEmpty || used + words <= budget {
                chosen.append(index)
                used += words
            }
            if used >= budget { break }
        }
        return chosen.sorted()
    }

    public func summarize(_ document: DocumentFeatures, budgetWords: Int?) -> Summary {
        let selected = select(document, budgetWords: budgetWords)
        let text = selected.map { document.sentences[$0] }.joined(separator: " ")
        return Summary(
            text: text, selected: selected,
            inputWords: document.sentences.reduce(0) { $0 + SentenceSplitter.wordCount($1) },
            outputWords: SentenceSplitter.wordCount(text))
    }
}

public struct Summary: Sendable, Equatable {
    public var text: String
    public var selected: [Int]
    public var inputWords: Int
    public var outputWords: Int
}

public struct TrainingProvenance: Sendable, Equatable, Codable {
    public var job: String
    public var records: Int
    public var trainingRecords: Int
    public var validationRecords: Int
    public var epochs: Int
    public var bestEpoch: Int
    public var bestValidationLoss: Double
}
