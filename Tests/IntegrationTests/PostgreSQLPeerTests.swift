import Testing

/// Every suite that starts a PostgreSQL server runs inside this one, one test at a time:
/// `initdb` and a server start cost a second or two of CPU each, and a dozen at once on a
/// two-core machine starve the suites running beside them, some of which time real deadlines.
@Suite("against PostgreSQL, one test at a time", .serialized)
struct PostgreSQLPeerTests {}
