import Testing

/// Every suite that starts moto runs inside this one, one test at a time: a moto start costs
/// about two seconds of CPU, and several at once on a two-core machine starve the rest of
/// the (parallel) test run.
@Suite("against moto, one test at a time", .serialized)
enum MotoPeerTests {}
