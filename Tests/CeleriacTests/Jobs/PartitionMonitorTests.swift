@testable import Celeriac
import RESP
import Synchronization
import Testing

/// A map task's progress reports against a Redis that fails: a temporary failure leaves a report
/// out, anything else still stops the partition.
@Suite struct PartitionMonitorTests {
    static let records: [DatasetRecord] = (0..<100).map { .item(["age": .integer($0)]) }

    @Test func aTemporaryRedisFailureSkipsTheReport() async throws {
        let processor = try JobFunctions.builtIn.make("analysis", parameters: ["fields": ["age"]])
        let skipped = Atomic<Int>(0)
        let monitor = PartitionMonitor(interval: .zero, report: PartitionMonitor.tolerant({ _ in
            throw RedisClientError(.connectionClosed, "reset by a test")
        }, skipped: { _ in skipped.add(1, ordering: .relaxed) }))
        var reader = RecordsReader(records: Self.records)
        let summary = try await processor.process(partition: 0, reader: &reader, output: nil, monitor: monitor)
        #expect(summary.items == 100 && summary.failure == nil)
        #expect(skipped.load(ordering: .relaxed) == 2)  // after the batch, and at the end
    }

    @Test func otherReportErrorsStopThePartition() async throws {
        let processor = try JobFunctions.builtIn.make("analysis", parameters: ["fields": ["age"]])
        let monitor = PartitionMonitor(interval: .zero, report: PartitionMonitor.tolerant({ _ in
            throw RedisClientError(.authenticationFailed, "not allowed")
        }, skipped: { _ in Issue.record("an authentication failure is not temporary") }))
        var reader = RecordsReader(records: Self.records)
        await #expect(throws: RedisClientError.self) {
            _ = try await processor.process(partition: 0, reader: &reader, output: nil, monitor: monitor)
        }
    }
}
