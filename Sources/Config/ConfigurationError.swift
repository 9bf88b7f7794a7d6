/// One problem in a configuration file, located like a compiler diagnostic.
public struct ConfigurationDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `finetuned.toml:14: profile 'summaries': unknown adapter 'cohre' (known: cohere, llama, titan)`
    public var description: String {
        let name = file.split(separator: "/").last.map(String.init) ?? file
        return line.map { "\(name):\($0): \(message)" } ?? "\(name): \(message)"
    }
}

/// Every problem found in a configuration file; the loader reports them all at once so a
/// person fixes the file in one go instead of one error per restart.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigurationDiagnostic]

    public init(_ diagnostics: [ConfigurationDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
