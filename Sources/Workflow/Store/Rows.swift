import FinetunedTime
import Foundation
import GRDB

/// Dates as GRDB stores them by default (`2026-11-28 09:30:05.250`, UTC), written and read
/// without GRDB's `DateFormatter` and Gregorian `Calendar`: those load ICU's calendar data
/// into the daemon for good (5 MiB resident after the first workflow). Text in any other
/// form GRDB accepts is still read, by GRDB.
enum StoredDate {
    static let encoding = DatabaseDateEncodingStrategy.custom { UTCTime($0).databaseText }
    static let decoding = DatabaseDateDecodingStrategy.custom { value in
        String.fromDatabaseValue(value).flatMap(UTCTime.date(databaseText:)) ?? Date.fromDatabaseValue(value)
    }
    static func text(_ date: Date) -> String { UTCTime(date).databaseText }
}

/// The rows' date columns in `StoredDate`'s form. GRDB asks each record type for its
/// strategies per column, through these two requirements.
protocol StoredDateColumns: EncodableRecord, FetchableRecord {}

extension StoredDateColumns {
    static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy { StoredDate.encoding }
    static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { StoredDate.decoding }
}

/// The `workflows` table's row; the store's public type is `WorkflowRecord`.
struct WorkflowRow: Codable, FetchableRecord, PersistableRecord, TableRecord, StoredDateColumns {
    static let databaseTableName = "workflows"
    var id: String
    var profile: String
    var dropName: String
    var sha256: String?
    var spoolPath: String
    var stage: String
    var createdAt: Date
    var updatedAt: Date
    var failure: String?
    var ownerUID: Int64?
    /// `WorkflowContext` as JSON: it grows with the engine, and a column per field would
    /// need a migration for each.
    var context: String

    enum CodingKeys: String, CodingKey {
        case id, profile, sha256, stage, failure, context
        case dropName = "drop_name", spoolPath = "spool_path", createdAt = "created_at", updatedAt = "updated_at"
        case ownerUID = "owner_uid"
    }

    init(_ record: WorkflowRecord) {
        id = record.id
        profile = record.profile
        dropName = record.dropName
        sha256 = record.sha256
        spoolPath = record.spoolPath
        stage = record.stage.rawValue
        createdAt = record.createdAt
        updatedAt = record.updatedAt
        failure = record.failure
        ownerUID = record.ownerUID.map(Int64.init)
        context = Self.encode(record.context)
    }

    static func encode(_ context: WorkflowContext) -> String {
        // Encoding a struct of strings, numbers and dates cannot fail.
        String(decoding: try! JSONEncoder().encode(context), as: UTF8.self)
    }

    var record: WorkflowRecord {
        get throws {
            let decoded: WorkflowContext
            if context == "{}" {
                decoded = WorkflowContext()  // rows written before the context existed
            } else {
                do { decoded = try JSONDecoder().decode(WorkflowContext.self, from: Data(context.utf8)) } catch {
                    throw StoreError.database("workflow \(id) has an unreadable context: \(error)")
                }
            }
            guard let stage = WorkflowStage(rawValue: stage) else {
                throw StoreError.database("workflow \(id) is in an unknown stage '\(stage)' (written by a newer finetuned?)")
            }
            return WorkflowRecord(
                id: id, profile: profile, dropName: dropName, sha256: sha256, spoolPath: spoolPath,
                stage: stage, createdAt: createdAt, updatedAt: updatedAt, failure: failure, context: decoded,
                ownerUID: ownerUID.flatMap { UInt32(exactly: $0) })
        }
    }
}

struct EventRow: Codable, FetchableRecord, PersistableRecord, TableRecord, StoredDateColumns {
    static let databaseTableName = "events"
    var id: Int64?
    var workflowID: String
    var at: Date
    var stage: String
    var kind: String
    var message: String
    var node: String?

    enum CodingKeys: String, CodingKey {
        case id, at, stage, kind, message, node
        case workflowID = "workflow_id"
    }

    init(_ event: WorkflowEvent, node: NodeID) {
        id = nil
        self.node = (event.node ?? node).rawValue
        workflowID = event.workflowID
        at = event.at
        stage = event.stage.rawValue
        kind = event.kind.rawValue
        message = event.message
    }

    var event: WorkflowEvent? {
        WorkflowStage(rawValue: stage).map {
            WorkflowEvent(
                workflowID: workflowID, at: at, stage: $0, kind: WorkflowEvent.Kind(rawValue: kind) ?? .note, message: message,
                node: node.map { NodeID($0) })
        }
    }
}

