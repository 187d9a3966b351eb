import Foundation

extension JobReduction {
    /// The job's result object: `items`, `failed_items`, the function's keys, `partitions`,
    /// `failed_partitions`, `item_errors`.
    func resultObject(partitions: Int) -> JSONObject {
        var object: JSONObject = ["items": .integer(items), "failed_items": .integer(failedItems)]
        for (key, value) in result { object[key] = value }
        object["partitions"] = .integer(partitions)
        object["failed_partitions"] = .array(
            failedPartitions.map {
                ["partition": .integer($0.partition), "error": .string($0.reason)]
            })
        object["item_errors"] = .array(
            itemErrors.map {
                ["partition": .integer($0.partition), "item": .integer($0.item), "error": .string($0.error)]
            })
        return object
    }
}

/// Runs a job function over a whole file in this process, without a queue: the reference the
/// distributed result is checked against, and the baseline of `celeriac-bench job`.
public enum LocalJobRunner {
    /// The result `function` gives over every record of `dataset` (a file), read as
    /// `partitions` partitions in turn, in the shape of the job's result.
    /// - Throws: ``JobError`` for an unknown function, bad parameters or an unreadable file.
    public static func run(
        function: String, parameters: JSONValue, dataset: DatasetSource, partitions: Int = 1,
        functions: JobFunctions = .builtIn
    ) async throws -> JSONObject {
        let processor = try functions.make(function, parameters: parameters)
        return try await runFile(processor, dataset: dataset, partitions: partitions)
    }

    private static func runFile(_ processor: any PartitionProcessing, dataset: DatasetSource, partitions: Int) async throws
        -> JSONObject
    {
        let measure = try JobPlanner.measureFile(dataset)
        let size = max((measure.estimatedItems + max(partitions, 1) - 1) / max(partitions, 1), 1)
        let ranges = JobPlanner.partitions(of: dataset, measure: measure, partitionSize: size)
        var summaries: [PartitionSummary] = []
        for (index, range) in ranges.enumerated() {
            var reader = try FileRecordReader(range, keep: processor.fieldsRead)
            summaries.append(try await processor.process(partition: index, reader: &reader, output: nil, monitor: PartitionMonitor()))
        }
        return processor.reduce(summaries).resultObject(partitions: ranges.count)
    }
}
