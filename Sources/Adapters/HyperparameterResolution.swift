import AdapterKit
import FinetunedConfig
import Foundation

/// One hyperparameter value that does not fit the model's schema.
public struct HyperparameterProblem: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var message: String
    public var description: String { message }
}

/// Every problem found in one set of hyperparameters.
public struct HyperparameterProblems: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [HyperparameterProblem]

    public var description: String { problems.map { "\($0)" }.joined(separator: "; ") }
}

/// Checks user hyperparameters against a model's schema and produces the string map
/// `CreateModelCustomizationJob` takes, with every default filled in so the record of what
/// ran is complete.
public enum HyperparameterResolution {
    public static func resolve(
        _ values: [String: ConfigNode], for model: ModelDescription
    ) throws(HyperparameterProblems) -> [String: String] {
        var problems: [HyperparameterProblem] = []
        var resolved: [String: String] = [:]
        for name in values.keys.sorted() where model.hyperparameter(name) == nil {
            let known = model.hyperparameters.map(\.name)
            let hint = Spelling.suggestion(for: name, among: known).map { " (did you mean '\($0)'?)" } ?? ""
            problems.append(
                HyperparameterProblem(
                    name: name,
                    message: "unknown hyperparameter '\(name)' for \(model.id)\(hint); known: \(known.joined(separator: ", "))"))
        }
        for spec in model.hyperparameters {
            guard let node = values[spec.name] else {
                if let defaultValue = spec.defaultValue { resolved[spec.name] = bedrockString(defaultValue, type: spec.type) }
                continue
            }
            let value = jsonValue(node, as: spec.type)
            if let problem = HyperparameterSpec.problem(
                with: value, type: spec.type, minimum: spec.minimum, maximum: spec.maximum, allowed: spec.allowedValues)
            {
                problems.append(
                    HyperparameterProblem(
                        name: spec.name,
                        message: "hyperparameter '\(spec.name)' = \(node.scalarText ?? "?"): \(problem) (\(allowed(spec))) for \(model.id)"))
            } else {
                resolved[spec.name] = bedrockString(value, type: spec.type)
            }
        }
        guard problems.isEmpty else { throw HyperparameterProblems(problems: problems) }
        return resolved
    }

    /// `allowed 1...100, default 1`: what a person needs to fix the value.
    static func allowed(_ spec: HyperparameterSpec) -> String {
        var parts: [String] = []
        switch (spec.minimum, spec.maximum) {
        case (let min?, let max?): parts.append("allowed \(JSONValue.format(min))...\(JSONValue.format(max))")
        case (let min?, nil): parts.append("at least \(JSONValue.format(min))")
        case (nil, let max?): parts.append("at most \(JSONValue.format(max))")
        default: break
        }
        if !spec.allowedValues.isEmpty { parts.append("one of \(spec.allowedValues.joined(separator: ", "))") }
        if let d = spec.defaultValue { parts.append("default \(d.serialized())") }
        if parts.isEmpty { parts.append("a \(spec.type.rawValue)") }
        return parts.joined(separator: ", ")
    }

    /// TOML values, and numbers written as strings the way the AWS sample passes them
    /// (`epochCount = "1"`), as the JSON value the schema check takes.
    static func jsonValue(_ node: ConfigNode, as type: HyperparameterType) -> JSONValue {
        switch node {
        case .integer(let i): return .number(Double(i))
        case .float(let d): return .number(d)
        case .boolean(let b): return .bool(b)
        case .string(let s):
            switch type {
            case .integer, .float:
                if let d = Double(s.trimmingCharacters(in: .whitespaces)) { return .number(d) }
                return .string(s)
            case .boolean:
                if s == "true" { return .bool(true) }
                if s == "false" { return .bool(false) }
                return .string(s)
            case .string: return .string(s)
            }
        case .array: return .array([])
        case .table: return .object([:])
        case .other(let s): return .string(s)
        }
    }

    /// Plain decimal notation: `0.00001`, never `1e-05`, which not every consumer accepts.
    static func bedrockString(_ value: JSONValue, type: HyperparameterType) -> String {
        switch value {
        case .number(let d):
            if type == .integer || d.rounded() == d && abs(d) < 1e15 { return String(Int64(d)) }
            var text = String(format: "%.15f", d)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return s
        default: return value.serialized()
        }
    }
}
