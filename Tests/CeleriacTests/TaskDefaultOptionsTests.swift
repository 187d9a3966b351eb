import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// Default options: each send's own, over the app's routes, over the task type's (Celery's
/// `apply_async` arguments, `task_routes`, task attributes).
@Suite struct TaskDefaultOptionsTests {
    enum Report: CeleriacTask {
        static let name = "reports.build"
        struct Arguments: Codable, Sendable { var id: Int }
        typealias Result = String
        static var defaultOptions: TaskOptions {
            TaskOptions(queue: "reports", priority: 6, timeLimit: .seconds(60), headers: ["team": "data", "tier": "low"])
        }
    }

    @Test func fillingTakesOnlyWhatIsUnset() {
        let defaults = TaskOptions(
            taskID: "never-taken", countdown: .seconds(5), queue: "reports", priority: 6, ignoreResult: true,
            headers: ["team": "data", "tier": "low"], link: [["task": "notify"]], retries: 4)
        let own = TaskOptions(priority: 1, headers: ["tier": "high"]).filling(from: defaults)
        #expect(own.queue == "reports" && own.priority == 1 && own.ignoreResult == true)
        #expect(own.countdown == .seconds(5))
        #expect(own.headers == ["team": "data", "tier": "high"])
        #expect(own.link == [["task": "notify"]])
        #expect(own.taskID == nil && own.retries == 0)
        // An eta of the send's own keeps the default countdown out (one schedule, not two).
        let at = Date(timeIntervalSince1970: 2_000_000_000)
        let scheduled = TaskOptions(eta: at).filling(from: defaults)
        #expect(scheduled.eta == at && scheduled.countdown == nil)
        #expect(TaskOptions(queue: "x").filling(from: nil) == TaskOptions(queue: "x"))
    }

    @Test func routesApplyToSendsByNameAndTypeUnderTheirOwnOptions() throws {
        let app = try CeleriacApp(
            brokerURL: "redis://127.0.0.1:1/0", routes: ["celeriac.examples.add": TaskOptions(queue: "math", priority: 3)])
        let routed = app.message("celeriac.examples.add", args: [1, 2])
        #expect(routed.queue == "math" && routed.priority == 3)
        let overridden = app.message("celeriac.examples.add", options: TaskOptions(queue: "urgent"))
        #expect(overridden.queue == "urgent" && overridden.priority == 3)
        #expect(app.message("other").queue == TaskOptions.defaultQueue)
    }

    @Test func aTypedSendLayersItsOptionsRoutesAndTheTypesDefaults() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url(), routes: [Report.name: TaskOptions(priority: 3)])
            defer { Task { await app.close() } }
            _ = try await app.send(Report.self, .init(id: 1))
            _ = try await app.send(Report.self, .init(id: 2), options: TaskOptions(queue: "elsewhere"))
            let redis = try await RedisConnection.connect(url: server.url())
            // Priority 3 lands in the `\x06\x163` sub-list of each queue, kombu's layout.
            let first = try #require(try await redis.send("RPOP", "reports\u{06}\u{16}3").bytes)
            let message = try TaskMessage(decoding: first)
            #expect(message.queue == "reports" && message.priority == 3)
            #expect(message.timeLimits.hard == .seconds(60))
            #expect(message.headers["team"] == "data")
            #expect(try await redis.llen("elsewhere\u{06}\u{16}3") == 1)
        }
    }
}
