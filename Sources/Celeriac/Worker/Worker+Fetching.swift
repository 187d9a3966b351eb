import Foundation
import RESP

/// The fetch loop: fills the prefetch window from the worker's queues (batched fetch scripts
/// while they hold messages, BRPOP when they are empty), on its own thread and connections.
extension Worker {
    func fetchLoop() async {
        defer { fetchingFinished.fire() }
        var (order, generation) = state.withLock { ($0.queues, $0.queuesGeneration) }
        // The fetch and record scripts run on `fetching`, under the fetch reply limits (see
        // WorkerConfiguration.fetchReplyLimits); BRPOP waits on `waiting`, under the standard ones.
        var fetching: RedisConnection?
        var waiting: RedisConnection?
        var fetchConfiguration = app.broker.pool.redis
        fetchConfiguration.replyLimits = configuration.effectiveFetchReplyLimits
        var failures = 0
        var request = RedisConsumer.FetchRequest()
        // A message BRPOP popped that is not recorded yet: only this worker's memory holds it.
        var popped: (raw: [UInt8], queue: String)?
        // After BRPOP handed a message to an idle runner, the queues were most likely empty but
        // for it: wait with BRPOP again rather than run the fetch script first. A message that
        // finds no idle runner (a backlog) sends the loop back to batched fetches.
        var queuesLookEmpty = false
        let policy = RetryPolicy.fetchLoop
        while popped != nil || !isStopping {
            do {
                // The loop's own connections: their thread stays warm between the fetch script,
                // BRPOP and the record script that follows it.
                if fetching == nil { fetching = try await RedisConnection.connect(fetchConfiguration, on: fetchThread) }
                if waiting == nil { waiting = try await RedisConnection.connect(app.broker.pool.redis, on: fetchThread) }
                guard let connection = fetching, let waitingConnection = waiting else { continue }
                // Queues added or cancelled by remote control take effect here.
                if let changed = state.withLock({ $0.queuesGeneration == generation ? nil : ($0.queues, $0.queuesGeneration) }) {
                    (order, generation) = changed
                }
                if order.isEmpty && popped == nil {
                    try await Task.sleep(for: .milliseconds(500))
                    continue
                }
                var fetched: [RedisConsumer.Fetched] = []
                // The queue of a message handed to a runner unrecorded (not in `fetched`).
                var fetchedQueue: String?
                // The one message in `fetched`, when the hand-over attempt decoded it already.
                var alreadyDecoded: TaskMessage?
                if let message = popped {
                    fetched = [try await consumer.record(message, on: connection)]
                    popped = nil
                } else {
                    let room = await reserved.waitForRoom(limit: state.withLock { $0.prefetch }, budget: configuration.prefetchBytes)
                    guard room > 0, !isStopping else { break }
                    if !queuesLookEmpty {
                        // On a connection error the same request is repeated: see RedisConsumer.fetch.
                        fetched = try await consumer.fetch(
                            from: order, limit: room, maximumSize: configuration.maximumMessageSize,
                            byteBudget: configuration.prefetchBytes - reserved.bytes, request: request, on: connection)
                        request = RedisConsumer.FetchRequest(after: request)
                    }
                    queuesLookEmpty = false
                    if fetched.isEmpty {
                        popped = try await consumer.waitForMessage(on: waitingConnection, from: order, timeout: .seconds(1))
                        if let message = popped {
                            switch handOverUnrecorded(message) {
                            case .handed:
                                fetchedQueue = message.queue
                                queuesLookEmpty = true
                            case .kept(let decoded):
                                fetched = [try await consumer.record(message, on: connection)]
                                alreadyDecoded = decoded
                            }
                            popped = nil
                        }
                    }
                }
                if let last = fetched.last?.queue ?? fetchedQueue, order.count > 1, let index = order.firstIndex(of: last) {
                    order.append(order.remove(at: index))
                }
                if failures > 0 { logger.info("redis.reconnected", ["while": "fetching"]) }
                failures = 0
                var ready: [Delivery] = []
                for message in fetched {
                    if let delivery = await receive(message, decoded: alreadyDecoded) { ready.append(delivery) }
                }
                reserved.put(ready)
            } catch is CancellationError {
                break
            } catch {
                if failures == 0 {
                    if let refusal = error as? RedisServerError, !refusal.isTransient {
                        // Redis answered, and no reconnect will change its answer: say so loudly.
                        logger.error(
                            "fetch.refused",
                            [
                                "error": "\(refusal)", "action": "retrying",
                                "note": "Redis refused the fetch: check the queue keys' types, the ACL and maxmemory",
                            ])
                    } else {
                        logger.warning("redis.unreachable", ["while": "fetching", "error": "\(error)", "action": "retrying"])
                    }
                }
                await fetching?.close()
                await waiting?.close()
                (fetching, waiting) = (nil, nil)
                failures += 1
                try? await Task.sleep(for: policy.delay(after: error, failures: failures, elapsed: .zero) ?? .seconds(5))
                if let message = popped, isStopping, coldStopRequested.isFired {
                    logger.error(
                        "message.lost",
                        [
                            "queue": message.queue, "message": String(decoding: message.raw, as: UTF8.self),
                            "reason": "popped by BRPOP but Redis stayed unreachable until a cold shutdown",
                        ])
                    popped = nil
                }
            }
        }
        await fetching?.close()
        await waiting?.close()
    }
}
