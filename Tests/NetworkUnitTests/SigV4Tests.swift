import FinetunedNetwork
import FinetunedTestSupport
import Foundation
import Testing

/// The SigV4 signer against the AWS signing test suite copy in ../shared/testdata/aws-sigv4/v4:
/// for every case, the canonical request, the string to sign and the signature, both for the
/// Authorization-header form and for the presigned-query form.
@Suite(
    "SigV4 against the AWS signing test suite",
    .enabled(if: SharedTestData.hasSigV4Suite, "../shared/testdata/aws-sigv4 is absent: the suite cannot run here"))
struct SigV4SuiteTests {
    struct Case {
        var name: String
        var request: SigV4Request
        var signer: SigV4Signer
        var date: Date
        var signBody: Bool
        var signToken: Bool
        var expires: Int
    }

    static func load(_ name: String) throws -> Case {
        let folder = SharedTestData.sigV4Suite.appendingPathComponent(name)
        let context = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("context.json"))) as? [String: Any])
        let credentials = try #require(context["credentials"] as? [String: String])
        var signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: credentials["access_key_id"]!, secretAccessKey: credentials["secret_access_key"]!,
                sessionToken: credentials["token"]),
            region: context["region"] as! String, service: context["service"] as! String)
        signer.normalizePath = context["normalize"] as? Bool ?? true
        let formatter = ISO8601DateFormatter()
        let date = try #require(formatter.date(from: context["timestamp"] as! String))

        // request.txt: "METHOD URI HTTP/1.1", headers (a line starting with white space
        // continues the previous value), a blank line, the body.
        let raw = try String(contentsOf: folder.appendingPathComponent("request.txt"), encoding: .utf8)
        let (head, body) = raw.range(of: "\n\n").map { (String(raw[..<$0.lowerBound]), String(raw[$0.upperBound...])) } ?? (raw, "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let uri = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        let (path, query) = uri.firstIndex(of: "?").map { (String(uri[..<$0]), String(uri[uri.index(after: $0)...])) } ?? (uri, "")
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            if line.first == " " || line.first == "\t" {
                headers[headers.count - 1].value += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        return Case(
            name: name, request: SigV4Request(method: method, path: path, query: query, headers: headers, body: Array(body.utf8)),
            signer: signer, date: date, signBody: context["sign_body"] as? Bool ?? false,
            signToken: !(context["omit_session_token"] as? Bool ?? false), expires: context["expiration_in_seconds"] as? Int ?? 3600)
    }

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: SharedTestData.sigV4Suite.path)) ?? []).sorted()
    }

    static func expected(_ name: String, _ file: String) throws -> String {
        try String(contentsOf: SharedTestData.sigV4Suite.appendingPathComponent(name).appendingPathComponent(file), encoding: .utf8)
    }

    @Test("header form: canonical request, string to sign and signature", arguments: names)
    func headerForm(name: String) throws {
        let c = try Self.load(name)
        let signed = c.signer.sign(c.request, date: c.date, signPayloadHeader: c.signBody, signSessionToken: c.signToken)
        #expect(signed.canonicalRequest == (try Self.expected(name, "header-canonical-request.txt")))
        #expect(signed.stringToSign == (try Self.expected(name, "header-string-to-sign.txt")))
        #expect(signed.signature == (try Self.expected(name, "header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
        let authorization = try #require(signed.headers.last)
        #expect(authorization.name == "Authorization")
        #expect((try Self.expected(name, "header-signed-request.txt")).contains("Authorization:" + authorization.value))
    }

    @Test("presigned form: canonical request, string to sign and signature", arguments: names)
    func queryForm(name: String) throws {
        let c = try Self.load(name)
        let signed = c.signer.presign(c.request, date: c.date, expires: c.expires, signSessionToken: c.signToken)
        #expect(signed.canonicalRequest == (try Self.expected(name, "query-canonical-request.txt")))
        #expect(signed.stringToSign == (try Self.expected(name, "query-string-to-sign.txt")))
        #expect(signed.signature == (try Self.expected(name, "query-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

@Suite("SigV4 details")
struct SigV4Tests {
    @Test("Bedrock paths with ARNs are encoded twice outside S3, once in S3; secrets never print")
    func arnPaths() {
        let credentials = AWSCredentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "FwoGZXIvYXdzEXAMPLE")
        let bedrock = SigV4Signer(credentials: credentials, region: "us-east-1", service: "bedrock")
        #expect(
            bedrock.sign(
                SigV4Request(
                    method: "GET", path: "/model-customization-jobs/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ajob%2Fx",
                    headers: [("Host", "bedrock.us-east-1.amazonaws.com")]), date: Date(timeIntervalSince1970: 0)
            )
            .canonicalRequest.split(separator: "\n")[1] == "/model-customization-jobs/arn%253Aaws%253Abedrock%253Aus-east-1%253A1%253Ajob%252Fx")
        let s3 = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        #expect(
            s3.sign(
                SigV4Request(method: "PUT", path: "/bucket/a%20b/../c", headers: [("Host", "s3.amazonaws.com")]),
                date: Date(timeIntervalSince1970: 0), signPayloadHeader: true
            )
            .canonicalRequest.split(separator: "\n")[1] == "/bucket/a%20b/../c")
        #expect(!"\(credentials)".contains("wJalr") && !"\(credentials)".contains("FwoGZXIvYXdz"))
    }
}

