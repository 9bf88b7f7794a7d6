import FinetunedNetwork
import FinetunedTestSupport
import FinetunedText
import FinetunedWorkflow
import Foundation
import Testing

/// What reaches people from services and errors: one line, in words.
@Suite("one-line messages")
struct OneLineTests {
    static let page = """
        <!DOCTYPE html>
        <html><head><title>502 Bad Gateway</title>
        <style>h1 { color: red; }</style><script type="text/javascript">if (a < b) { alert("<p>x</p>"); }</script>
        </head><body>
        <h1>Bad Gateway</h1>
        <p>The proxy server received an invalid
           response from an upstream server.&nbsp;Ref&#39;s &amp; &lt;id&gt;</p>
        </body></html>
        """

    @Test("control characters, CR LF and runs of spaces become one space; the ends are trimmed")
    func controlCharacters() {
        #expect(OneLine.of("  a\r\nb\t\tc\u{0}d\u{1b}[31me\u{7f}f\u{85}g\u{2028}h  ") == "a b c d [31me f g h")
        #expect(OneLine.of("Subject: x\nBcc: victim@example.com") == "Subject: x Bcc: victim@example.com")
        #expect(OneLine.of("") == "")
        #expect(OneLine.of("ünïcödé ✓ stays") == "ünïcödé ✓ stays")
    }

    @Test("a limit cuts with an ellipsis, counting characters")
    func limit() {
        #expect(OneLine.of("abcdef", limit: 6) == "abcdef")
        #expect(OneLine.of("abcdefg", limit: 6) == "abcde…")
        #expect(OneLine.of(String(repeating: "é", count: 300), limit: 200).count == 200)
    }

    @Test("an HTML page is reduced to its words: no tags, no script or style, entities decoded")
    func markup() {
        let words = OneLine.words(ofMarkup: Self.page)
        #expect(words == "502 Bad Gateway Bad Gateway The proxy server received an invalid response from an upstream server. Ref's & <id>")
        #expect(OneLine.words(ofMarkup: "<p>unterminated <b") == "unterminated")
        #expect(OneLine.words(ofMarkup: "<SCRIPT>x()</SCRIPT >ok") == "ok")
        #expect(OneLine.words(ofMarkup: String(repeating: "<p>word</p>", count: 100), limit: 200).count <= 200)
    }

    @Test("AWSError: a 500 with an HTML page is the status and the page's first words, on one line")
    func htmlError() {
        let error = AWSError.parse(HTTPResponse(status: 502, headers: [("Content-Type", "text/html")], body: Array(Self.page.utf8)))
        #expect(error.code == "BadGateway")
        #expect(error.label == "HTTP 502 BadGateway")
        #expect(error.message.hasPrefix("502 Bad Gateway Bad Gateway The proxy server received"))
        #expect(!error.description.contains("\n") && !error.description.contains("<h1>") && !error.description.contains("DOCTYPE"))
        #expect(error.isRetryable)
        let long = AWSError.parse(
            HTTPResponse(status: 500, headers: [], body: Array(("<html>" + String(repeating: "lorem ipsum ", count: 100)).utf8)))
        #expect(long.message.count == 200)
        let plain = AWSError.parse(HTTPResponse(status: 503, headers: [], body: Array("upstream\nconnect error\r\n".utf8)))
        #expect(plain.message == "upstream connect error" && plain.label == "HTTP 503 ServiceUnavailable")
    }

    @Test("AWSError: a 400 with a JSON error keeps the service's code and message, on one line")
    func jsonError() {
        let body = #"{"__type":"com.amazonaws.bedrock#ValidationException","message":"1 validation error detected:\nValue at 'jobName'\r\n  failed"}"#
        let error = AWSError.parse(HTTPResponse(status: 400, headers: [], body: Array(body.utf8)))
        #expect(error.code == "ValidationException" && error.label == "ValidationException")
        #expect(error.message == "1 validation error detected: Value at 'jobName' failed")
    }

    struct Opaque: Error { var detail = 42 }
    enum Coded: Error { case broken(String) }

    @Test("ErrorWords: each kind of error in words, never a Swift value's dump")
    func errorWords() throws {
        #expect(ErrorWords.of(BackendError.permanent("AccessDeniedException: no\nway")) == "AccessDeniedException: no way")
        #expect(ErrorWords.of(CancellationError()) == "cancelled")
        #expect(ErrorWords.of(POSIXError(.ENOENT)) == "No such file or directory")
        #expect(ErrorWords.of(Opaque()) == "an unexpected error")
        #expect(ErrorWords.of(Coded.broken("x")) == "an unexpected error")
        do {
            _ = try String(contentsOfFile: "/nonexistent/finetuned", encoding: .utf8)
        } catch {
            #expect(ErrorWords.of(error) == "The file doesn’t exist.")
        }
        struct Shape: Decodable { var count: Int }
        do {
            _ = try JSONDecoder().decode([Shape].self, from: Data(#"[{"count": "three"}]"#.utf8))
        } catch {
            let words = ErrorWords.of(error)
            #expect(words.hasPrefix("the data is not in the expected shape at [0].count"), "\(words)")
            #expect(!words.contains("DecodingError") && !words.contains("CodingKeys"), "\(words)")
        }
    }

    @Test("every action of the machine has words, and none reads like Swift")
    func actionWords() {
        let actions: [WorkflowMachine.Action] = [
            .upload, .createJob, .pollJob, .stopJob, .createThroughput, .pollThroughput, .runInference(.base), .runInference(.custom),
            .score, .decide, .deleteThroughput, .deleteCustomModel, .notify(.kept), .notify(.failed), .finish,
        ]
        for action in actions {
            #expect(SwiftValueText.problem(in: action.words) == nil, "\(action.words)")
        }
        #expect(Set(actions.map(\.words)).count == actions.count - 1, "each action its own words (every notify is one)")
        #expect(WorkflowMachine.Action.runInference(.base).words == "asking the base model")
    }
}
