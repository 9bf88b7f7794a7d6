/// Why a JSON document does not match what the ABI promises, with the path to the value.
public struct DescriptionError: Error, Equatable, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Reads one JSON object field by field, naming the exact path in every error.
public struct JSONObjectReader {
    public let path: String
    let members: [String: JSONValue]

    public init(_ value: JSONValue, path: String = "") throws(DescriptionError) {
        guard case .object(let members) = value else {
            throw DescriptionError(path: path, message: "must be an object, not \(value.kindName)")
        }
        self.path = path
        self.members = members
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func error(_ key: String, _ message: String) -> DescriptionError {
        DescriptionError(path: child(key), message: message)
    }

    public func has(_ key: String) -> Bool {
        if let value = members[key], !value.isNull { return true }
        return false
    }

    public func value(_ key: String) -> JSONValue? {
        guard let value = members[key], !value.isNull else { return nil }
        return value
    }

    public func string(_ key: String) throws(DescriptionError) -> String {
        guard let value = members[key] else { throw error(key, "is required") }
        guard case .string(let s) = value else { throw error(key, "must be a string, not \(value.kindName)") }
        return s
    }

    public func optionalString(_ key: String) throws(DescriptionError) -> String? {
        has(key) ? try string(key) : nil
    }

    public func number(_ key: String) throws(DescriptionError) -> Double {
        guard let value = members[key] else { throw error(key, "is required") }
        guard case .number(let d) = value else { throw error(key, "must be a number, not \(value.kindName)") }
        return d
    }

    public func optionalNumber(_ key: String) throws(DescriptionError) -> Double? {
        has(key) ? try number(key) : nil
    }

    public func integer(_ key: String) throws(DescriptionError) -> Int {
        let d = try number(key)
        guard let i = JSONValue.number(d).intValue else { throw error(key, "must be a whole number, not \(d)") }
        return i
    }

    public func optionalInteger(_ key: String) throws(DescriptionError) -> Int? {
        has(key) ? try integer(key) : nil
    }

    public func bool(_ key: String, default fallback: Bool) throws(DescriptionError) -> Bool {
        guard let value = value(key) else { return fallback }
        guard case .bool(let b) = value else { throw error(key, "must be true or false, not \(value.kindName)") }
        return b
    }

    public func array(_ key: String) throws(DescriptionError) -> [JSONValue] {
        guard let value = members[key] else { throw error(key, "is required") }
        guard case .array(let items) = value else { throw error(key, "must be an array, not \(value.kindName)") }
        return items
    }

    public func optionalArray(_ key: String) throws(DescriptionError) -> [JSONValue] {
        has(key) ? try array(key) : []
    }

    public func strings(_ key: String) throws(DescriptionError) -> [String] {
        var out: [String] = []
        for (index, item) in try optionalArray(key).enumerated() {
            guard case .string(let s) = item else {
                throw DescriptionError(path: "\(child(key))[\(index)]", message: "must be a string, not \(item.kindName)")
            }
            out.append(s)
        }
        return out
    }

    /// Each element of an array of objects, with its indexed path.
    public func objects(_ key: String, required: Bool = true) throws(DescriptionError) -> [JSONObjectReader] {
        let items = required ? try array(key) : try optionalArray(key)
        var out: [JSONObjectReader] = []
        for (index, item) in items.enumerated() {
            out.append(try JSONObjectReader(item, path: "\(child(key))[\(index)]"))
        }
        return out
    }

    public func object(_ key: String) throws(DescriptionError) -> JSONObjectReader? {
        guard let value = value(key) else { return nil }
        return try JSONObjectReader(value, path: child(key))
    }
}
