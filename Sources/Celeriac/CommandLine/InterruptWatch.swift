import Dispatch
import Foundation
import Synchronization

/// Notices Ctrl-C (SIGINT) and SIGTERM while a command follows a job, instead of dying.
final class InterruptWatch {
    /// Set from the signal handler's queue, read by the command's task.
    private final class Flag: Sendable {
        private let state = Mutex(false)
        func set() { state.withLock { $0 = true } }
        var isSet: Bool { state.withLock { $0 } }
    }

    private let flag = Flag()
    private var sources: [any DispatchSourceSignal] = []

    init() {
        let flag = flag
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { flag.set() }
            source.resume()
            return source
        }
    }

    var interrupted: Bool { flag.isSet }

    func stop() {
        for source in sources { source.cancel() }
        sources = []
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
