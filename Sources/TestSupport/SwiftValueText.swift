/// Finds what a Swift value's description leaves in text meant for people.
public enum SwiftValueText {
    public static let markers = [
        "Finetuned", "WorkflowMachine", "BackendError", "Failure", "Optional(", "Swift.", "Foundation.", "(rawValue:",
        "CustomizationBackend", "AWSError(", "DecodingError", "CodingKeys", "NSError", "Error Domain=",
    ]
    public static func problem(in text: String) -> String? {
        if let marker = markers.first(where: { text.contains($0) }) { return marker }
        // `Type.member` and `camelCase(` (an enum case with its payload).
        let patterns = [#/\b[A-Z][a-z]+[A-Z][A-Za-z]*\.[a-z][A-Za-z]*\b/#, #/\b[a-z]+[A-Z][A-Za-z]*\(/#]
        for pattern in patterns {
            if let match = text.firstMatch(of: pattern) { return String(match.output) }
        }
        return nil
    }
}
