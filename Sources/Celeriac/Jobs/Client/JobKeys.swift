/// The Redis keys of jobs, all in the result backend's database (see ARCHITECTURE.md's key map).
public enum JobKeys {
    /// The job's record: a hash of its spec, state, times, partition count and task ids.
    public static func record(_ jobID: String) -> String { "celeriac.job." + jobID }
    /// The live progress of its partitions: a hash of partition index → progress JSON.
    public static func partitions(_ jobID: String) -> String { "celeriac.job." + jobID + ".partitions" }
    /// Recent jobs: a sorted set of job ids scored by submit time (newest ``recentLimit`` kept).
    public static let recent = "celeriac.jobs"
    /// Totals over all finished jobs: a hash (`jobs`, `completed`, `items`, `seconds`, and
    /// `function:<name>:jobs|items|seconds`).
    public static let statistics = "celeriac.jobs.stats"
    /// How many jobs ``recent`` keeps.
    public static let recentLimit = 1000
}
