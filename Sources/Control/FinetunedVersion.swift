/// The version both executables report; bumped with each release.
public enum FinetunedVersion {
    public static let current = "0.1.0"
}
