import Foundation

/// Locates the executables `swift build` produced next to the running test bundle, so tests
/// run the real `finetuned` and `finetunectl` rather than an in-process imitation.
public enum BuiltProducts {
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["FINETUNED_BUILD_DIR"] {
            return URL(fileURLWithPath: override)
        }
        // The test runner is `.build/<triple>/debug/finetunedPackageTests.xctest`.
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    public static func executable(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// Copies a built program where other users can run it (the tests run commands as other
    /// uids). Written through a descriptor other tests' children cannot inherit, so running
    /// the copy never meets "Text file busy" from a process another test started meanwhile.
    public static func copyExecutable(_ name: String, to target: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: executable(name)))
        let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    /// Runs a command, again after a moment if exec met "Text file busy": a child another
    /// test forked may hold a descriptor of a file just written until it execs.
    public static func runRetryingBusy(_ executable: String, _ arguments: [String]) throws -> CommandResult {
        var result = try Command.run(executable, arguments)
        for _ in 0..<10 where result.status == 126 && result.stderr.contains("Text file busy") {
            usleep(100_000)
            result = try Command.run(executable, arguments)
        }
        return result
    }

    /// The adapters `swift build` produces (`libfinetuned-adapter-NAME.so`).
    public static let adapterNames = ["cohere", "llama", "local", "nova", "titan"]

    public static func adapterLibrary(_ name: String) -> String {
        executable("libfinetuned-adapter-\(name).so")
    }

    /// Copies built adapters into `directory` (created 0755), as an operator would install them.
    public static func installAdapters(_ names: [String], into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for name in names {
            let target = directory + "/libfinetuned-adapter-\(name).so"
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: adapterLibrary(name), toPath: target)
            chmod(target, 0o644)
        }
    }

    /// The package root, for tests that read the shipped unit files and configuration.
    public static var packageRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }
}
