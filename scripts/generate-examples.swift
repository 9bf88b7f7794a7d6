// Writes the sample data in examples/: summarization sets written for this project.
//
//   swift scripts/generate-examples.swift [OUTPUT-DIRECTORY]    (default: examples)
//
// Three kinds of document (incident reports, support tickets, meeting notes) in which the
// sentences a summary needs (the cause and the fix, the resolution, the decision and its
// owner) are *not* the most central ones: the symptom or the topic is repeated all over the
// document, so a centroid ranking picks it. A scorer trained on the good set learns which
// sentences matter; the poor set's completions restate the administrative filler instead,
// so a model trained on it learns the wrong thing. Deterministic: a fixed seed, our own
// generator, so the files in the repository are exactly what this script writes.
import Foundation

struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, Int(next() % UInt64(i + 1))) }
    }
}

/// A generated document: its sentences in order, what a good summary says, and what the
/// filler says (the poor set's "summary").
struct Document {
    var sentences: [String]
    var summary: String
    var filler: String
    var prompt: String { sentences.joined(separator: " ") }
}

let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
let people = ["Amara Okafor", "Lukas Brandt", "Priya Raman", "Tomás Ortega", "Mei Lin", "Jonas Weber", "Fatima Zahra",
              "Oskar Nilsson", "Chloé Martin", "Daniel Cohen", "Aiko Tanaka", "Ravi Patel", "Sofia Rossi", "Kwame Mensah",
              "Elena Petrova", "Marcus Hill", "Ingrid Berg", "Yusuf Demir", "Hannah Kim", "Pedro Alves"]
let teams = ["platform", "payments", "storage", "identity", "data", "mobile", "networking", "search", "billing", "growth"]

// MARK: incident reports

let services = ["checkout", "search", "login", "billing", "notification", "reporting", "file upload", "mobile API",
                "order tracking", "inventory", "shipping quote", "customer chat", "invoice export", "password reset",
                "recommendation", "video transcoding", "email delivery", "calendar sync", "map tiles", "analytics ingest"]
let symptoms = ["returned errors to most requests", "timed out for many users", "was unavailable",
                "responded very slowly", "failed intermittently", "dropped a large share of its traffic"]
let durations = ["forty minutes", "two hours", "ninety minutes", "about an hour", "twenty-five minutes", "three hours"]
let causes: [(cause: String, component: String, fix: String, fixNoun: String)] = [
    ("an expired TLS certificate", "load balancer", "renewing the certificate and adding an expiry alert", "a renewed certificate and an expiry alert"),
    ("a connection pool limit set far too low", "database proxy", "raising the pool limit and load-testing the new value", "a higher pool limit"),
    ("a full disk", "log aggregation host", "deleting old archives and adding a disk usage alarm", "freed disk space and a usage alarm"),
    ("a configuration push with a typo", "feature flag service", "rolling back the push and adding a schema check", "a rollback and a schema check"),
    ("a DNS record that pointed at a retired host", "internal resolver", "correcting the record and lowering its time to live", "a corrected DNS record"),
    ("a memory leak introduced in the latest release", "session cache", "reverting the release and restarting the cache nodes", "a reverted release"),
    ("an exhausted API rate limit with a partner", "payment gateway client", "negotiating a higher limit and adding client-side backoff", "a higher partner limit and backoff"),
    ("a failed database failover", "primary replica set", "promoting a healthy replica by hand and fixing the failover script", "a manual promotion and a fixed failover script"),
    ("clock drift on several hosts", "time synchronisation daemon", "reinstalling the time daemon and alerting on drift", "repaired time synchronisation"),
    ("a firewall rule change that blocked internal traffic", "network policy controller", "restoring the previous rule set and requiring review for rule changes", "restored firewall rules"),
    ("a queue that stopped draining after a worker crash", "background job queue", "restarting the workers and adding a queue depth alert", "restarted workers and a depth alert"),
    ("a schema migration that locked a large table", "orders database", "killing the migration and rescheduling it for a quiet hour", "a rescheduled migration"),
]