/// The signer agrees with botocore's own (`botocore.auth.SigV4Auth`, run on the fly with the
/// clock fixed) on Bedrock requests: ARNs in paths, query strings, non-ASCII, a JSON body and
/// a session token.
@Suite("SigV4 agrees with botocore")
struct SigV4BotocoreTests {
    static let script = """
        import datetime, json, sys
        import botocore.auth as auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        auth.get_current_datetime = lambda: datetime.datetime(2026, 11, 28, 7, 0, 0)
        out = []
        for case in json.load(sys.stdin):
            request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode(), headers=case["headers"])
            credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", case.get("token"))
            auth.SigV4Auth(credentials, case["service"], "us-east-1").add_auth(request)
            out.append(request.headers["Authorization"])
        print(json.dumps(out))
        """

    struct Case {
        var service: String, method: String, host: String, path: String, query: String
        var headers: [(name: String, value: String)], body: String, token: String?
    }

    static let cases = [
        Case(
            service: "bedrock", method: "GET", host: "bedrock.us-east-1.amazonaws.com",
            path: "/model-customization-jobs/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Amodel-customization-job%2Fabc123",
            query: "", headers: [], body: "", token: nil),
        Case(
            service: "bedrock", method: "GET", host: "bedrock.us-east-1.amazonaws.com", path: "/model-customization-jobs",
            query: "maxResults=5&nameContains=finetuned-wf&sortOrder=Descending", headers: [], body: "", token: "FwoGZXIvYXdzEXAMPLETOKEN"),
        Case(
            service: "bedrock", method: "DELETE", host: "bedrock.us-east-1.amazonaws.com",
            path: "/provisioned-model-throughput/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aprovisioned-model%2Fxyz",
            query: "", headers: [], body: "", token: nil),
        Case(
            service: "bedrock", method: "POST", host: "bedrock.us-east-1.amazonaws.com", path: "/model-customization-jobs", query: "",
            headers: [("Content-Type", "application/json")],
            body: #"{"jobName":"finetuned-wf-1","customModelName":"summaries-wf-1","clientRequestToken":"ft0123"}"#, token: nil),
        Case(
            service: "bedrock", method: "POST", host: "bedrock-runtime.us-east-1.amazonaws.com",
            path: "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aprovisioned-model%2Fxyz/invoke", query: "",
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: #"{"prompt":"Zusammenfassung: Grüße aus Köln"}"#, token: "FwoGZXIvYXdzEXAMPLETOKEN"),
        Case(
            service: "bedrock", method: "GET", host: "bedrock.us-east-1.amazonaws.com", path: "/custom-models/caf%C3%A9-model%20v2",
            query: "note=%C3%BC%20x&a=b", headers: [], body: "", token: nil),
    ]

    @Test("the same Authorization header as botocore for each request")
    func agreement() async throws {
        let python = try #require(Command.which("python3"))
        let input = Self.cases.map { c -> [String: Any] in
            var object: [String: Any] = [
                "service": c.service, "method": c.method, "url": "https://\(c.host)\(c.path)" + (c.query.isEmpty ? "" : "?" + c.query),
                "headers": Dictionary(uniqueKeysWithValues: c.headers.map { ($0.name, $0.value) }), "body": c.body,
            ]
            if let token = c.token { object["token"] = token }
            return object
        }
        let dir = try TemporaryDirectory(prefix: "ftsig")
        defer { dir.remove() }
        let inputFile = try dir.write("cases.json", String(decoding: try JSONSerialization.data(withJSONObject: input), as: UTF8.self))
        let script = Self.script
        let result = try await blocking { try Command.run("/bin/sh", ["-c", "\"$0\" -c \"$1\" < \"$2\"", python, script, inputFile]) }
        #expect(result.status == 0, "botocore failed: \(result.stderr)")
        let theirs = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String])
        let date = try #require(ISO8601DateFormatter().date(from: "2026-11-28T07:00:00Z"))
        for (c, expected) in zip(Self.cases, theirs) {
            let signer = SigV4Signer(
                credentials: AWSCredentials(
                    accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    sessionToken: c.token), region: "us-east-1", service: c.service)
            let signed = signer.sign(
                SigV4Request(
                    method: c.method, path: c.path, query: c.query, headers: [("Host", c.host)] + c.headers,
                    body: Array(c.body.utf8)), date: date)
            #expect(signed.headers.last?.value == expected, "\(c.method) \(c.path)?\(c.query)\n\(signed.canonicalRequest)")
        }
        #expect(theirs.count == Self.cases.count)
    }
}
