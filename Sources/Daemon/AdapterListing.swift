import AdapterKit
import FinetunedAdapters

/// The `adapters` verb's result: each loaded adapter's own description document (the one the
/// plugin ABI defines) plus where it came from and each model's lifecycle status today, and
/// every refused plugin with its reason.
enum AdapterListing {
    static func json(_ adapters: AdapterSet, today: String) -> JSONValue {
        let loaded: [JSONValue] = adapters.adapters.values.sorted { $0.name < $1.name }.map { adapter in
            var document = adapter.description.json().objectValue ?? [:]
            document["path"] = .string(adapter.path)
            document["record_check"] = .bool(adapter.hasRecordCheck)
            document["models"] = .array(
                adapter.description.models.map { model in
                    var object = model.json().objectValue ?? [:]
                    object["lifecycle_status"] = .string(model.lifecycle.status(on: today).rawValue)
                    return .object(object)
                })
            return .object(document)
        }
        let refused: [JSONValue] = adapters.refusals.map { ["path": .string($0.path), "reason": .string($0.description)] }
        return [
            "as_of": .string(today), "directories": .array(adapters.directories.map { .string($0) }),
            "adapters": .array(loaded), "refused": .array(refused),
        ]
    }
}
