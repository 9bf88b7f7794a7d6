import AdapterKit

/// The state of one validation pass: counters, the largest record, duplicate hashes and the
/// problems found so far.
struct ValidationRun {
    let plan: ValidationPlan
    let displayName: String
    let recordHook: (@Sendable (JSONValue) -> [RecordProblem])?
    let checker: RecordChecker
    var bytes = 0
    private var lineNumber = 0
    private var records = 0
    private var inputTokens = 0
    private var outputTokens = 0
    private var largest: RecordSize?
    private var hashes: Set<UInt64> = []
    private var duplicates = 0
    private var errorCount = 0
    private var warningCount = 0
    private var counts: [ProblemKind: (ValidationProblem.Severity, Int)] = [:]
    private var problems: [ValidationProblem] = []
    private var omitted = 0
    private var firstImageLine: Int?
    private var firstVideoLine: Int?
    private var reportedMixedMedia = false

    init(plan: ValidationPlan, displayName: String, recordHook: (@Sendable (JSONValue) -> [RecordProblem])?) {
        self.plan = plan
        self.displayName = displayName
        self.recordHook = recordHook
        checker = RecordChecker(
            schema: plan.model.record, dataBucket: plan.dataBucket, answerOptional: plan.distillation,
            singleTurn: plan.distillation && plan.model.serving.distillationSingleTurn)
    }

    func nextLineNumber() -> Int { lineNumber + 1 }

    mutating func problem(_ severity: ValidationProblem.Severity, _ kind: ProblemKind, line: Int, column: Int, _ message: String) {
        if severity == .error { errorCount += 1 } else { warningCount += 1 }
        let previous = counts[kind]?.1 ?? 0
        counts[kind] = (severity == .error || counts[kind]?.0 == .error ? .error : .warning, previous + 1)
        if problems.count < plan.maximumListedProblems {
            problems.append(ValidationProblem(severity, kind, line: line, column: column, message))
        } else {
            omitted += 1
        }
    }

    mutating func longLine(line: Int, length: Int) {
        lineNumber = line
        records += 1
        problem(
            .error, .lineTooLong, line: line, column: 1,
            "the line is \(length) bytes long, over the \(plan.maximumLineBytes)-byte limit; it was not read")
    }

    mutating func line(_ raw: UnsafeBufferPointer<UInt8>) {
        lineNumber += 1
        var line = raw
        if let last = line.last, last == 0x0D { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            problem(.error, .blankLine, line: lineNumber, column: 1, "blank line (Bedrock needs one JSON object on every line)")
            return
        }
        records += 1
        let number = lineNumber
        var found: [(ValidationProblem.Severity, ProblemKind, Int, String)] = []
        let counts = checker.check(line) { found.append(($0, $1, $2, $3)) }
        let hadErrors = found.contains { $0.0 == .error }
        for (severity, kind, offset, message) in found {
            problem(severity, kind, line: number, column: offset == 0 && kind == .missingField ? 0 : offset + 1, message)
        }
        // A record with other errors still says which media the file holds.
        if let counts { checkMediaKinds(counts, line: number) }
        guard let counts, !hadErrors else { return }
        checkTokens(counts, line: number)
        if !hashes.insert(Self.hash(line)).inserted {
            duplicates += 1
            problem(.warning, .duplicateRecord, line: number, column: 0, "exact duplicate of an earlier record")
        }
        if let recordHook, let value = JSONValueDecoder.value(line) {
            for found in recordHook(value) {
                problem(found.severity == .error ? .error : .warning, .adapterCheck, line: number, column: 0, found.message)
            }
        }
    }

    /// A dataset holds images or videos, never both: the first record of the second kind is
    /// the error, pointing at where the first kind began.
    private mutating func checkMediaKinds(_ counts: RecordChecker.Counts, line: Int) {
        if counts.images > 0 && firstImageLine == nil { firstImageLine = line }
        if counts.videos > 0 && firstVideoLine == nil { firstVideoLine = line }
        guard !reportedMixedMedia, let images = firstImageLine, let videos = firstVideoLine else { return }
        reportedMixedMedia = true
        problem(
            .error, .media, line: line, column: 0,
            "the file has images (from line \(images)) and videos (from line \(videos)); a training set holds one kind of media")
    }

