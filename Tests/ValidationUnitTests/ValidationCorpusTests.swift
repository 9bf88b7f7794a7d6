import AdapterKit
import FinetunedTestSupport
import FinetunedValidation
import Foundation
import Testing

@Suite("Validation corpus")
struct ValidationCorpusTests {
    static func validate(_ c: ValidationCorpus.Case) throws -> ValidationReport {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file(c.name)
        try c.materialize(at: path)
        return FileValidator(plan: ValidationPlan(model: c.model)).validate(path: path)
    }

    @Test("the corpus has at least 40 bad inputs")
    func size() {
        #expect(ValidationCorpus.bad.count >= 40)
        #expect(Set(ValidationCorpus.bad.map(\.name)).count == ValidationCorpus.bad.count)
    }

    @Test("each bad input is rejected with its expected problem at its line and column", arguments: ValidationCorpus.bad)
    func bad(_ c: ValidationCorpus.Case) throws {
        let report = try Self.validate(c)
        #expect(!report.isValid, "\(c.name) was accepted")
        let matching = report.problems.filter { $0.kind.rawValue == c.expectedKind }
        #expect(!matching.isEmpty, "\(c.name): no \(c.expectedKind!) problem in:\n\(report.text())")
        if let location = c.expectedLocation {
            let found = matching.map { $0.column == 0 ? "\($0.line)" : "\($0.line):\($0.column)" }
            let lineOnly = matching.map { "\($0.line)" }
            #expect(found.contains(location) || lineOnly.contains(location), "\(c.name): expected at \(location), found \(found):\n\(report.text())")
        }
    }

    @Test("each tricky good input is accepted", arguments: ValidationCorpus.good)
    func good(_ c: ValidationCorpus.Case) throws {
        let report = try Self.validate(c)
        #expect(report.isValid, "\(c.name):\n\(report.text())")
    }
}

extension ValidationCorpus.Case: CustomTestStringConvertible {
    public var testDescription: String { name }
}
