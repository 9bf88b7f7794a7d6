import Foundation

/// Compiles the C example adapter (`plugins/examples/c/example_adapter.c`) against the public
/// header only, the way a third party would build an adapter.
public enum CAdapterBuilder {
    public static var source: String {
        BuiltProducts.packageRoot.appendingPathComponent("plugins/examples/c/example_adapter.c").path
    }
    public static var includeDirectory: String {
        BuiltProducts.packageRoot.appendingPathComponent("plugins/abi/include").path
    }

    /// Builds `directory/libfinetuned-adapter-example.so` (or `fileName`) with extra `-D` defines.
    @discardableResult
    public static func build(
        into directory: String, defines: [String] = [], fileName: String = "libfinetuned-adapter-example.so",
        includeDirectory: String = CAdapterBuilder.includeDirectory
    ) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let output = directory + "/" + fileName
        guard let compiler = Command.which("cc") ?? Command.which("gcc") ?? Command.which("clang") else {
            throw CAdapterBuildError(message: "no C compiler found (apt-get install gcc)")
        }
        let result = try Command.run(
            compiler,
            ["-std=c11", "-Wall", "-Werror", "-shared", "-fPIC", "-I", includeDirectory]
                + defines.map { "-D\($0)" } + ["-o", output, source])
        guard result.status == 0 else { throw CAdapterBuildError(message: result.stderr) }
        chmod(output, 0o644)
        return output
    }
}

public struct CAdapterBuildError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "building the C example adapter failed: \(message)" }
}
