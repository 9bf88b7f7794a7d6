/// Everything one validation found, for the rejection report, `finetunectl validate --json`
/// and the workflow's archive.
public struct ValidationReport: Sendable, Codable, Equatable {
    public var file: String
    public var role: ValidationPlan.Role
    public var model: String
    public var bytes: Int
    public var lines: Int
    /// Non-blank lines: what Bedrock counts as records.
    public var records: Int
    public var estimatedInputTokens: Int
    public var estimatedOutputTokens: Int
    public var epochs: Int?
    public var estimatedCost: CostEstimate?
    public var largestRecord: RecordSize?
    public var duplicateRecords: Int
    public var errorCount: Int
    public var warningCount: Int
    /// Problems per kind, most frequent first.
    public var problemCounts: [ProblemCount]
    /// The first problems in file order (capped); `omittedProblems` more were counted only.
    public var problems: [ValidationProblem]
    public var omittedProblems: Int

    public var isValid: Bool { errorCount == 0 }

    /// Adds a problem found outside the file's contents (hyperparameters, the model's lifecycle).
    public mutating func add(_ problem: ValidationProblem) {
        if problem.severity == .error { errorCount += 1 } else { warningCount += 1 }
        if let index = problemCounts.firstIndex(where: { $0.kind == problem.kind }) {
            problemCounts[index].count += 1
        } else {
            problemCounts.append(ProblemCount(kind: problem.kind, severity: problem.severity, count: 1))
        }
        problems.insert(problem, at: problems.firstIndex { $0.line > 0 } ?? problems.endIndex)
    }

    /// Tokens a training run processes: every record's tokens, once per epoch.
    public var estimatedTrainingTokens: Int { (estimatedInputTokens + estimatedOutputTokens) * (epochs ?? 1) }
}

public struct ProblemCount: Sendable, Codable, Equatable {
    public var kind: ProblemKind
    public var severity: ValidationProblem.Severity
    public var count: Int
}

public struct RecordSize: Sendable, Codable, Equatable {
    public var line: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var totalTokens: Int

    public init(line: Int, inputTokens: Int, outputTokens: Int, totalTokens: Int) {
        self.line = line
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.totalTokens = totalTokens
    }
}

/// What the run would cost at the adapter's prices; parts without a price stay nil (unknown).
public struct CostEstimate: Sendable, Codable, Equatable {
    public var currency: String
    public var pricesAsOf: String
    public var training: Double?
    public var storagePerMonth: Double?
    public var throughputPerModelUnitHour: Double?

    public init(currency: String, pricesAsOf: String, training: Double?, storagePerMonth: Double?, throughputPerModelUnitHour: Double?) {
        self.currency = currency
        self.pricesAsOf = pricesAsOf
        self.training = training
        self.storagePerMonth = storagePerMonth
        self.throughputPerModelUnitHour = throughputPerModelUnitHour
    }
}