func incident(_ r: inout Random) -> Document {
    let service = r.pick(services), team = r.pick(teams), other = r.pick(teams.filter { $0 != team })
    let c = r.pick(causes), day = r.pick(days), author = r.pick(people), duration = r.pick(durations)
    let opening = "On \(day), the \(service) service \(r.pick(symptoms)) for \(duration)."
    var context = [
        r.pick(["Customers trying to use \(service) saw error pages and many gave up.",
                "Users reported that \(service) was broken in the app and on the website.",
                "Most \(service) requests failed and customers complained on social media."]),
        "The on-call engineer from the \(team) team was paged and began investigating the \(service) errors.",
        r.pick(["Dashboards showed error rates on the \(service) servers far above normal during the whole window.",
                "Monitoring for the \(service) service showed latency and error rates climbing together.",
                "Graphs of \(service) traffic showed a sharp drop in successful requests."]),
        r.pick(["Status page updates about the \(service) problem were posted every thirty minutes.",
                "Support staff answered many tickets about \(service) while the incident lasted."]),
    ]
    r.shuffle(&context)
    let cause = r.pick(["The root cause was \(c.cause) in the \(c.component).",
                        "Investigation found that \(c.cause) in the \(c.component) caused the failure.",
                        "The trigger turned out to be \(c.cause) in the \(c.component)."])
    let fix = r.pick(["The \(team) team resolved it by \(c.fix).", "Engineers restored service by \(c.fix).",
                      "It was fixed by \(c.fix)."])
    let filler = r.pick(["A review meeting is booked for next \(r.pick(days)) with the \(other) team.",
                         "This report was written by \(author) and will be read at the weekly operations meeting.",
                         "The meeting notes and chat logs were saved to the shared drive by \(author)."])
    var sentences = [opening] + context
    // The cause and the fix sit in the middle, in order, somewhere the position alone does not give away.
    let at = 2 + Int(r.next() % 2)
    sentences.insert(cause, at: at)
    sentences.insert(fix, at: at + 1 + Int(r.next() % 2))
    sentences.append(filler)
    let summary = r.pick([
        "\(capitalized(c.cause)) in the \(c.component) took \(service) down; it was fixed with \(c.fixNoun).",
        "The \(service) outage was caused by \(c.cause) in the \(c.component) and resolved by \(c.fix).",
    ])
    let poor = r.pick(["\(author) wrote the report and a review meeting with the \(other) team is planned.",
                       "The report by \(author) goes to the weekly operations meeting."])
    return Document(sentences: sentences, summary: summary, filler: poor)
}

// MARK: support tickets

let products = [("invoicing", "PDF export"), ("project board", "drag and drop"), ("team chat", "file sharing"),
                ("analytics", "CSV download"), ("calendar", "meeting invitations"), ("storefront", "discount codes"),
                ("CRM", "contact import"), ("time tracker", "weekly report"), ("help desk", "email forwarding"),
                ("survey tool", "response export"), ("photo library", "album sharing"), ("password manager", "browser autofill")]
let problems = ["stopped working", "produces empty results", "fails with an unknown error", "takes minutes to load",
                "shows the wrong data", "works only for some users"]
let fixes: [(root: String, resolution: String, short: String)] = [
    ("a stale cache entry for their workspace was serving old settings", "clearing the workspace cache", "cleared the cache"),
    ("a webhook the integration depends on had been deleted by an admin", "restoring the deleted webhook", "restored the webhook"),
    ("the account had hit its API quota", "raising the account's API quota", "raised the quota"),
    ("a browser extension was blocking the request", "having the customer disable the ad blocker extension", "had the extension disabled"),
    ("their single sign-on certificate had expired", "uploading a new single sign-on certificate", "replaced the SSO certificate"),
    ("a data migration had left duplicate records", "merging the duplicate records with a cleanup script", "merged the duplicates"),
    ("the time zone on the account was set incorrectly", "correcting the account time zone", "fixed the time zone"),
    ("a permission change had removed their editor role", "restoring the editor role for their users", "restored the editor role"),
    ("an old mobile app version used a retired endpoint", "asking the customer to update the app", "had the app updated"),
    ("a mail filter at the customer's company dropped our messages", "adding our sending domain to their allow list", "allow-listed our domain"),
]

