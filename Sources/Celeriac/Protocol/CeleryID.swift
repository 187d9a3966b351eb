import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Random identifiers in the form Celery uses for task ids, delivery tags and reply oids: a version 4
/// UUID, lowercase, with hyphens (`str(uuid4())`).
///
/// On the publish path `UUID().uuidString.lowercased()` cost more than building the rest of the
/// message: on Linux, Foundation opens and reads `/dev/urandom` for every UUID and formats it with
/// `sprintf`. These ids take their bits from the kernel's generator too (`arc4random_buf`, which is
/// `getrandom` in glibc), fetched 4 KiB at a time, and are written as hex directly.
public enum CeleryID {
    /// Random bytes fetched ahead; a child process made by `fork` refills before its first id, so
    /// that parent and child never hand out the same bytes.
    private struct RandomBytes {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var position = 4096
        var owner: pid_t = 0

        mutating func take16(into id: inout [UInt8]) {
            let process = getpid()
            if position + 16 > buffer.count || owner != process {
                arc4random_buf(&buffer, buffer.count)
                position = 0
                owner = process
            }
            for index in 0..<16 { id[index] = buffer[position + index] }
            position += 16
        }
    }

    private static let randomBytes = Mutex(RandomBytes())
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A new random id, e.g. `"4d7bd1a8-3f0e-4c4a-9b7e-2f6c1a0d9e35"`.
    public static func random() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        randomBytes.withLock { $0.take16(into: &bytes) }
        bytes[6] = bytes[6] & 0x0F | 0x40  // version 4
        bytes[8] = bytes[8] & 0x3F | 0x80  // RFC 4122 variant
        var text = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 0
        for index in 0..<16 {
            if index == 4 || index == 6 || index == 8 || index == 10 { position += 1 }
            text[position] = hexDigits[Int(bytes[index] >> 4)]
            text[position + 1] = hexDigits[Int(bytes[index] & 0x0F)]
            position += 2
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// A new random id without hyphens (32 hex digits), as Celery's lock tokens.
    public static func randomHex() -> String {
        String(random().lazy.filter { $0 != "-" })
    }
}
