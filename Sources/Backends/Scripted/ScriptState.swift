import FinetunedText
import Foundation
import Synchronization

/// Everything a scripted backend has "done", as it keeps it between calls and processes.
/// Tests read it to count what a crashed daemon really created and deleted.
public struct ScriptState: Codable, Sendable, Equatable {
    public struct Job: Codable, Sendable, Equatable {
        public var name: String
        public var arn: String
        public var token: String
        public var customModelName: String
        public var baseModel: String
        public var hyperparameters: [String: String]
        public var tags: [String: String]
        public var status: String
        public var polls: Int
        public var customModelARN: String?
    }

    public struct Throughput: Codable, Sendable, Equatable {
        public var name: String
        public var arn: String
        public var token: String
        public var modelARN: String
        public var status: String
        public var polls: Int
        public var deleted: Bool
        public var tags: [String: String]
    }

    public struct Model: Codable, Sendable, Equatable {
        public var name: String
        public var arn: String
        public var deleted: Bool
    }

    /// Every call so far (the fault schedule counts them).
    public var calls = 0
    public var uploads: [String] = []
    public var jobs: [Job] = []
    public var throughputs: [Throughput] = []
    public var models: [Model] = []
    public var invocations = 0
    /// The most throughputs alive at once, and the most jobs training at once.
    public var peakLiveThroughputs = 0
    public var peakRunningJobs = 0
    /// Operation names in call order, faults included (`create_job`, `throttled:create_job`).
    public var log: [String] = []

    public init() {}

    public var liveThroughputs: [Throughput] { throughputs.filter { !$0.deleted } }
    public var liveModels: [Model] { models.filter { !$0.deleted } }
}

/// Where a scripted backend keeps its `ScriptState`.
protocol ScriptStorage: Sendable {
    func update<T: Sendable>(_ body: (inout ScriptState) throws -> T) throws -> T
}

/// In memory: for benchmarks and single-process tests.
final class MemoryScriptStorage: ScriptStorage {
    private let state = Mutex(ScriptState())

    func update<T: Sendable>(_ body: (inout ScriptState) throws -> T) throws -> T {
        try state.withLock { try body(&$0) }
    }
}

/// A JSON file, locked with `flock` for each call and replaced atomically: it survives the
/// daemon's crashes (it belongs to the "service", not to the daemon) and several processes
/// can share it.
struct FileScriptStorage: ScriptStorage {
    let path: String

    static func read(path: String) throws -> ScriptState {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return ScriptState() }
        return try JSONDecoder().decode(ScriptState.self, from: data)
    }

    func update<T: Sendable>(_ body: (inout ScriptState) throws -> T) throws -> T {
        let lockFD = open(path + ".lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw Failure(.storage, "cannot open \(path).lock: \(String(cString: strerror(errno)))") }
        defer { close(lockFD) }
        guard flock(lockFD, LOCK_EX) == 0 else { throw Failure(.storage, "cannot lock \(path): \(String(cString: strerror(errno)))") }
        defer { flock(lockFD, LOCK_UN) }
        var state = try Self.read(path: path)
        let before = state
        let result = try body(&state)
        if state != before {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let temporary = path + ".tmp"
            try encoder.encode(state).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else { throw Failure(.storage, "cannot replace \(path): \(String(cString: strerror(errno)))") }
        }
        return result
    }
}