    private mutating func checkTokens(_ counts: RecordChecker.Counts, line: Int) {
        let input = plan.tokens(counts.inputCharacters)
        let output = plan.tokens(counts.outputCharacters)
        let total = plan.tokens(counts.inputCharacters + counts.outputCharacters)
        inputTokens += input
        outputTokens += output
        if largest == nil || total > largest!.totalTokens {
            largest = RecordSize(line: line, inputTokens: input, outputTokens: output, totalTokens: total)
        }
        let model = plan.model.id
        let rule = "\(Self.number(plan.limits.charactersPerToken)) characters per token"
        if let limit = plan.limits.maxInputTokens, input > limit {
            problem(
                .error, .inputTooLong, line: line, column: 0,
                "estimated input tokens \(input) exceed the limit of \(limit) for \(model) (\(counts.inputCharacters) characters at \(rule))")
        }
        if let limit = plan.limits.maxOutputTokens, output > limit {
            problem(
                .error, .outputTooLong, line: line, column: 0,
                "estimated output tokens \(output) exceed the limit of \(limit) for \(model) (\(counts.outputCharacters) characters at \(rule))")
        }
        if let limit = plan.totalTokenLimit, total > limit {
            let batch = plan.limits.totalTokensByBatchSize.isEmpty ? "" : " at batch size \(plan.batchSize ?? 1)"
            problem(
                .error, .totalTooLong, line: line, column: 0,
                "estimated input + output tokens \(total) exceed the limit of \(limit) for \(model)\(batch) (\(counts.inputCharacters + counts.outputCharacters) characters at \(rule))"
            )
        }
    }

