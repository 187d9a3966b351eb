import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Listening sockets on 127.0.0.1 for the fake peers of the tests.
enum LoopbackListener {
    /// A socket listening on a free port of 127.0.0.1, close-on-exec, and its port.
    /// - Throws: ``RedisServerProcess/Failure`` naming `what` when bind or listen fails.
    static func open(backlog: Int32, what: String) throws -> (descriptor: Int32, port: Int) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, backlog) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else {
            close(listener)
            throw RedisServerProcess.Failure.didNotStart("\(what): bind/listen failed")
        }
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// The IPv4 address 127.0.0.1:`port`.
    static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}
