/// Training records for tests: `n` small, valid prompt/completion lines, distinct by `tag` so
/// that two drops never carry the same bytes (the daemon refuses a duplicate of a live drop).
public enum TrainingRecords {
    public static func summaries(_ n: Int, tag: String = "") -> String {
        (1...n).map {
            #"{"prompt":"Summarize ticket \#(tag)\#($0): the export fails on Fridays.","completion":"Export fails on Fridays (\#(tag)\#($0))."}"#
                + "\n"
        }.joined()
    }
}
