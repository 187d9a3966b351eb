import Celeriac
import CeleriacExamples
import Foundation

/// A task shared by the producers and this worker.
enum ResizeImage: CeleriacTask {
    static let name = "images.resize"
    static let argumentNames = ["path", "width"]  // Python may call resize(path, width)
    struct Arguments: Codable, Sendable {
        var path: String
        var width: Int
    }
    typealias Result = String
}

/// An error the task retries automatically.
struct StorageUnreachable: Error {}

/// A worker executable of one's own: `WorkerCommand.run` gives it the options, signals and exit
/// statuses of `celeriac-worker` (`example-worker --help`). The README shows this file.
@main
struct ExampleWorker {
    static func main() async {
        let status = await WorkerCommand.run(program: "example-worker") { registry in
            try ExampleTasks.register(in: registry)  // optional: celeriac.examples.*
            try registry.register(
                ResizeImage.self,
                settings: TaskSettings(
                    acksLate: true, trackStarted: true, maxRetries: 5,
                    autoretry: AutoRetryPolicy(for: [StorageUnreachable.self], backoff: .seconds(2)),
                    rateLimit: RateLimit(count: 10, per: .seconds(1)), softTimeLimit: .seconds(30))
            ) { arguments, context in
                try await context.updateState("PROGRESS", meta: ["step": "resizing"])
                try context.checkCancellation()  // throws SoftTimeLimitExceeded after 30 s
                guard arguments.width > 0 else {
                    throw TaskFailure(type: "ValueError", message: "width must be positive")  // ValueError in Python
                }
                if context.retries < 1 { throw context.retry(countdown: .milliseconds(100)) }  // Celery's self.retry
                return "\(arguments.path)@\(arguments.width)w (after \(context.retries) retry)"
            }
            try registry.register("reports.build") { args, kwargs, context in  // a JSON-level task
                ["id": .string(context.id), "args": .array(args), "kwargs": .object(kwargs)]
            }
        }
        exit(status)
    }
}
