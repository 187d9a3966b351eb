/// Where a job is in its life.
public enum JobState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Submitted; no partition has started.
    case pending
    /// Partitions are being processed.
    case running
    /// Every partition is done; the reduce task is combining them.
    case reducing
    /// Reduced; failed partitions, if any, are listed in the result.
    case completed
    /// More partitions failed than the spec allows, or the reduce step failed.
    case failed
    /// Cancelled: no partition started after it, running ones stopped.
    case cancelled

    /// Whether the job is over.
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}
