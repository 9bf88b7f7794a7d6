import FinetunedTestSupport
import Foundation
import Testing

/// `scripts/debian-mirror`, which picks the archive the systemd end-to-end test debootstraps
/// from, over apt configurations written the ways real machines write them. The bug it fixes:
/// the first URL anywhere in the sources files was taken, and on these machines that is a
/// comment inside a deb822 stanza, naming a host nobody can reach.
@Suite("the Debian mirror the end-to-end test debootstraps from")
struct DebianMirrorTests {
    /// Runs the script over a tree holding `files` (paths under etc/apt), with `environment`.
    func mirror(_ files: [String: String], suite: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
        let root = try TemporaryDirectory(prefix: "apt")
        defer { root.remove() }
        for (name, text) in files { try root.write("etc/apt/" + name, text) }
        var env = ProcessInfo.processInfo.environment
        env["FINETUNED_E2E_MIRROR"] = nil
        env.merge(environment) { $1 }
        let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/debian-mirror").path
        return try Command.run(script, ["--root", root.path] + (suite.map { [$0] } ?? []), environment: env)
    }

    /// This machine's own configuration, in shape: each stanza opens with a comment that holds
    /// a snapshot URL, and the security archive comes second.
    static let deb822WithComments = """
        Types: deb
        # http://snapshot.example.invalid/archive/debian/20250520T000000Z
        URIs: http://deb.debian.org/debian
        Suites: bookworm bookworm-updates
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        Types: deb
        # http://snapshot.example.invalid/archive/debian-security/20250520T000000Z
        URIs: http://deb.debian.org/debian-security
        Suites: bookworm-security
        Components: main

        """

    @Test("deb822: the URIs: field, never the URL in a comment line above it")
    func deb822IgnoresComments() throws {
        let result = try mirror(["sources.list.d/debian.sources": Self.deb822WithComments])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "http://deb.debian.org/debian\n")
    }

    @Test("deb822: disabled stanzas, deb-src only, security-only and foreign suites are skipped; continuation lines are read")
    func deb822Skips() throws {
        let text = """
            # A whole-line comment before any stanza: http://comment.example.invalid/debian
            Types: deb
            URIs: http://disabled.example.invalid/debian
            Suites: bookworm
            Components: main
            Enabled: no

            Types: deb-src
            URIs: http://sources-only.example.invalid/debian
            Suites: bookworm
            Components: main

            Types: deb
            URIs: http://security.example.invalid/debian-security
            Suites: bookworm-security
            Components: main

            Types: deb
            URIs: https://download.example.invalid/linux/debian
            Suites: bookworm
            Components: stable

            types: deb
            uris:
              http://mirror.example.invalid/debian
              http://second.example.invalid/debian
            suites: bookworm
            components: main contrib
            """
        let result = try mirror(["sources.list.d/a.sources": text])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "http://mirror.example.invalid/debian\n")
    }

    @Test("one-line format: comments, deb-src, [options] and security lines are skipped")
    func oneLine() throws {
        let text = """
            # deb http://commented.example.invalid/debian bookworm main
            deb-src http://sources-only.example.invalid/debian bookworm main
            deb http://security.example.invalid/debian-security bookworm-security main
            deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one-line.example.invalid/debian bookworm main # trailing comment http://x.invalid/
            deb http://later.example.invalid/debian bookworm main
            """
        let result = try mirror(["sources.list": text])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "http://one-line.example.invalid/debian\n")
    }

    @Test("files apt ignores are ignored: a renamed .sources, a .list.disabled; sources.list comes before sources.list.d")
    func fileSelection() throws {
        let files = [
            "sources.list.d/old.sources.disabled-by-farm":
                "Types: deb\nURIs: http://disabled-file.example.invalid/debian\nSuites: bookworm\nComponents: main\n",
            "sources.list.d/old.list.disabled": "deb http://disabled-list.example.invalid/debian bookworm main\n",
            "sources.list.d/z.list": "deb http://list-d.example.invalid/debian bookworm main\n",
            "sources.list": "deb http://main-list.example.invalid/debian bookworm main\n",
        ]
        let result = try mirror(files)
        #expect(result.stdout == "http://main-list.example.invalid/debian\n")
        var withoutMain = files
        withoutMain["sources.list"] = nil
        #expect(try mirror(withoutMain).stdout == "http://list-d.example.invalid/debian\n")
    }

    @Test("no matching archive: nothing printed, exit 1; another suite is asked by name")
    func noMatch() throws {
        let onlyComments = ["sources.list.d/debian.sources": "# URIs: http://commented.example.invalid/debian\n"]
        let result = try mirror(onlyComments)
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        let trixie = try mirror(["sources.list.d/debian.sources": Self.deb822WithComments], suite: "trixie")
        #expect(trixie.status == 1)
        #expect(
            try mirror(["sources.list.d/debian.sources": Self.deb822WithComments], suite: "bookworm-updates").stdout
                == "http://deb.debian.org/debian\n")
    }

    @Test("FINETUNED_E2E_MIRROR overrides whatever apt says")
    func override() throws {
        let result = try mirror(
            ["sources.list.d/debian.sources": Self.deb822WithComments],
            environment: ["FINETUNED_E2E_MIRROR": "http://127.0.0.1:9/debian"])
        #expect(result.stdout == "http://127.0.0.1:9/debian\n")
    }
}
