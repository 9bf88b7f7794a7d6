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