struct ResourceRow: Codable, FetchableRecord, PersistableRecord, TableRecord, StoredDateColumns {
    static let databaseTableName = "resources"
    var id: Int64?
    var workflowId: String
    var kind: String
    var identifier: String
    var name: String?
    var clientToken: String?
    var createdAt: Date
    var deletedAt: Date?
    var retained: Bool
    var recovered: Bool

    // The columns by name, not by GRDB's snake-case conversion: that runs Foundation's
    // CharacterSet on every key of every row, and kept its code resident in the daemon.
    enum CodingKeys: String, CodingKey {
        case id
        case workflowId = "workflow_id"
        case kind
        case identifier
        case name
        case clientToken = "client_token"
        case createdAt = "created_at"
        case deletedAt = "deleted_at"
        case retained
        case recovered
    }

    init(_ r: ResourceRecord) {
        id = nil
        workflowId = r.workflowID
        kind = r.kind.rawValue
        identifier = r.identifier
        name = r.name
        clientToken = r.clientToken
        createdAt = r.createdAt
        deletedAt = r.deletedAt
        retained = r.retained
        recovered = r.recovered
    }

    var record: ResourceRecord? {
        ResourceRecord.Kind(rawValue: kind).map {
            ResourceRecord(
                workflowID: workflowId, kind: $0, identifier: identifier, name: name, clientToken: clientToken,
                createdAt: createdAt, deletedAt: deletedAt, retained: retained, recovered: recovered)
        }
    }
}

struct AnswerRow: Codable, FetchableRecord, PersistableRecord, TableRecord, StoredDateColumns {
    static let databaseTableName = "inference_answers"
    var workflowId: String
    var model: String
    var promptIndex: Int
    var output: String?
    var failure: String?
    var attempts: Int
    var latencySeconds: Double?
    var inputTokens: Int?
    var outputTokens: Int?

    // Spelled out, as ResourceRow's are.
    enum CodingKeys: String, CodingKey {
        case workflowId = "workflow_id"
        case model
        case promptIndex = "prompt_index"
        case output
        case failure
        case attempts
        case latencySeconds = "latency_seconds"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
    }

    init(_ a: InferenceAnswer) {
        workflowId = a.workflowID
        model = a.model
        promptIndex = a.index
        output = a.output
        failure = a.failure
        attempts = a.attempts
        latencySeconds = a.latencySeconds
        inputTokens = a.inputTokens
        outputTokens = a.outputTokens
    }

    var answer: InferenceAnswer {
        InferenceAnswer(
            workflowID: workflowId, model: model, index: promptIndex, output: output, failure: failure,
            attempts: attempts, latencySeconds: latencySeconds, inputTokens: inputTokens, outputTokens: outputTokens)
    }
}

struct OutboxRow: Codable, FetchableRecord, MutablePersistableRecord, TableRecord, StoredDateColumns {
    static let databaseTableName = "outbox"
    var id: Int64?
    var workflowId: String?
    var channel: String
    var kind: String
    var payload: String
    var createdAt: Date
    var attempts: Int
    var nextAttemptAt: Date?
    var deliveredAt: Date?
    var givenUpAt: Date?
    var lastError: String?

    // Spelled out, as ResourceRow's are.
    enum CodingKeys: String, CodingKey {
        case id
        case workflowId = "workflow_id"
        case channel
        case kind
        case payload
        case createdAt = "created_at"
        case attempts
        case nextAttemptAt = "next_attempt_at"
        case deliveredAt = "delivered_at"
        case givenUpAt = "given_up_at"
        case lastError = "last_error"
    }

    init(_ e: OutboxEntry) {
        id = e.id
        workflowId = e.workflowID
        channel = e.channel
        kind = e.kind
        payload = e.payload
        createdAt = e.createdAt
        attempts = e.attempts
        nextAttemptAt = e.nextAttemptAt
        deliveredAt = e.deliveredAt
        givenUpAt = e.givenUpAt
        lastError = e.lastError
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    var entry: OutboxEntry {
        OutboxEntry(
            id: id, workflowID: workflowId, channel: channel, kind: kind, payload: payload, createdAt: createdAt,
            attempts: attempts, nextAttemptAt: nextAttemptAt, deliveredAt: deliveredAt, givenUpAt: givenUpAt, lastError: lastError)
    }
}
