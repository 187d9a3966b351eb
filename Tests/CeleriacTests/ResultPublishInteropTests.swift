import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// The publish lead of issue #31 (see ``CompletionWriter``): a ready state someone is subscribed
/// to is published before it is stored, so that Celery's client hears it on pub/sub instead of
/// finding it with its GET and leaving its pub/sub replies to pile up.
@Suite struct ResultPublishInteropTests {
    /// A subscriber of the task's channel hears the result while the key is still empty; the key
    /// is stored afterwards. Nobody subscribed, or an acks-late task: stored first, as Celery does.
    @Test func aReadyStateIsPublishedBeforeItIsStoredOnlyWhenSomeoneListens() async throws {
        var configuration = WorkerConfiguration(concurrency: 2)
        configuration.publishLead = .seconds(3)
        try await withWorker(configuration, register: { registry in
            try registry.register("test.late_add", settings: TaskSettings(acksLate: true)) { args, _, _ in
                .integer(args.compactMap(\.intValue).reduce(0, +))
            }
        }) { harness in
            let backend = try await RedisConnection.connect(url: harness.server.url(database: 1))
            for acksLate in [false, true] {
                let message = harness.app.message(acksLate ? "test.late_add" : "celeriac.examples.add", args: [1, 2])
                let key = RedisResultBackend.key(for: message.id)
                let subscriber = try RedisSubscriber(try RedisConfiguration(url: harness.server.url(database: 1)))
                try await subscriber.subscribe([key])
                try await harness.app.sendMany([message])
                var published: RedisPubSubMessage?
                for await event in subscriber.events {
                    if case .message(let message) = event {
                        published = message
                        break
                    }
                }
                let payload = try #require(published?.payload)
                #expect(try TaskResultMeta(decoding: payload).state == .success)
                // Read at once, well within the 3 s lead.
                let stored = try await backend.get(key)
                if acksLate {
                    #expect(stored == payload, "an acks-late task's result is stored before its ack, so before its PUBLISH")
                } else {
                    #expect(stored == nil, "published first")
                    #expect(try await eventually(attempts: 400) { try await backend.get(key) == payload })
                }
                subscriber.close()
            }
            // Nobody listening: stored at once (long before the 3 s lead).
            let message = harness.app.message("celeriac.examples.add", args: [2, 2])
            try await harness.app.sendMany([message])
            #expect(try await eventually(attempts: 50) { try await backend.get(RedisResultBackend.key(for: message.id)) != nil })
            // In this process, a read right after `get()` finds what `get()` heard.
            let heard = try await harness.app.send("celeriac.examples.add", args: [3, 3])
            #expect(try await heard.get(timeout: .seconds(10)) == 6)
            #expect(try await harness.app.backend.meta(for: heard.id)?.state == .success)
        }
    }

    /// Celery's own client against a Celeriac worker, pausing between send and `get()` so that the
    /// worker has finished first: every result reaches the client on pub/sub, none by its GET, and
    /// no trip reads a backlog. (With `publishLead` zero nearly every trip here is read by the GET,
    /// its pub/sub replies left unread until a later trip reads them all.)
    @Test(.enabled(if: interopPython != nil, "set CELERIAC_PYTHON (scripts/test.sh does)"))
    func celerysClientHearsEveryResultOnPubSub() async throws {
        var configuration = WorkerConfiguration(concurrency: 2)
        configuration.publishLead = .milliseconds(200)
        try await withWorker(configuration) { harness in
            let run = try await CommandRunner.run(
                URL(fileURLWithPath: try #require(interopPython)),
                [PythonInterop.directory.appendingPathComponent("python_round_trips.py").path, "400", "5"],
                environment: PythonInterop.environment(harness.server))
            #expect(run.status == 0, "\(run.standardOutput)\n\(run.standardError.suffix(3000))")
            let summary = try #require(try JSONValue(parsing: Array(run.standardOutput.utf8)).objectValue)
            // A figure, not an assertion: the slowest trip (debug build, shared machine).
            print("celery client round trips: \(run.standardOutput)", terminator: "")
            #expect((summary["read_by_get"]?.intValue ?? .max) <= 4, "\(summary)")
            #expect((summary["most_messages_read"]?.intValue ?? .max) <= 8, "\(summary)")
        }
    }
}