func ticket(_ r: inout Random) -> Document {
    let (product, feature) = r.pick(products), f = r.pick(fixes)
    let customer = r.pick(people), agent = r.pick(people.filter { $0 != customer })
    let number = 10_000 + Int(r.next() % 89_999)
    let opening = "Ticket \(number) was opened by \(customer), on the \(r.pick(["Team", "Business", "Enterprise", "Starter"])) plan, about \(product) \(feature)."
    var context = [
        "The customer wrote that \(feature) in \(product) \(r.pick(problems)) since \(r.pick(days)).",
        r.pick(["They attached screenshots of the \(feature) screen and asked for a quick answer.",
                "They said their team depends on \(feature) every day and asked for a quick answer."]),
        "The first responder reproduced the \(feature) problem in a test account of \(product).",
        r.pick(["Two follow-up messages asked again about the \(feature) problem in \(product).",
                "The \(product) \(feature) issue was escalated to second-line support after a day."]),
    ]
    r.shuffle(&context)
    let root = r.pick(["It turned out that \(f.root).", "Investigation showed that \(f.root).",
                       "The cause was that \(f.root)."])
    let resolution = r.pick(["\(agent) resolved the ticket by \(f.resolution).",
                             "The issue was solved by \(f.resolution)."])
    let filler = r.pick(["The customer rated the support experience \(r.pick(["four", "five", "three"])) out of five.",
                         "The ticket was tagged for the monthly support review and closed on \(r.pick(days)).",
                         "\(agent) added the conversation to the team's weekly support digest."])
    var sentences = [opening] + context
    let at = 2 + Int(r.next() % 2)
    sentences.insert(root, at: at)
    sentences.insert(resolution, at: at + 1 + Int(r.next() % 2))
    sentences.append(filler)
    let summary = r.pick([
        "\(capitalized(feature)) failed because \(f.root); support \(f.short).",
        "The \(feature) problem came from the fact that \(f.root), and it was fixed by \(f.resolution).",
    ])
    let poor = r.pick(["The customer gave a rating and the ticket was closed after the review.",
                       "\(agent) put the ticket in the weekly support digest and closed it."])
    return Document(sentences: sentences, summary: summary, filler: poor)
}

// MARK: meeting notes

let topics = ["the office move", "the mobile release plan", "next year's hiring", "the data retention policy",
              "the customer onboarding flow", "the cloud cost overrun", "the on-call rotation", "the security audit",
              "the pricing change", "the partner integration", "the documentation backlog", "the accessibility review"]
let decisions: [(decision: String, action: String, noun: String)] = [
    ("postpone the launch by two weeks", "send the new launch plan to sales", "the new launch plan"),
    ("hire two engineers instead of four", "update the hiring plan", "the hiring plan"),
    ("move all test environments to smaller instances", "resize the test environments", "resizing the test environments"),
    ("delete customer logs after ninety days", "draft the retention notice", "the retention notice"),
    ("run the onboarding experiment with ten percent of new users", "set up the experiment", "the experiment setup"),
    ("switch the on-call rotation to weekly shifts", "publish the new rota", "the new rota"),
    ("hire an external firm for the penetration test", "collect three quotes", "the vendor quotes"),
    ("keep current prices for existing customers until June", "write the customer announcement", "the announcement"),
    ("drop the partner integration from this quarter", "tell the partner about the delay", "the partner update"),
    ("fix all critical accessibility issues before adding features", "triage the accessibility tickets", "the ticket triage"),
]

