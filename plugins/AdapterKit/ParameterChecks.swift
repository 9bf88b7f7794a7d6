/// Range checks adapters apply to inference parameters before building a request, so a bad
/// value fails here with the model's own limits instead of as a ValidationException later.
public func checkRange<T: Comparable & CustomStringConvertible>(
    _ name: String, _ value: T?, _ range: ClosedRange<T>, model: String
) throws(AdapterError) {
    guard let value else { return }
    guard range.contains(value) else {
        throw AdapterError("\(name) = \(value) is out of range \(range.lowerBound)...\(range.upperBound) for \(model)")
    }
}

extension JSONValue {
    /// `.number` for a present value, nothing for nil: request bodies omit unset parameters.
    public static func optional(_ value: Double?) -> JSONValue? { value.map { .number($0) } }
    public static func optional(_ value: Int?) -> JSONValue? { value.map { .number(Double($0)) } }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// Sets `key` only when `value` is present.
    public mutating func set(_ key: String, _ value: JSONValue?) {
        if let value { self[key] = value }
    }
}
