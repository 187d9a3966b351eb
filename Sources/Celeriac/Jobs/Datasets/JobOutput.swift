import Foundation
import RESP

/// Writing a job's output failed: the partition fails as a whole (its items would be lost).
struct JobOutputError: Error, CustomStringConvertible {
    let description: String
}

/// One partition's output as a JSON Lines file `part-NNNNN.jsonl` in the job's output directory,
/// written through a 1 MiB buffer to a temporary name and renamed when complete (a retried or
/// failed partition never leaves half a file under the final name).
final class FileItemOutput: ItemOutput {
    let path: String
    private let temporaryPath: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    static func partName(_ partition: Int) -> String {
        let digits = String(partition)
        return "part-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".jsonl"
    }

    init(directory: String, partition: Int) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw JobOutputError(description: "cannot create output directory \(directory): \(error)")
        }
        path = (directory as NSString).appendingPathComponent(Self.partName(partition))
        temporaryPath = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporaryPath)
        else {
            throw JobOutputError(description: "cannot write \(temporaryPath)")
        }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
    }

    func write(_ item: JSONObject) async throws {
        buffer.append(contentsOf: JSONValue.object(item).serialized())
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw JobOutputError(description: "cannot write \(temporaryPath): \(error)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func finish() async throws {
        try flush()
        try? handle.close()
        do {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporaryPath, toPath: path)
        } catch {
            throw JobOutputError(description: "cannot rename \(temporaryPath) to \(path): \(error)")
        }
    }

    deinit {
        try? handle.close()
    }
}

/// Output items appended to a Redis list, 500 per `RPUSH`.
final class RedisListItemOutput: ItemOutput {
    let pool: RedisConnectionPool
    let key: String
    private var pending: [any RESPArgument] = []

    init(pool: RedisConnectionPool, key: String) {
        self.pool = pool
        self.key = key
    }

    func write(_ item: JSONObject) async throws {
        pending.append(JSONValue.object(item).serialized())
        if pending.count >= 500 { try await flush() }
    }

    private func flush() async throws {
        guard !pending.isEmpty else { return }
        do {
            _ = try await pool.rpush(key, pending)
        } catch {
            throw JobOutputError(description: "cannot append to Redis list \(key): \(error)")
        }
        pending.removeAll(keepingCapacity: true)
    }

    func finish() async throws { try await flush() }
}
