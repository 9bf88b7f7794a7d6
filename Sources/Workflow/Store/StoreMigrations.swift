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
        migrator.registerMigration("v2: workflow context, resource names, inference answers, outbox channels") { db in
            try db.alter(table: "workflows") { t in
                t.add(column: "context", .text).notNull().defaults(to: "{}")
            }
            try db.alter(table: "resources") { t in
                t.add(column: "name", .text)
                t.add(column: "retained", .boolean).notNull().defaults(to: false)
            }
            try db.create(index: "resources_live", on: "resources", columns: ["deleted_at", "kind"])
            try db.create(index: "resources_by_workflow", on: "resources", columns: ["workflow_id"])
            // Each model's answer to each evaluation prompt, written as it arrives.
            try db.create(table: "inference_answers") { t in
                t.column("workflow_id", .text).notNull().references("workflows", onDelete: .cascade)
                t.column("model", .text).notNull()
                t.column("prompt_index", .integer).notNull()
                t.column("output", .text)
                t.column("failure", .text)
                t.column("attempts", .integer).notNull()
                t.column("latency_seconds", .double)
                t.primaryKey(["workflow_id", "model", "prompt_index"])
            }
            try db.alter(table: "outbox") { t in
                t.add(column: "channel", .text).notNull().defaults(to: "log")
            }
            try db.create(index: "outbox_pending", on: "outbox", columns: ["delivered_at", "given_up_at", "next_attempt_at"])
        }
        migrator.registerMigration("v3: the uid that owned each drop") { db in
            // Who may see, cancel and retry a workflow from the submit group: the owner of
            // the drop's inode at claim time. Rows from before stay NULL: operators only.
            try db.alter(table: "workflows") { t in
                t.add(column: "owner_uid", .integer)
            }
        }
        migrator.registerMigration("v4: tokens per answer") { db in
            // What on-demand serving bills: the notification sums them per model.
            try db.alter(table: "inference_answers") { t in
                t.add(column: "input_tokens", .integer)
                t.add(column: "output_tokens", .integer)
            }
        }
        migrator.registerMigration("v5: event kinds as a closed set, recovered resources") { db in
            // Kinds the code no longer writes become `note`: a row is read as one of
            // `WorkflowEvent.Kind`, never as a free word.
            let known = WorkflowEvent.Kind.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            try db.execute(sql: "UPDATE events SET kind = 'note' WHERE kind NOT IN (\(known))")
            // The cleanup report used to find resources a sweep recovered by searching event
            // text; it reads this column now. Rows from before it are marked from that text,
            // once, here.
            try db.alter(table: "resources") { t in t.add(column: "recovered", .boolean).notNull().defaults(to: false) }
            try db.execute(
                sql: """
                    UPDATE resources SET recovered = 1 WHERE EXISTS (
                        SELECT 1 FROM events e WHERE e.workflow_id = resources.workflow_id
                        AND instr(e.message, resources.identifier || ', created before an interruption') > 0)
                    """)
        }
        return migrator
    }
}
