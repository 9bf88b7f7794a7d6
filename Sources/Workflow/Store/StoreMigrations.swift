import GRDB

/// `StoreSchema`'s migrations for SQLite, through GRDB's migrator (which records each id as it
/// applies it): applied in order at every open.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in StoreSchema.migrations {
            migrator.registerMigration(migration.id) { db in
                for statement in migration.sqlite { try db.execute(sql: statement) }
            }
        }
        return migrator
    }
}
