/// One journal entry in journald's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL, a
/// stable interface): `NAME=value\n` per field, or, for a value with a newline in it,
/// `NAME\n`, the value's length as a little-endian 64-bit integer, the value and `\n`.
enum JournalEntry {
    static func serialize(_ fields: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 10 })
        for (name, value) in fields {
            bytes.append(contentsOf: name.utf8)
            if value.utf8.contains(UInt8(ascii: "\n")) {
                bytes.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(value.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            } else {
                bytes.append(UInt8(ascii: "="))
            }
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }
}
