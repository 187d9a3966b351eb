/// A processing function of a job: how one item is folded into a partition's summary (map), how
/// summaries of partitions combine (reduce), and what the combined summary reports.
///
/// The partial is a **summary**, never a list of items: counts, sums, sketches, group tables. It is
/// `Codable` because it travels from the map task to the reduce task as JSON. `merge` must be
/// associative (any split of the data gives the same result), which the unit tests of every
/// built-in check.
///
/// ```swift
/// struct LongNames: JobFunction {
///     static let name = "long_names"
///     let minimum: Int
///     init(parameters: JobParameters) throws { minimum = try parameters.integer("minimum", default: 20) }
///     func makePartial() -> Int { 0 }
///     func map(_ item: JSONObject, into count: inout Int) throws -> JSONObject? {
///         if (item["name"]?.stringValue?.count ?? 0) >= minimum { count += 1 }
///         return nil
///     }
///     func merge(_ other: Int, into count: inout Int) { count += other }
///     func result(of count: Int) -> JSONObject { ["long_names": .integer(count)] }
/// }
/// var functions = JobFunctions.builtIn
/// functions.register(LongNames.self)
/// try JobTasks.register(in: registry, functions: functions)     // in the worker
/// ```
public protocol JobFunction: Sendable {
    /// The summary of some items.
    associatedtype Partial: Codable & Sendable

    /// The name jobs give (`"validation"`, `"analysis"`, ...).
    static var name: String { get }

    /// Reads the job's parameters.
    /// - Throws: ``JobError`` `invalidParameters`, naming the field (``JobParameters`` does).
    init(parameters: JobParameters) throws

    /// The summary of no items.
    func makePartial() -> Partial

    /// Folds one item into `partial`; returns the item to write to the job's output, if the
    /// function produces items (transformation, enrichment), else `nil`.
    /// - Throws: any error to count the item as failed (its message is kept as a sample); the
    ///   partition goes on.
    func map(_ item: JSONObject, into partial: inout Partial) throws -> JSONObject?

    /// Folds `other` into `partial`.
    func merge(_ other: Partial, into partial: inout Partial)

    /// The function's part of the job's result (the job adds `items` and `failed_items`).
    func result(of partial: Partial) -> JSONObject

    /// The top-level fields ``map(_:into:)`` reads, so the reader builds only those (the others
    /// are still checked: a malformed line fails either way); `nil`: every field (the default,
    /// and what functions that write items need).
    var fieldsRead: Set<String>? { get }
}

extension JobFunction {
    public var fieldsRead: Set<String>? { nil }
}
