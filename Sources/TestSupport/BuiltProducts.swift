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

    /// The package root, for tests that read the shipped unit files and configuration.
    public static var packageRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }
}
