import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP server that is not Redis: it answers every connection with fixed bytes after
/// reading the first request, then closes (or holds) the connection. For testing how the client
/// copes with garbage, truncated replies and silent peers.
public final class ScriptedTCPServer: @unchecked Sendable {
    // @unchecked Sendable: all state is immutable after init except `stopped`, `listenerClosed` and
    // `events`, guarded by `lock`.
    public let port: Int
    private let listener: Int32
    private let reply: [UInt8]
    private let closeAfterReply: Bool
    private let byteInterval: Duration?
    private let lock = NSLock()
    private var stopped = false
    private var listenerClosed = false
    private var events: [String] = []

    /// What the server did so far (accepts, reads, errors), for failure messages.
    public var log: String { lock.withLock { events.joined(separator: "; ") } }

    private func record(_ event: String) { lock.withLock { events.append(event) } }

    /// Starts listening on a free port of 127.0.0.1.
    /// - Parameters:
    ///   - reply: bytes sent after the first read from each client.
    ///   - closeAfterReply: close the connection after the reply (else keep it open, silent).
    ///   - byteInterval: send the reply one byte at a time, this far apart (a trickling server);
    ///     `nil` sends it at once. Trickling stops when the server is stopped.
    public init(reply: [UInt8], closeAfterReply: Bool = true, byteInterval: Duration? = nil) throws {
        self.reply = reply
        self.closeAfterReply = closeAfterReply
        self.byteInterval = byteInterval
        (listener, port) = try LoopbackListener.open(backlog: 16, what: "scripted server")
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// Stops accepting connections. The listener is shut down and closed under the lock, exactly
    /// once, so its descriptor number is never touched after another socket may have reused it.
    public func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            if !listenerClosed { _ = shutdown(listener, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        var held: [Int32] = []
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                let error = errno
                if lock.withLock({ stopped }) { break }
                record("accept failed, errno \(error)")
                continue
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            record("accepted fd \(client)")
            var buffer = [UInt8](repeating: 0, count: 4096)
            let received = recv(client, &buffer, buffer.count, 0)
            record("received \(received)")
            if let byteInterval {
                var sent = 0
                for byte in reply {
                    if lock.withLock({ stopped }) { break }
                    guard withUnsafeBytes(of: byte, { send(client, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }) == 1 else { break }
                    sent += 1
                    Thread.sleep(forTimeInterval: byteInterval.timeInterval)
                }
                record("trickled \(sent)")
            } else {
                let sent = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                record("sent \(sent)")
            }
            if closeAfterReply { close(client) } else { held.append(client) }
        }
        for client in held { close(client) }
        lock.withLock {
            listenerClosed = true
            close(listener)
        }
    }
}
