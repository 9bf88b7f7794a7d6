import Foundation

/// The adapters found by one scan of the adapter directories.
public struct AdapterSet: Sendable {
    public var adapters: [String: LoadedAdapter]
    /// Plugins that were refused, each with its reason; the others work regardless.
    public var refusals: [AdapterLoadError]
    public var directories: [String]

    public init(adapters: [String: LoadedAdapter] = [:], refusals: [AdapterLoadError] = [], directories: [String] = []) {
        self.adapters = adapters
        self.refusals = refusals
        self.directories = directories
    }

    public var names: Set<String> { Set(adapters.keys) }

    /// Why no adapter of that name is available: refused (and why) or simply absent.
    public func explainMissing(_ name: String) -> String {
        let refusedHere = refusals.filter { $0.path.hasSuffix("libfinetuned-adapter-\(name).so") }
        if let refusal = refusedHere.first { return "adapter '\(name)' was refused: \(refusal)" }
        let known =
            adapters.isEmpty ? "none loaded from \(directories.joined(separator: ", "))" : "known: " + adapters.keys.sorted().joined(separator: ", ")
        return "unknown adapter '\(name)' (\(known))"
    }
}

/// Finds and loads adapter plugins (`libfinetuned-adapter-*.so`) from directories, in order.
///
/// An actor because loads are remembered: a library already loaded from an unchanged file is
/// reused on rescan (a library cannot be unloaded safely), while a new or replaced file is
/// loaded afresh, so `systemctl reload` picks up new adapters without a restart.
public actor AdapterLoader {
    private var loaded: [FileIdentity: LoadedAdapter] = [:]
    private let trustedUID: uid_t

    public static let filePrefix = "libfinetuned-adapter-"
    public static let fileSuffix = ".so"

    public init(trustedUID: uid_t = geteuid()) {
        self.trustedUID = trustedUID
    }

    /// Relative directories are taken from the working directory, and named absolute in the
    /// set and in every refusal.
    public func scan(directories: [String]) -> AdapterSet {
        let directories = directories.map { PluginFileSecurity.absolutePath($0) ?? $0 }
        var set = AdapterSet(directories: directories)
        for directory in directories {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for file in names.sorted() where file.hasPrefix(Self.filePrefix) && file.hasSuffix(Self.fileSuffix) {
                let path = directory + "/" + file
                do {
                    let adapter = try load(path)
                    if let first = set.adapters[adapter.name] {
                        throw AdapterLoadError.duplicateName(path: path, name: adapter.name, loadedFrom: first.path)
                    }
                    set.adapters[adapter.name] = adapter
                } catch let error as AdapterLoadError {
                    set.refusals.append(error)
                } catch {
                    set.refusals.append(.cannotOpen(path: path, reason: "\(error)"))
                }
            }
        }
        return set
    }

    private func load(_ path: String) throws(AdapterLoadError) -> LoadedAdapter {
        // The security check runs on every scan: a file made writable since it was loaded is
        // refused from now on even though its code stays mapped.
        if let problem = PluginFileSecurity.problem(with: path, trustedUID: trustedUID) {
            throw .unsafeFile(path: path, reason: problem)
        }
        if let identity = FileIdentity(path: path), let cached = loaded[identity] { return cached }
        let adapter = try LoadedAdapter.load(path: path, trustedUID: trustedUID)
        loaded[adapter.fileIdentity] = adapter
        return adapter
    }
}