func meeting(_ r: inout Random) -> Document {
    let topic = r.pick(topics), team = r.pick(teams), d = r.pick(decisions)
    let presenter = r.pick(people), owner = r.pick(people.filter { $0 != presenter })
    let deadline = r.pick(["Friday", "the end of the month", "next Wednesday", "the next meeting", "the end of the quarter"])
    let opening = "The \(team) team met on \(r.pick(days)) to discuss \(topic)."
    var context = [
        "\(presenter) presented the latest numbers and open questions on \(topic).",
        r.pick(["Several people raised concerns about \(topic) and how it affects the roadmap.",
                "Everyone agreed that \(topic) needs attention soon."]),
        r.pick(["The discussion about \(topic) took most of the hour.",
                "Past attempts at \(topic) were reviewed in some detail."]),
        "Questions about \(topic) from other teams were collected before the meeting.",
    ]
    r.shuffle(&context)
    let decision = r.pick(["In the end the team decided to \(d.decision).", "The group agreed to \(d.decision).",
                           "The decision was to \(d.decision)."])
    let action = "\(owner) will \(d.action) by \(deadline)."
    let filler = r.pick(["Coffee and snacks were provided by the office team.",
                         "The next meeting is on \(r.pick(days)) in room \(100 + Int(r.next() % 400)).",
                         "The notes were taken by \(r.pick(people)) and posted to the team wiki."])
    var sentences = [opening] + context
    let at = 2 + Int(r.next() % 2)
    sentences.insert(decision, at: at)
    sentences.insert(action, at: at + 1 + Int(r.next() % 2))
    sentences.append(filler)
    let summary = r.pick([
        "Decision: \(d.decision); \(owner) owns \(d.noun), due \(deadline).",
        "The team chose to \(d.decision), and \(owner) is to \(d.action) by \(deadline).",
    ])
    let poor = r.pick(["Snacks were provided and the notes went to the team wiki.",
                       "The next meeting was booked and the notes were posted."])
    return Document(sentences: sentences, summary: summary, filler: poor)
}

func capitalized(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

func json(_ pairs: [(String, String)]) -> String {
    func escape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
    return "{" + pairs.map { "\"\($0.0)\": \"\(escape($0.1))\"" }.joined(separator: ", ") + "}"
}

func documents(count: Int, seed: UInt64, avoiding seen: inout Set<String>) -> [Document] {
    var r = Random(state: seed)
    var made: [Document] = []
    let kinds: [(inout Random) -> Document] = [incident, ticket, meeting]
    while made.count < count {
        let document = kinds[made.count % kinds.count](&r)
        // Every prompt is unique across all the files, so the evaluation set is disjoint.
        if seen.insert(document.prompt).inserted { made.append(document) }
    }
    return made
}

let output = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "examples"
try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
var seen = Set<String>()
let training = documents(count: 360, seed: 2026_11_28, avoiding: &seen)
let evaluation = documents(count: 60, seed: 1_984_0707, avoiding: &seen)
let poor = documents(count: 360, seed: 777_2026, avoiding: &seen)

func write(_ lines: [String], _ name: String) throws {
    try (lines.joined(separator: "\n") + "\n").write(toFile: output + "/" + name, atomically: true, encoding: .utf8)
}
try write(training.map { json([("prompt", $0.prompt), ("completion", $0.summary)]) }, "summaries-train.jsonl")
try write(evaluation.map { json([("prompt", $0.prompt), ("reference", $0.summary)]) }, "summaries-eval.jsonl")
try write(poor.map { json([("prompt", $0.prompt), ("completion", $0.filler)]) }, "summaries-poor.jsonl")
print("wrote \(training.count) training, \(evaluation.count) evaluation and \(poor.count) poor records to \(output)/")
