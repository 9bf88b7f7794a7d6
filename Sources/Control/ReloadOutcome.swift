/// What a reload did: the new configuration is in force, or it was refused and the old one stays.
public enum ReloadOutcome: Codable, Sendable, Equatable {
    case applied(profiles: [String])
    case refused(diagnostics: [String])
}
