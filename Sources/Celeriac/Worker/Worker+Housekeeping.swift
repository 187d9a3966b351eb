import Foundation

/// Housekeeping: due ETA messages back to their queues, this worker's unacked entries refreshed,
/// dead workers' entries swept back after the visibility timeout; and the restore of held
/// messages at a warm shutdown.
extension Worker {
    func housekeepingLoop() async {
        let refreshInterval = min(configuration.restoreInterval, configuration.visibilityTimeout / 3)
        var lastSweep = ContinuousClock.now - configuration.restoreInterval
        var lastRefresh = ContinuousClock.now
        while !Task.isCancelled {
            var sleep: Duration = .seconds(1)
            do {
                let (moved, next) = try await consumer.promoteDueMessages()
                if moved > 0 { logger.debug("schedule.due", ["moved": "\(moved)"]) }
                if let next { sleep = max(.milliseconds(5), .seconds(min(next.timeIntervalSinceNow, 1))) }
                if ContinuousClock.now - lastRefresh >= refreshInterval {
                    try await consumer.refresh(heldDeliveryTags())
                    lastRefresh = .now
                }
                if ContinuousClock.now - lastSweep >= configuration.restoreInterval {
                    lastSweep = .now
                    let restored = try await consumer.restoreVisibilityTimedOut(
                        visibilityTimeout: configuration.visibilityTimeout, mutexExpiry: configuration.unackedMutexExpiry)
                    if restored > 0 { logger.warning("unacked.restored", ["count": "\(restored)", "reason": "visibility timeout"]) }
                }
            } catch {
                logger.debug("housekeeping.failed", ["error": "\(error)"])
            }
            sleep = min(sleep, refreshInterval)
            do { try await Task.sleep(for: sleep) } catch { return }
        }
    }

    /// Delivery tags this worker holds unacked: waiting, delayed, and running acks-late tasks.
    func heldDeliveryTags() -> [String] {
        let waiting = reserved.snapshot.map(\.deliveryTag)
        let running = state.withLock { state in state.active.filter { $0.value.acksLate }.map(\.key) }
        return waiting + delayed.deliveryTags + running
    }

    /// Puts held messages back at the front of their queues (warm shutdown).
    func restore(_ deliveries: [Delivery]) async {
        guard !deliveries.isEmpty else { return }
        var restored = 0
        for delivery in deliveries {
            do {
                if !delivery.isRecorded {
                    _ = try await consumer.pool.rpush(delivery.listKey, [delivery.raw])
                    restored += 1
                } else if try await consumer.restore(raw: delivery.raw, deliveryTag: delivery.deliveryTag, listKey: delivery.listKey) {
                    restored += 1
                }
            } catch {
                logger.error(
                    "restore.failed",
                    ["id": delivery.message.id, "error": "\(error)", "note": "it comes back after the visibility timeout"])
            }
        }
        logger.info("worker.restored", ["count": "\(restored)", "to": "front of their queues"])
    }
}