    /// A fast 64-bit hash of a line, thirty-two bytes at a time in four independent lanes so
    /// the multiplications overlap; a collision only costs a wrong "duplicate" warning.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (
            0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count), 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x27D4_EB2F_1656_67C5
        )
        guard let base = bytes.baseAddress else { return lanes.0 }
        let raw = UnsafeRawPointer(base)
        @inline(__always) func mix(_ h: UInt64, _ w: UInt64, _ k: UInt64) -> UInt64 {
            let m = (h ^ w) &* k
            return m ^ (m >> 29)
        }
        var i = 0
        while i + 32 <= bytes.count {
            lanes.0 = mix(lanes.0, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0xFF51_AFD7_ED55_8CCD)
            lanes.1 = mix(lanes.1, raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self), 0xC4CE_B9FE_1A85_EC53)
            lanes.2 = mix(lanes.2, raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self), 0x9E37_79B9_7F4A_7C15)
            lanes.3 = mix(lanes.3, raw.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self), 0xD6E8_FEB8_6659_FD93)
            i += 32
        }
        var h = lanes.0 ^ (lanes.1 &* 3) ^ (lanes.2 &* 5) ^ (lanes.3 &* 7)
        while i + 8 <= bytes.count {
            h = mix(h, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0xFF51_AFD7_ED55_8CCD)
            i += 8
        }
        var tail: UInt64 = 0
        while i < bytes.count {
            tail = tail << 8 | UInt64(base[i])
            i += 1
        }
        h = mix(h, tail, 0xC4CE_B9FE_1A85_EC53)
        return h ^ (h >> 32)
    }

    /// Where the documentation ties a value to the dataset's size (Nova's warmup steps: records
    /// ÷ 160 for Lite), a value more than three times off is worth a warning, not a refusal.
    private mutating func adviseHyperparameters() {
        guard records > 0 else { return }
        for spec in plan.model.hyperparameters {
            guard let unit = spec.recordsPerSuggestedUnit, let text = plan.hyperparameters[spec.name], let value = Double(text) else { continue }
            var suggested = (Double(records) / Double(unit)).rounded()
            if let minimum = spec.minimum { suggested = max(suggested, minimum) }
            if let maximum = spec.maximum { suggested = min(suggested, maximum) }
            let floor = max(suggested, 1)
            if value > 3 * floor || value < suggested / 3 {
                problem(
                    .warning, .hyperparameter, line: 0, column: 0,
                    "\(spec.name) is \(Self.number(value)); for \(ValidationReport.plural(records, "record")) the documentation advises about \(Self.number(suggested)) (records ÷ \(unit))"
                )
            }
        }
    }

    static func number(_ d: Double) -> String { d.rounded() == d ? String(Int(d)) : String(d) }

    mutating func finish() -> ValidationReport {
        let limits = plan.limits
        switch plan.role {
        case .training:
            if let min = limits.minTrainingRecords, records < min {
                problem(
                    .error, .tooFewRecords, line: 0, column: 0,
                    "\(ValidationReport.plural(records, "record")); \(plan.model.id) needs at least \(min) training records")
            }
            if let max = limits.maxTrainingRecords, records > max {
                problem(
                    .error, .tooManyRecords, line: 0, column: 0,
                    "\(ValidationReport.plural(records, "record")); \(plan.model.id) takes at most \(max) training records")
            }
            if let min = limits.minTotalRecords, records < min {
                problem(
                    .error, .tooFewRecords, line: 0, column: 0,
                    "\(ValidationReport.plural(records, "record")); \(plan.model.id) needs at least \(min) records (training and validation together)"
                )
            }
            if let max = limits.maxTotalRecords, records > max {
                problem(
                    .error, .tooManyRecords, line: 0, column: 0,
                    "\(ValidationReport.plural(records, "record")); \(plan.model.id) takes at most \(max) records (training and validation together)")
            }
            if let max = limits.maxTrainingFileBytes, bytes > max {
                problem(.error, .fileTooLarge, line: 0, column: 0, "the file is \(bytes) bytes; training files may be at most \(max) bytes")
            }
        case .validation:
            if let max = limits.maxValidationRecords, records > max {
                problem(
                    .error, .tooManyRecords, line: 0, column: 0,
                    "\(ValidationReport.plural(records, "record")); \(plan.model.id) takes at most \(max) validation records")
            }
            if let max = limits.maxValidationFileBytes, bytes > max {
                problem(.error, .fileTooLarge, line: 0, column: 0, "the file is \(bytes) bytes; validation files may be at most \(max) bytes")
            }
        }
        if plan.role == .training { adviseHyperparameters() }
        if records == 0 && !counts.keys.contains(.unreadable) {
            problem(.error, .tooFewRecords, line: 0, column: 0, "the file holds no records")
        }
        let sortedCounts = counts.map { ProblemCount(kind: $0.key, severity: $0.value.0, count: $0.value.1) }
            .sorted { a, b in
                if a.count != b.count { return a.count > b.count }
                if a.severity != b.severity { return a.severity == .error }
                return a.kind.rawValue < b.kind.rawValue
            }
        var estimate: CostEstimate?
        if let prices = plan.model.prices {
            let trainingTokens = Double((inputTokens + outputTokens) * (plan.epochs ?? 1))
            estimate = CostEstimate(
                currency: prices.currency, pricesAsOf: prices.asOf,
                training: prices.trainingPerThousandTokens.map { trainingTokens / 1000 * $0 },
                storagePerMonth: prices.storagePerMonth, throughputPerModelUnitHour: prices.throughputPerModelUnitHour)
        }
        return ValidationReport(
            file: displayName, role: plan.role, model: plan.model.id, bytes: bytes, lines: lineNumber, records: records,
            estimatedInputTokens: inputTokens, estimatedOutputTokens: outputTokens, epochs: plan.epochs,
            estimatedCost: estimate, largestRecord: largest, duplicateRecords: duplicates,
            errorCount: errorCount, warningCount: warningCount, problemCounts: sortedCounts,
            problems: problems.sorted { ($0.line, $0.column) < ($1.line, $1.column) }, omittedProblems: omitted)
    }
}
