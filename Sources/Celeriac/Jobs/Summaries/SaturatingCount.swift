extension Int {
    /// `self + other`, held at `.max` / `.min` instead of overflowing. Partials are read back from
    /// Redis, where anything may have written them: merging their counts must never trap.
    func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// ``addingSaturated(_:)`` as a function, for `merge(_:uniquingKeysWith:)`.
    static func saturated(_ a: Int, _ b: Int) -> Int { a.addingSaturated(b) }
}
