// libFuzzer entry point for the line validator (make fuzz). Compiled together with the
// validator's scanning sources and AdapterKit by scripts/fuzz; not part of the package.
import AdapterKit

let fieldsChecker = RecordChecker(schema: .promptCompletion)
let conversationChecker = RecordChecker(schema: .bedrockConversation)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLineValidator(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = UnsafeBufferPointer(start: data, count: size)
    var problems = 0
    _ = fieldsChecker.check(line) { _, _, offset, _ in
        precondition(offset >= 0 && offset <= size, "problem offset \(offset) outside a \(size)-byte line")
        problems += 1
    }
    _ = conversationChecker.check(line) { _, _, offset, _ in
        precondition(offset >= 0 && offset <= size, "problem offset \(offset) outside a \(size)-byte line")
    }
    // Differential check against AdapterKit's independent parser: whatever it accepts (within
    // the scanner's depth limit) the scanner must accept as JSON too.
    var scanner = ByteScanner(line)
    let scannerAccepts: Bool
    do {
        try scanner.skipValue(depth: 0)
        scanner.skipWhitespace()
        scannerAccepts = scanner.atEnd
    } catch {
        scannerAccepts = false
    }
    if size < 4096, let value = try? JSONValue(parsing: Array(line)), depth(value) < ByteScanner.maximumDepth {
        precondition(scannerAccepts, "AdapterKit's parser accepts a line the validator's scanner refuses")
    }
    return 0
}

func depth(_ value: JSONValue) -> Int {
    switch value {
    case .array(let items): 1 + (items.map(depth).max() ?? 0)
    case .object(let members): 1 + (members.values.map(depth).max() ?? 0)
    default: 0
    }
}
