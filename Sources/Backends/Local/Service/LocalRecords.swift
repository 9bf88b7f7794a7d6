import FinetunedText
import FinetunedTime
import FinetunedWorkflow
import Foundation
import Synchronization

/// What the local backend keeps on disk, one JSON file per resource, so that everything it
/// "created" outlives the daemon process exactly as a Bedrock resource would.
struct LocalJob: Codable, Sendable, Equatable {
    var name: String
    var arn: String
    var token: String
    var customModelName: String
    var baseModel: String
    var trainingData: String
    var hyperparameters: [String: String]
    var tags: [String: String]
    var status: JobState.Status
    var message: String?
    var customModelARN: String?
    var createdAt: Date
    var endedAt: Date?
}

struct LocalModel: Codable, Sendable, Equatable {
    var name: String
    var arn: String
    var job: String
    var model: ExtractiveModel
}

struct LocalThroughput: Codable, Sendable, Equatable {
    var name: String
    var arn: String
    var token: String
    var modelARN: String
    var status: ThroughputState.Status
    var message: String?
    var tags: [String: String]
}

/// The backend's folder: `uploads/`, `jobs/<name>/` (record, feature cache, checkpoint,
/// metrics), `models/<name>/`, `throughputs/<name>.json`. Every write is atomic, and
/// read-modify-write of a record holds the folder's lock, because the training thread and
/// the engine's calls both update jobs.
final class LocalDirectory: Sendable {
    let root: String
    let backend: String
    private let lock = Mutex(())

    init(root: String, backend: String) {
        self.root = root
        self.backend = backend
    }

    var uploads: String { root + "/uploads" }
    func jobFolder(_ name: String) -> String { root + "/jobs/" + name }
    func modelFolder(_ name: String) -> String { root + "/models/" + name }
    var throughputFolder: String { root + "/throughputs" }

    func jobARN(_ name: String) -> String { "arn:local:\(backend):model-customization-job/\(name)" }
    func modelARN(_ name: String) -> String { "arn:local:\(backend):custom-model/\(name)" }
    func throughputARN(_ name: String) -> String { "arn:local:\(backend):provisioned-model/\(name)" }

    /// The resource name at the end of one of our ARNs, if it is one of ours.
    func name(in arn: String, kind: String) -> String? {
        let prefix = "arn:local:\(backend):\(kind)/"
        guard arn.hasPrefix(prefix) else { return nil }
        let name = String(arn.dropFirst(prefix.count))
        return ResourceName.isSafe(name) ? name : nil
    }

    func makeFolders() throws {
        for folder in [uploads, root + "/jobs", root + "/models", throughputFolder] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
    }

    // MARK: jobs

    func job(named name: String) throws -> LocalJob? { try read(jobFolder(name) + "/job.json") }

    func jobs() throws -> [LocalJob] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/jobs")) ?? []
        return try names.sorted().compactMap { try job(named: $0) }
    }

    func save(_ job: LocalJob) throws {
        try lock.withLock { _ in
            try FileManager.default.createDirectory(atPath: jobFolder(job.name), withIntermediateDirectories: true)
            try write(job, to: jobFolder(job.name) + "/job.json")
        }
    }

    /// Changes a job's record under the lock (nothing when there is no such job).
    func updateJob(_ name: String, _ change: (inout LocalJob) -> Void) throws {
        try lock.withLock { _ in
            guard var job: LocalJob = try read(jobFolder(name) + "/job.json") else { return }
            change(&job)
            try write(job, to: jobFolder(name) + "/job.json")
        }
    }

    // MARK: models

    func model(named name: String) throws -> LocalModel? { try read(modelFile(name)) }

    func modelFile(_ name: String) -> String { modelFolder(name) + "/model.json" }

    /// Whether the model exists, without reading its weights.
    func hasModel(named name: String) -> Bool { FileManager.default.fileExists(atPath: modelFile(name)) }

    /// A job's losses per epoch, small enough for the daemon to read; the checkpoint beside it
    /// holds the weights and the optimiser's state as well.
    static let epochsFile = "epochs.json"

    func save(_ model: LocalModel) throws {
        try FileManager.default.createDirectory(atPath: modelFolder(model.name), withIntermediateDirectories: true)
        try write(model, to: modelFile(model.name))
    }

    func deleteModel(named name: String) throws {
        let folder = modelFolder(name)
        if FileManager.default.fileExists(atPath: folder) { try FileManager.default.removeItem(atPath: folder) }
    }

    // MARK: throughputs

    func throughput(named name: String) throws -> LocalThroughput? { try read(throughputFolder + "/" + name + ".json") }

    func throughputs() throws -> [LocalThroughput] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: throughputFolder)) ?? []
        return try names.filter { $0.hasSuffix(".json") }.sorted().compactMap { try read(throughputFolder + "/" + $0) }
    }

    func save(_ throughput: LocalThroughput) throws {
        try lock.withLock { _ in try write(throughput, to: throughputFolder + "/" + throughput.name + ".json") }
    }

    func deleteThroughput(named name: String) throws {
        try lock.withLock { _ in
            let path = throughputFolder + "/" + name + ".json"
            if unlink(path) != 0 && errno != ENOENT { throw Failure(.training, "cannot delete \(path): \(String(cString: strerror(errno)))") }
        }
    }

    // MARK: files

    func read<T: Decodable>(_ path: String) throws -> T? { try Self.read(path) }

    static func read<T: Decodable>(_ path: String) throws -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder.local.decode(T.self, from: data)
        } catch {
            throw Failure(.training, "\(path) is not a record the local backend wrote: \(ErrorWords.of(error))")
        }
    }

    func write<T: Encodable>(_ value: T, to path: String) throws {
        try AtomicFile.write(try JSONEncoder.local.encode(value), to: path)
    }
}

/// Names that are safe as a file name: what Bedrock allows for job, model and throughput
/// names (letters, digits, `-`, `_`, `.`, `+`), never `..` or a `/`.
enum ResourceName {
    static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.+".unicodeScalars.contains($0)
            }
            && !name.hasPrefix(".")
    }
}

extension JSONEncoder {
    static var local: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .utcISO8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}

extension JSONDecoder {
    static var local: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .utcISO8601
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
