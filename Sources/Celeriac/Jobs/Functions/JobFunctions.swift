/// The processing functions known to a worker (which runs them) or a submitter (which checks a
/// job's function name and parameters before anything is queued): the built-ins plus any
/// ``JobFunction`` registered by name.
public struct JobFunctions: Sendable {
    private var factories: [String: @Sendable (JobParameters) throws -> any PartitionProcessing] = [:]

    /// No functions.
    public init() {}

    /// The six built-ins: `validation`, `transformation`, `analysis`, `aggregation`, `enrichment`,
    /// `classification`.
    public static var builtIn: JobFunctions {
        var functions = JobFunctions()
        functions.register(ValidationFunction.self)
        functions.register(TransformationFunction.self)
        functions.register(AnalysisFunction.self)
        functions.register(AggregationFunction.self)
        functions.register(EnrichmentFunction.self)
        functions.register(ClassificationFunction.self)
        return functions
    }

    /// Adds (or replaces) `Function` under ``JobFunction/name``.
    public mutating func register<Function: JobFunction>(_ function: Function.Type) {
        factories[Function.name] = { parameters in PartitionProcessor(function: try Function(parameters: parameters)) }
    }

    /// ``register(_:)`` for the built-ins with a record-view path.
    mutating func register<Function: RecordViewFunction>(_ function: Function.Type) {
        factories[Function.name] = { parameters in PartitionProcessor(function: try Function(parameters: parameters)) }
    }

    /// The registered names, sorted.
    public var names: [String] { factories.keys.sorted() }

    /// Builds the function `name` with `parameters`, checking both.
    /// - Throws: ``JobError`` `unknownFunction` (listing the known names) or `invalidParameters`.
    func make(_ name: String, parameters: JSONValue) throws -> any PartitionProcessing {
        guard let factory = factories[name] else {
            throw JobError(.unknownFunction, "unknown job function '\(name)' (known: \(names.joined(separator: ", ")))")
        }
        return try factory(try JobParameters(parameters))
    }

    /// Checks that `name` is registered and accepts `parameters`, as a submit does.
    /// - Throws: ``JobError`` `unknownFunction` or `invalidParameters` naming the field.
    public func validate(_ name: String, parameters: JSONValue) throws {
        _ = try make(name, parameters: parameters)
    }
}
