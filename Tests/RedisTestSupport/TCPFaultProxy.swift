import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP proxy in front of a real server whose replies can be made to trickle or stop:
/// for testing a client that is already connected when its server turns hostile (a worker in
/// its fetch loop, say). Requests always pass at once; only the server's bytes are faulted.
public final class TCPFaultProxy: @unchecked Sendable {
    // @unchecked Sendable: `port`, `listener` and `upstreamPort` are immutable; `mode`, `stopped`,
    // `sockets` and each pair's `ended` are guarded by `lock`.

    /// What happens to the server's bytes.
    public enum Mode: Sendable, Equatable {
        /// Passed on as they come.
        case forward
        /// Passed on one byte at a time, this far apart.
        case trickle(Duration)
        /// Held back: the client hears nothing (and the proxy keeps what it read).
        case silent
    }

    /// The proxy's port on 127.0.0.1.
    public let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var currentMode = Mode.forward
    private var stopped = false
    private var sockets: [Int32] = []

    /// The mode; a change applies to the next byte.
    public var mode: Mode {
        get { lock.withLock { currentMode } }
        set { lock.withLock { currentMode = newValue } }
    }

    /// Listens on a free port of 127.0.0.1, forwarding to `upstreamPort` on 127.0.0.1.
    /// - Throws: ``RedisServerProcess/Failure`` when it cannot listen.
    public init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        (listener, port) = try LoopbackListener.open(backlog: 64, what: "fault proxy")
        Thread { [self] in acceptLoop() }.start()
    }

    deinit { stop() }

    /// Closes the listener and every connection; the pump threads end.
    public func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            _ = shutdown(listener, Int32(SHUT_RDWR))
            for socket in sockets { _ = shutdown(socket, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if lock.withLock({ stopped }) { break }
                continue
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = LoopbackListener.address(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            let registered = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                sockets += [client, upstream]
                return true
            }
            guard connected, registered else {
                close(client)
                close(upstream)
                continue
            }
            let pair = Pair(client: client, upstream: upstream)
            Thread { [self] in pump(from: client, to: upstream, faulted: false, pair: pair) }.start()
            Thread { [self] in pump(from: upstream, to: client, faulted: true, pair: pair) }.start()
        }
        lock.withLock { close(listener) }
    }

    /// One proxied connection's two sockets; `ended` (guarded by the proxy's lock) counts its pumps that ended.
    private final class Pair: @unchecked Sendable {
        let client: Int32
        let upstream: Int32
        var ended = 0
        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
        }
    }

    /// Copies `source` to `destination` until either closes; the server's side (`faulted`)
    /// follows the mode. Each end is shut down, not closed, so a number is never reused under
    /// the other pump; both are closed by whichever pump ends second.
    private func pump(from source: Int32, to destination: Int32, faulted: Bool, pair: Pair) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        reading: while true {
            let count = recv(source, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            var offset = 0
            while offset < count {
                let mode = faulted ? self.mode : .forward
                if lock.withLock({ stopped }) { break reading }
                let chunk: Int
                switch mode {
                case .forward: chunk = count - offset
                case .trickle: chunk = 1
                case .silent:
                    Thread.sleep(forTimeInterval: 0.02)
                    continue
                }
                let sent = buffer[offset..<(offset + chunk)].withUnsafeBytes {
                    send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard sent > 0 else { break reading }
                offset += sent
                if case .trickle(let interval) = mode {
                    Thread.sleep(forTimeInterval: interval.timeInterval)
                }
            }
        }
        lock.withLock {
            _ = shutdown(source, Int32(SHUT_RDWR))
            _ = shutdown(destination, Int32(SHUT_RDWR))
            pair.ended += 1
            if pair.ended == 2 {
                sockets.removeAll { $0 == pair.client || $0 == pair.upstream }
                close(pair.client)
                close(pair.upstream)
            }
        }
    }
}
