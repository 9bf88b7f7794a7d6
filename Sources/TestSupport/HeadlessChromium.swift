import Foundation

/// Debian's Chromium, headless, as the report tests' browser. A page is loaded from its file
/// with every host name resolving nowhere (`MAP * ~NOTFOUND`), so nothing it asks for can
/// leave the machine, and Chromium's own NetLog records each request anyway: the page's
/// requests are the ones made on behalf of a `file://` page (its network isolation key),
/// apart from the browser's own background traffic.
public struct HeadlessChromium: Sendable {
    public static let executable = "/usr/bin/chromium"
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// What one load of a page gave.
    public struct Rendering: Sendable {
        /// The DOM after layout (`--dump-dom`).
        public var dom: String
        /// Messages the page logged to its console (script errors, policy violations).
        public var console: [String]
        /// URLs the page asked for besides itself.
        public var pageRequests: [String]
        /// The screenshot, when one was asked for.
        public var png: String?
    }

    public init() {}

    /// Loads `file` and returns its DOM, console and requests; with `screenshot`, also writes
    /// a PNG of the page `width` pixels wide and `height` tall.
    public func render(file: String, screenshot: String? = nil, width: Int = 1100, height: Int = 3000) async throws -> Rendering {
        let scratch = try TemporaryDirectory(prefix: "chromium")
        defer { scratch.remove() }
        let url = URL(fileURLWithPath: file).absoluteString
        let profile = scratch.file("profile")
        let flags: @Sendable (String) -> [String] = { netLog in
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-extensions", "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--log-net-log=\(netLog)", "--window-size=\(width),\(height)",
            ]
        }
        let netLog = scratch.file("dom.netlog.json")
        let dump = try await blocking { try Command.run(Self.executable, flags(netLog) + ["--dump-dom", url]) }
        guard dump.status == 0 else { throw RenderError(description: "chromium --dump-dom exited \(dump.status): \(dump.stderr.suffix(2000))") }
        var png: String?
        var requests = try Self.pageRequests(netLog: netLog, page: url)
        if let screenshot {
            let shotLog = scratch.file("shot.netlog.json")
            let shot = try await blocking { try Command.run(Self.executable, flags(shotLog) + ["--screenshot=\(screenshot)", url]) }
            guard shot.status == 0, FileManager.default.fileExists(atPath: screenshot) else {
                throw RenderError(description: "chromium --screenshot exited \(shot.status): \(shot.stderr.suffix(2000))")
            }
            requests += try Self.pageRequests(netLog: shotLog, page: url)
            png = screenshot
        }
        // "[pid:tid:time:INFO:CONSOLE:1] "message", source: …" (older builds: CONSOLE(1)).
        let console = dump.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Rendering(dom: dump.stdout, console: console, pageRequests: requests, png: png)
    }

    /// The URLs requests were started for on behalf of a `file://` page, other than the page.
    static func pageRequests(netLog: String, page: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: netLog),
            let log = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let constants = log["constants"] as? [String: Any], let types = constants["logEventTypes"] as? [String: Int],
            let start = types["URL_REQUEST_START_JOB"], let events = log["events"] as? [[String: Any]]
        else { throw RenderError(description: "chromium wrote no readable NetLog at \(netLog)") }
        return events.compactMap { event -> String? in
            guard event["type"] as? Int == start, let params = event["params"] as? [String: Any], let url = params["url"] as? String,
                (params["network_isolation_key"] as? String)?.contains("file://") == true, url != page
            else { return nil }
            return url
        }
    }

    public struct RenderError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Where tests keep what a person may want to look at afterwards (`.build/test-output`).
    public static func outputDirectory() throws -> String {
        let path = BuiltProducts.packageRoot.appendingPathComponent(".build/test-output").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
