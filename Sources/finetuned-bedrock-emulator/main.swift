import FinetunedNetwork
import FinetunedTestSupport
import Foundation

// The Bedrock emulator on its own, for rehearsing the Bedrock backend by hand:
//   FINETUNED_EMULATOR_KEY=AKID:secret finetuned-bedrock-emulator [port]
// then point the backend's bedrock_endpoint_url and bedrock_runtime_endpoint_url at it and
// sign with that key. Unsigned control: GET /_emulator/state, POST /_emulator/faults (JSON
// of EmulatorFaults), POST /_emulator/answers (better | worse | same).
let arguments = CommandLine.arguments.dropFirst()
let port = arguments.first.flatMap(Int.init) ?? 0
guard let key = ProcessInfo.processInfo.environment["FINETUNED_EMULATOR_KEY"], let colon = key.firstIndex(of: ":") else {
    FileHandle.standardError.write(Data("set FINETUNED_EMULATOR_KEY=ACCESS_KEY_ID:SECRET (the key requests must be signed with)\n".utf8))
    exit(2)
}
let credentials = AWSCredentials(accessKeyID: String(key[..<colon]), secretAccessKey: String(key[key.index(after: colon)...]))
let emulator = BedrockEmulator(region: ProcessInfo.processInfo.environment["AWS_REGION"] ?? "us-east-1", credentials: [credentials])
let url = try await emulator.start(port: port)
FileHandle.standardOutput.write(Data("ready \(url)\n".utf8))
while true { try await Task.sleep(for: .seconds(3600)) }
