import Foundation
import GRDB

/// The `workflows` table's row; the store's public type is `WorkflowRecord`.
struct WorkflowRow: Codable, FetchableRecord, PersistableRecord, TableRecord {
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

    enum CodingKeys: String, CodingKey {
        case id, profile, sha256, stage, failure
        case dropName = "drop_name", spoolPath = "spool_path", createdAt = "created_at", updatedAt = "updated_at"
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
    }

    var record: WorkflowRecord {
        WorkflowRecord(
            id: id, profile: profile, dropName: dropName, sha256: sha256, spoolPath: spoolPath,
            stage: WorkflowStage(rawValue: stage) ?? .failed, createdAt: createdAt, updatedAt: updatedAt, failure: failure)
    }
}

struct EventRow: Codable, FetchableRecord, PersistableRecord, TableRecord {
    static let databaseTableName = "events"
    var id: Int64?
    var workflowID: String
    var at: Date
    var stage: String
    var kind: String
    var message: String

    enum CodingKeys: String, CodingKey {
        case id, at, stage, kind, message
        case workflowID = "workflow_id"
    }

    init(_ event: WorkflowEvent) {
        id = nil
        workflowID = event.workflowID
        at = event.at
        stage = event.stage.rawValue
        kind = event.kind
        message = event.message
    }

    var event: WorkflowEvent? {
        WorkflowStage(rawValue: stage).map { WorkflowEvent(workflowID: workflowID, at: at, stage: $0, kind: kind, message: message) }
    }
}
