import Celeriac
import Foundation
import RedisTestSupport
import Testing

/// A user's own job function: typed partial, registered in a worker next to the built-ins.
struct LongNames: JobFunction {
    static let name = "long_names"
    struct Partial: Codable, Sendable {
        var long = 0
        var longest = ""
    }
    let minimum: Int
    init(parameters: JobParameters) throws {
        try parameters.allowOnly(["minimum"])
        minimum = try parameters.integer("minimum", default: 20, in: 1...1000)
    }
    var fieldsRead: Set<String>? { ["name"] }
    func makePartial() -> Partial { Partial() }
    func map(_ item: JSONObject, into partial: inout Partial) throws -> JSONObject? {
        guard let name = item["name"]?.stringValue else { throw LongNamesError() }
        if name.count >= minimum { partial.long += 1 }
        if name.count > partial.longest.count || (name.count == partial.longest.count && name < partial.longest) {
            partial.longest = name
        }
        return nil
    }
    func merge(_ other: Partial, into partial: inout Partial) {
        partial.long += other.long
        if other.longest.count > partial.longest.count || (other.longest.count == partial.longest.count && other.longest < partial.longest) {
            partial.longest = other.longest
        }
    }
    func result(of partial: Partial) -> JSONObject { ["long_names": .integer(partial.long), "longest": .string(partial.longest)] }
}

struct LongNamesError: Error, CustomStringConvertible {
    var description: String { "no name" }
}

@Suite struct CustomFunctionTests {
    @Test func aRegisteredFunctionRunsAsAJob() async throws {
        var functions = JobFunctions.builtIn
        functions.register(LongNames.self)
        #expect(functions.names.contains("long_names") && functions.names.contains("analysis"))
        try await withWorker(WorkerConfiguration(concurrency: 2), register: { try JobTasks.register(in: $0, functions: functions) }) { harness in
            let path = harness.server.directory.appendingPathComponent("names.jsonl").path
            try DatasetGenerator(items: 4000, seed: 8).write(to: path)
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Array("{\"id\": 0}\n".utf8))
            try handle.close()
            let jobs = harness.app.jobs(functions: functions)
            // The built-in client does not know it: refused at submit, nothing queued.
            await #expect(throws: JobError.self) {
                try await harness.app.jobs.submit(JobSpec(dataset: .jsonLines(path: path), function: "long_names"))
            }
            await #expect(throws: JobError.self) {
                try await jobs.submit(JobSpec(dataset: .jsonLines(path: path), function: "long_names", parameters: ["minimum": "x"]))
            }
            let job = try await jobs.submit(JobSpec(
                dataset: .jsonLines(path: path), function: "long_names", parameters: ["minimum": 15], partitionSize: .items(700)))
            let result = try await job.result(timeout: .seconds(60))
            let local = try await LocalJobRunner.run(
                function: "long_names", parameters: ["minimum": 15], dataset: .jsonLines(path: path), functions: functions)
            #expect(result["long_names"] == local["long_names"])
            #expect(result["longest"] == local["longest"])
            #expect((result["long_names"]?.intValue ?? 0) > 0)
            // Items without a name are failed items, with their error kept.
            #expect(result["failed_items"] == 1)
            #expect(local["failed_items"] == 1)
            #expect(result["item_errors"]?.arrayValue?.first?["error"] == "no name")
        }
    }
}
