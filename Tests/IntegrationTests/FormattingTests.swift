import FinetunedTestSupport
import Foundation
import Testing

/// The code is formatted by swift-format (the toolchain's) with the repository's
/// `.swift-format`; `make format` fixes what this finds.
@Suite("Formatting")
struct FormattingTests {
    @Test("swift format lint --strict finds nothing in Sources, Tests, plugins and Package.swift")
    func formatted() throws {
        let root = BuiltProducts.packageRoot.path
        let swift = try #require(Command.which("swift"), "the swift driver is on PATH wherever the tests build")
        let result = try Command.run(
            swift,
            [
                "format", "lint", "-r", "--strict", "--configuration", root + "/.swift-format",
                root + "/Sources", root + "/Tests", root + "/plugins", root + "/Package.swift",
            ])
        #expect(
            result.status == 0 && result.stderr.isEmpty && result.stdout.isEmpty,
            "run `make format`:\n\(String((result.stderr + result.stdout).prefix(4000)))")
    }

    @Test("the commit-msg hook refuses a subject over 72 characters and takes one under")
    func commitSubjects() throws {
        let hook = BuiltProducts.packageRoot.appendingPathComponent(".githooks/commit-msg").path
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let long = try dir.write("long", String(repeating: "x", count: 73) + "\n\nbody\n")
        let short = try dir.write("short", "Inbox claims by descriptor\n\nwhy\n")
        let refused = try Command.run(hook, [long])
        #expect(refused.status == 1 && refused.stderr.contains("73 characters"), "\(refused.stderr)")
        #expect(try Command.run(hook, [short]).status == 0)
    }
}
