import AdapterKit

/// Decoding of the few JSON fragments the validator needs as values (escaped keys, roles,
/// schema versions, records for an adapter's own check), through AdapterKit's strict parser.
enum JSONValueDecoder {
    static func decodeString(_ quoted: [UInt8]) throws -> String? {
        try JSONValue(parsing: quoted).stringValue
    }

    static func value(_ bytes: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        try? JSONValue(parsing: Array(bytes))
    }
}
