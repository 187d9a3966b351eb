import Foundation
import RESP

/// The warm shutdown, step by step, and the loops it stops.
extension Worker {
    /// The background work ``run()`` started.
    struct Loops: Sendable {
        let fetching: Task<Void, Never>
        let runners: [Task<Void, Never>]
        let housekeeping: Task<Void, Never>
        let delaying: Task<Void, Never>
        let controlling: Task<Void, Never>
        let heartbeats: Task<Void, Never>
        let control: RedisSubscriber
    }

    /// Stops the worker once a shutdown was asked for: warm (held messages back to their queues,
    /// running tasks finish within the grace period, the last writes flushed), or cold after a
    /// second ``shutdown()``.
    func shutDown(_ loops: Loops) async {
        logger.info("worker.stopping", ["mode": "warm", "running": "\(state.withLock { $0.active.count })"])

        // 1. Runners take no new message; those waiting for a slot (or for their near ETA) go back
        //    to the front of their queues.
        await restore(reserved.close() + delayed.close())
        await loops.delaying.value

        // 2. Stop fetching: the loop ends after its current fetch (BRPOP waits 1 s at most); it is
        //    not interrupted, so that a message popped at that moment is not lost. What it fetched
        //    meanwhile goes back too.
        await firstOf({ await self.fetchingFinished.wait() }, { await self.coldStopRequested.wait() })
        if coldStopRequested.isFired { loops.fetching.cancel() }
        await restore(reserved.takeLeftovers())

        // 3. Let running tasks finish, within the grace period or until a second signal.
        await firstOf(
            { await self.runnersFinished.wait() }, { try? await Task.sleep(for: self.configuration.shutdownGrace) },
            { await self.coldStopRequested.wait() })
        if !runnersFinished.isFired {
            let running = state.withLock { state in
                state.active.values.map { task in
                    task.context.requestStop(.shutdown)
                    return task.delivery
                }
            }
            logger.warning(
                "worker.stopping",
                ["mode": "cold", "abandoned": "\(running.count)", "note": "acks-late tasks come back after the visibility timeout"])
            for runner in loops.runners + state.withLock({ $0.addedRunners }) { runner.cancel() }
            writer.abandon()
            await firstOf({ await self.runnersFinished.wait() }, { try? await Task.sleep(for: .seconds(1)) })
        }
        loops.housekeeping.cancel()
        await loops.housekeeping.value
        loops.control.close()
        await loops.controlling.value
        if !coldStopRequested.isFired {
            // 4. The last writes, within the grace period or until a second signal: Redis may be
            //    gone or hang, and these waits do not end by themselves then.
            let flushed = AsyncSignal()
            Task {
                await loops.fetching.value
                // A chord claimed in the last writes still needs its body sent (nobody else will).
                await self.writer.waitUntilWritten(self.writer.enqueue([]))
                for finisher in self.state.withLock({ Array($0.chordFinishers.values) }) { await finisher.value }
                flushed.fire()
            }
            await firstOf(
                { await flushed.wait() }, { try? await Task.sleep(for: self.configuration.shutdownGrace) },
                { await self.coldStopRequested.wait() })
            if !flushed.isFired {
                logger.warning(
                    "worker.stopping",
                    [
                        "mode": "cold",
                        "note":
                            "Redis did not take the last writes; their tasks' results are not stored, acks-late tasks come back after the visibility timeout",
                    ])
                loops.fetching.cancel()
                for finisher in state.withLock({ Array($0.chordFinishers.values) }) { finisher.cancel() }
                writer.abandon()
            }
        } else {
            // Cold: what is not written yet is given up, so closing the writer does not wait for Redis.
            writer.abandon()
        }
        await writer.close()
        loops.heartbeats.cancel()
        await loops.heartbeats.value
        sendWorkerEvent("worker-offline")
        await events.close()
        threadPool.stop()
        logger.info("worker.stopped", ["hostname": configuration.hostname, "processed": "\(state.withLock { $0.processed })"])
    }
}
