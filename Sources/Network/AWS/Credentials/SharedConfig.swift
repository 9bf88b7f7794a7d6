import FinetunedText
import Foundation

/// The shared `config` and `credentials` files every AWS SDK reads (`~/.aws/config`,
/// `~/.aws/credentials`, or `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`), reduced to
/// the one profile in use (`AWS_PROFILE`, else `default`).
///
/// The format is INI: `[profile name]` (or `[default]`) in `config`, `[name]` in
/// `credentials`, `key = value` lines, `#`/`;` comments, and indented `key = value` lines
/// under a `key =` line forming a sub-section (the `services` sections use that).
public struct SharedConfig: Sendable, Equatable {
    public var profileName: String
    /// Settings of the profile from `config`, overlaid with those from `credentials`
    /// (which wins for keys, as in the SDKs).
    public var settings: [String: String]
    /// Where the keys were read, for the credentials' source name.
    public var credentialsFile: String?
    /// `[services <name>]` of the profile's `services =`, as service key → endpoint URL.
    public var serviceEndpoints: [String: String]
    /// Whether either file has a section for this profile.
    public var exists: Bool
    /// Both files as read, for the profiles a `source_profile` names.
    let config: INIFile?
    let credentials: INIFile?
    let credentialsPath: String?

    /// Reads both files; a missing file is empty, an unreadable one an error.
    public static func load(environment: [String: String]) throws(Failure) -> SharedConfig {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let configPath = environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config"
        let credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let config = try INIFile.read(configPath)
        let credentials = try INIFile.read(credentialsPath)
        return SharedConfig(profile: profile, config: config, credentials: credentials, credentialsPath: credentialsPath)
    }

    init(profile: String, config: INIFile?, credentials: INIFile?, credentialsPath: String?) {
        profileName = profile
        self.config = config
        self.credentials = credentials
        self.credentialsPath = credentialsPath
        let configSection =
            config?.sections[profile == "default" ? "default" : "profile " + profile]
            ?? (profile == "default" ? config?.sections["profile default"] : nil)
        exists = configSection != nil || credentials?.sections[profile] != nil
        var settings = configSection?.values ?? [:]
        let fromCredentials = credentials?.sections[profile]?.values ?? [:]
        settings.merge(fromCredentials) { _, new in new }
        self.settings = settings
        credentialsFile = fromCredentials["aws_access_key_id"] != nil ? credentialsPath : nil
        var endpoints: [String: String] = [:]
        if let services = settings["services"], let section = config?.sections["services " + services] {
            for (service, sub) in section.subsections { if let url = sub["endpoint_url"] { endpoints[service] = url } }
        }
        serviceEndpoints = endpoints
    }

    /// Another profile of the same files (a `source_profile`).
    public func profile(_ name: String) -> SharedConfig {
        SharedConfig(profile: name, config: config, credentials: credentials, credentialsPath: credentialsPath)
    }

    public var region: String? { settings["region"] }
    public var endpointURL: String? { settings["endpoint_url"] }
}

/// The credentials of the profile in use: its static keys, its `credential_process`, or the
/// role it assumes (see `ProfileCredentials`).
public struct SharedFileCredentials: CredentialsProvider {
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func resolve() async throws(Failure) -> ProvidedCredentials? {
        let shared = try SharedConfig.load(environment: environment)
        return try await ProfileCredentials(environment: environment).resolve(shared)
    }

    /// The profile's own keys, if it has a pair; half a pair is an error.
    static func credentials(in shared: SharedConfig) throws(Failure) -> ProvidedCredentials? {
        let settings = shared.settings
        let profile = "profile \(shared.profileName)"
        if let key = settings["aws_access_key_id"], let secret = settings["aws_secret_access_key"], !key.isEmpty, !secret.isEmpty {
            let where_ = shared.credentialsFile.map { " in \($0)" } ?? " in the config file"
            return ProvidedCredentials(
                credentials: AWSCredentials(
                    accessKeyID: key, secretAccessKey: secret,
                    sessionToken: settings["aws_session_token"]),
                source: profile + where_)
        }
        if settings["aws_access_key_id"] != nil || settings["aws_secret_access_key"] != nil {
            throw Failure(.credentials, "\(profile) has only one of aws_access_key_id and aws_secret_access_key")
        }
        return nil
    }
}

/// A parsed INI file: sections of key → value, and indented sub-sections.
struct INIFile: Sendable, Equatable {
    struct Section: Sendable, Equatable {
        var values: [String: String] = [:]
        var subsections: [String: [String: String]] = [:]
    }

    var sections: [String: Section] = [:]

    /// nil when the file does not exist.
    static func read(_ path: String) throws(Failure) -> INIFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(.credentials, "cannot read \(path)") }
        do { return try parse(String(decoding: data, as: UTF8.self)) } catch { throw Failure(.credentials, "\(path): \(error.description)") }
    }

    static func parse(_ text: String) throws(Failure) -> INIFile {
        var file = INIFile()
        var current: String?
        var openSubsection: String?
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = String(rawLine)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else { throw Failure(.credentials, "line \(index + 1): a section header without ']'") }
                let name = trimmed.dropFirst().dropLast().split(whereSeparator: \.isWhitespace).joined(separator: " ")
                current = name
                openSubsection = nil
                if file.sections[name] == nil { file.sections[name] = Section() }
                continue
            }
            guard let section = current else { throw Failure(.credentials, "line \(index + 1): a setting before any [section]") }
            guard let equals = trimmed.firstIndex(of: "=") else { throw Failure(.credentials, "line \(index + 1): expected 'key = value'") }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            // An inline comment needs whitespace before it, as in the SDKs.
            if let comment = value.range(of: " #") ?? value.range(of: " ;") {
                value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            let indented = line.first?.isWhitespace == true
            if indented, let parent = openSubsection {
                file.sections[section]!.subsections[parent, default: [:]][key] = value
            } else if value.isEmpty {
                openSubsection = key
                file.sections[section]!.subsections[key] = file.sections[section]!.subsections[key] ?? [:]
            } else {
                openSubsection = nil
                file.sections[section]!.values[key] = value
            }
        }
        return file
    }
}
