import AdapterKit
import ArgumentParser
import FinetunedControl
import Foundation

struct Adapters: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the loaded adapter plugins, their models with lifecycle, and hyperparameter schemas; and refused plugins.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .long, help: "Print JSON for machines (each adapter's description document, see plugins/README.md).") var json = false

    func run() throws {
        let result = try perform { () throws(ControlClientError) in
            try connection.client.callRaw(ControlRequest(verb: "adapters"))
        }
        if json {
            let object = try JSONSerialization.jsonObject(with: Data(result.utf8))
            let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: pretty, as: UTF8.self))
            return
        }
        print(try Self.render(JSONValue(parsing: result)))
    }

    static func render(_ listing: JSONValue) throws -> String {
        var lines: [String] = []
        let today = listing["as_of"]?.stringValue ?? "?"
        for adapter in listing["adapters"]?.arrayValue ?? [] {
            let description = try AdapterDescription(json: adapter)
            lines.append("\(description.name) \(description.version) — \(description.summary)")
            lines.append("  from \(adapter["path"]?.stringValue ?? "?")")
            for model in description.models {
                let status = model.lifecycle.status(on: today)
                var lifecycle = status.rawValue.replacingOccurrences(of: "_", with: " ")
                if let end = model.lifecycle.endOfLifeDate { lifecycle += status == .endOfLife ? " since \(end)" : " (end of life \(end))" }
                lines.append("  \(model.id)  [\(lifecycle)]  \(model.displayName); invoke as \(model.inferenceID)")
                let serving = model.serving
                var facts = [
                    serving.customizations.map { $0.apiName.lowercased().replacingOccurrences(of: "_", with: " ") }.joined(separator: ", "),
                    serving.onDemand ? "served on demand or provisioned" : "served by provisioned throughput",
                    serving.invokeAPI == .converse ? "Converse" : "InvokeModel",
                ]
                if !serving.teachers.isEmpty { facts.append("teachers: " + serving.teachers.joined(separator: ", ")) }
                if !serving.validationData { facts.append("no validation set") }
                let limits = model.limits
                if let min = limits.minTrainingRecords, let max = limits.maxTrainingRecords { facts.append("\(min)–\(max) records") }
                lines.append("      " + facts.joined(separator: "; "))
                for spec in model.hyperparameters {
                    let range =
                        [spec.minimum, spec.maximum].contains(nil) ? "" : " \(JSONValue.format(spec.minimum!))...\(JSONValue.format(spec.maximum!))"
                    let fallback = spec.defaultValue.map { ", default \($0.serialized())" } ?? ""
                    lines.append("      \(spec.name): \(spec.type.rawValue)\(range)\(fallback)")
                }
            }
        }
        let refused = listing["refused"]?.arrayValue ?? []
        if !refused.isEmpty {
            lines.append("refused:")
            for entry in refused { lines.append("  \(entry["reason"]?.stringValue ?? "?")") }
        }
        if lines.isEmpty { lines.append("no adapters loaded from \(listing["directories"]?.serialized() ?? "[]")") }
        return lines.joined(separator: "\n")
    }
}
