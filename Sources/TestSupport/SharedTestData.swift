import Foundation

/// Test data the project does not ship: `../shared/testdata` beside the checkout, and the
/// model `scripts/fetch-model` puts in `models/`. Tests that need either are disabled with
/// a message when it is absent, never failed.
public enum SharedTestData {
    public static var directory: URL {
        BuiltProducts.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata")
    }

    public static var bertScoreReference: URL { directory.appendingPathComponent("bertscore/reference.json") }
    public static var hasBertScoreReference: Bool { FileManager.default.fileExists(atPath: bertScoreReference.path) }

    public static var sigV4Suite: URL { directory.appendingPathComponent("aws-sigv4/v4") }
    public static var hasSigV4Suite: Bool { FileManager.default.fileExists(atPath: sigV4Suite.appendingPathComponent("get-vanilla").path) }

    public static var modelDirectory: URL { BuiltProducts.packageRoot.appendingPathComponent("models/all-MiniLM-L6-v2") }
    public static var hasModel: Bool {
        FileManager.default.fileExists(atPath: modelDirectory.appendingPathComponent("model.safetensors").path)
    }
}
