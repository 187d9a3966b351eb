import CHiredis

/// Parses raw RESP bytes with hiredis' reader, without a connection.
///
/// The client reads replies off sockets through ``HiredisContext``; this type exposes the same
/// parser for bytes from elsewhere (captured traffic, tests).
public enum RESPReader {
    /// Parses every complete reply in `bytes`, checking them against `limits` first as a
    /// connection does.
    /// - Throws: ``RedisClientError`` with code ``RedisClientError/Code/protocolError`` for invalid
    ///   RESP, a reply past one of `limits`, or when `bytes` ends inside a reply.
    public static func parse(_ bytes: [UInt8], limits: RESPReplyLimits = .standard) throws -> [RESPValue] {
        var replyGuard = RESPReplyGuard(limits: limits)
        do {
            try bytes.withUnsafeBytes { try replyGuard.scan($0) }
        } catch {
            throw RedisClientError(.protocolError, "the reply passes a limit: \(error)")
        }
        guard let reader = redisReaderCreate() else {
            throw RedisClientError(.protocolError, "cannot create a RESP reader: out of memory")
        }
        defer { redisReaderFree(reader) }
        let fed = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                redisReaderFeed(reader, chars.baseAddress, chars.count)
            }
        }
        guard fed == REDIS_OK else {
            throw RedisClientError(.protocolError, "cannot buffer RESP input: out of memory")
        }
        var values: [RESPValue] = []
        while true {
            var reply: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &reply) == REDIS_OK else {
                let reason = String(cString: chiredis_reader_errstr(reader))
                throw RedisClientError(.protocolError, "invalid RESP after \(values.count) replies: \(reason)")
            }
            guard let reply else { break }
            values.append(HiredisContext.value(of: reply.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(reply)
        }
        if reader.pointee.len > reader.pointee.pos {
            throw RedisClientError(.protocolError, "RESP input ends inside a reply after \(values.count) replies")
        }
        return values
    }
}
