import GRDB

/// The schema, one migration per change; applied in order at every open. Never edit a
/// migration that has shipped: add the next one.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: workflows, events, resources, outbox") { db in
            try db.create(table: "workflows") { t in
                t.primaryKey("id", .text)
                t.column("profile", .text).notNull()
                t.column("drop_name", .text).notNull()
                t.column("sha256", .text)
                t.column("spool_path", .text).notNull()
                t.column("stage", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
                t.column("failure", .text)
            }
            try db.create(index: "workflows_by_stage", on: "workflows", columns: ["stage"])
            try db.create(index: "workflows_by_content", on: "workflows", columns: ["sha256", "profile"])
            try db.create(table: "events") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workflow_id", .text).notNull().references("workflows", onDelete: .cascade)
                t.column("at", .datetime).notNull()
                t.column("stage", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("message", .text).notNull()
            }
            try db.create(index: "events_by_workflow", on: "events", columns: ["workflow_id", "id"])
            // The cloud resources a workflow created: what the janitor deletes after a crash.
            try db.create(table: "resources") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workflow_id", .text).notNull().references("workflows")
                t.column("kind", .text).notNull()
                t.column("identifier", .text).notNull()
                t.column("client_token", .text)
                t.column("created_at", .datetime).notNull()
                t.column("deleted_at", .datetime)
            }
            // Notifications recorded with the state they report, delivered afterwards.
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workflow_id", .text).references("workflows")
                t.column("created_at", .datetime).notNull()
                t.column("kind", .text).notNull()
                t.column("payload", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("next_attempt_at", .datetime)
                t.column("delivered_at", .datetime)
                t.column("given_up_at", .datetime)
                t.column("last_error", .text)
            }
        }
        return migrator
    }
}
