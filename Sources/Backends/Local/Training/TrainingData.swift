import FinetunedText
import Foundation

/// Turns a validated prompt/completion drop into `TrainingExample`s: every document sentence
/// through the frozen encoder, labels from the `GreedyOracle`. This is the slow part of a job
/// (the encoder runs once per sentence), so the result is cached in the job's folder and a
/// resumed job does not redo it.
public enum TrainingData {
    public struct Record: Sendable, Equatable {
        public var prompt: String
        public var completion: String
    }

    /// Reads `prompt`/`completion` records; lines that are not such records are reported
    /// with their number (validation let them through only if the adapter's format allows).
    public static func records(jsonl path: String) throws(Failure) -> [Record] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(.training, "cannot read the training data at \(path)") }
        var records: [Record] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let prompt = object["prompt"] as? String, let completion = object["completion"] as? String
            else { throw Failure(.training, "line \(number + 1) of the training data is not a prompt/completion record") }
            records.append(Record(prompt: prompt, completion: completion))
        }
        return records
    }

    /// Featurises records; `progress` is told after each group of records (done, total).
    /// Records go through the encoder a group at a time, so its passes are large.
    public static func examples(
        _ records: [Record], encoder: SentenceEncoder, progress: (Int, Int) -> Void = { _, _ in },
        shouldStop: () -> Bool = { false }
    ) throws -> [TrainingExample]? {
        var examples: [TrainingExample] = []
        let group = 32
        for start in stride(from: 0, to: records.count, by: group) {
            if shouldStop() { return nil }
            let slice = records[start..<min(start + group, records.count)]
            let split = slice.map { (document: SentenceSplitter.sentences($0.prompt), completion: SentenceSplitter.sentences($0.completion)) }
            // One encoder call for the whole group warms the cache; the lookups below hit it.
            _ = try encoder.embed(split.flatMap { $0.document + $0.completion })
            for (record, parts) in zip(slice, split) where !parts.document.isEmpty {
                let document = DocumentFeatures(sentences: parts.document, vectors: try encoder.embed(parts.document))
                let labels = GreedyOracle.labels(
                    document: document, completionVectors: try encoder.embed(parts.completion),
                    dimension: encoder.dimension)
                examples.append(
                    TrainingExample(
                        rows: document.rows, labels: labels,
                        completionWords: SentenceSplitter.wordCount(record.completion)))
            }
            progress(min(start + group, records.count), records.count)
        }
        return examples
    }

    /// The budget a custom model uses when a request names none: the median completion length.
    public static func learnedBudget(_ examples: [TrainingExample]) -> Int {
        let lengths = examples.map(\.completionWords).sorted()
        guard !lengths.isEmpty else { return ExtractiveModel.baseBudgetWords }
        return max(1, lengths[lengths.count / 2])
    }

    // MARK: - The cache file

    static let magic = Array("FTLF1\n".utf8)

    public static func save(_ examples: [TrainingExample], to path: String) throws {
        var bytes = magic
        func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        func append(_ values: [Float]) { for v in values { append(v.bitPattern) } }
        append(UInt32(examples.count))
        for example in examples {
            append(UInt32(example.rows.count))
            append(UInt32(example.rows.first?.count ?? 0))
            append(UInt32(example.completionWords))
            append(example.labels)
            for row in example.rows { append(row) }
        }
        try AtomicFile.write(Data(bytes), to: path)
    }

    /// The cached examples, or nil when the file is missing or not one we wrote whole.
    public static func load(from path: String) -> [TrainingExample]? {
        guard let data = FileManager.default.contents(atPath: path), data.count >= magic.count + 4,
            Array(data.prefix(magic.count)) == magic
        else { return nil }
        var offset = magic.count
        func next() -> UInt32? {
            guard offset + 4 <= data.count else { return nil }
            let value = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
            offset += 4
            return UInt32(littleEndian: value)
        }
        func floats(_ count: Int) -> [Float]? {
            var values: [Float] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                guard let bits = next() else { return nil }
                values.append(Float(bitPattern: bits))
            }
            return values
        }
        guard let count = next() else { return nil }
        var examples: [TrainingExample] = []
        for _ in 0..<count {
            guard let n = next().map(Int.init), let width = next().map(Int.init), let words = next().map(Int.init),
                let labels = floats(n)
            else { return nil }
            var rows: [[Float]] = []
            for _ in 0..<n {
                guard let row = floats(width) else { return nil }
                rows.append(row)
            }
            examples.append(TrainingExample(rows: rows, labels: labels, completionWords: words))
        }
        return offset == data.count ? examples : nil
    }
}

/// Writes a file whole or not at all: a temporary file in the same folder, fsync, rename.
/// A crash leaves the old version or the new one, never half of either.
enum AtomicFile {
    static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw Failure(.training, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Failure(.training, "cannot move \(temporary) to \(path): \(reason)")
        }
    }
}
