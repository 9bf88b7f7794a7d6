import AdapterKit
import Testing

@Suite("AdapterKit JSON")
struct JSONValueTests {
    @Test("parses every JSON type and prints it back with sorted keys")
    func roundTrip() throws {
        let text = #"{"b":[1,2.5,-3e2,true,false,null],"a":"x\"y\\z\n\u00e9\ud83d\ude00","c":{}}"#
        let value = try JSONValue(parsing: text)
        #expect(value["a"]?.stringValue == "x\"y\\z\né😀")
        #expect(value["b"]?[1]?.doubleValue == 2.5)
        #expect(value["b"]?[2]?.intValue == -300)
        #expect(value.serialized() == #"{"a":"x\"y\\z\né😀","b":[1,2.5,-300,true,false,null],"c":{}}"#)
        #expect(try JSONValue(parsing: value.serialized()) == value)
    }

    @Test("control characters and line separators are escaped on output")
    func escaping() {
        #expect(JSONValue.string("a\u{01}\u{2028}\t").serialized() == #""a\u0001\u2028\t""#)
    }

    @Test(
        "malformed documents are refused with a position",
        arguments: [
            ("", "unexpected end of input"),
            ("{\"a\":1,}", "expected a string key"),
            ("[1,]", "unexpected character ']'"),
            ("{\"a\":1,\"a\":2}", "duplicate key \"a\""),
            ("\"\\ud800\"", "lone high surrogate"),
            ("\"\\udc00\"", "lone low surrogate"),
            ("01", "leading zero in number"),
            ("1e999", "number out of range"),
            ("\"a\u{01}\"", "control character in string"),
            ("{} x", "unexpected data after the JSON value"),
            ("tru", "unexpected end of input"),
        ])
    func refusals(text: String, message: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        do { _ = try JSONValue(parsing: text) } catch { #expect(error.message == message, "\(text)") }
    }

    @Test("invalid UTF-8 and deep nesting are refused")
    func bytesAndDepth() {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0xC0, 0xAF, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0xED, 0xA0, 0x80, 0x22]) }
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect((try? JSONValue(parsing: fine)) != nil)
    }
}
