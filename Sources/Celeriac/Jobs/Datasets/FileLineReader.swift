import Foundation

/// Reads the lines of one byte range of a file, in 1 MiB chunks.
///
/// A partition `[start, end)` owns the lines that **begin** inside it: unless `start` is 0 the
/// reader skips to the first line start at or after `start`, and it finishes the line that crosses
/// `end`. So even byte splits of a file cover every line exactly once, and no worker reads more
/// than its range plus one line.
struct FileLineReader {
    static let chunkSize = 1 << 20
    /// A longer line is reported as malformed and skipped (memory stays bounded).
    static let maximumLineLength = 16 << 20

    private let handle: FileHandle
    let start: Int
    let end: Int
    /// The bytes read and not yet dropped; ``nextLine()``'s ranges index it until the next call.
    private(set) var buffer: [UInt8] = []
    private var cursor = 0
    /// The file offset of `buffer[0]`.
    private var bufferOffset: Int
    private var atEOF = false
    private var finished = false
    /// The file offset of the next line.
    var lineOffset: Int { bufferOffset + cursor }

    /// Opens `path` for the range.
    /// - Throws: ``JobError`` `datasetUnavailable` when the file cannot be opened or read.
    init(path: String, start: Int, end: Int) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw JobError(.datasetUnavailable, "cannot open \(path): no such file or no permission")
        }
        self.handle = handle
        self.start = start
        self.end = end
        self.bufferOffset = max(start - 1, 0)
        do {
            try handle.seek(toOffset: UInt64(bufferOffset))
        } catch {
            throw JobError(.datasetUnavailable, "cannot seek \(path) to \(bufferOffset): \(error)")
        }
        if start > 0 {
            // The byte before `start` decides: a newline there means a line begins at `start`.
            _ = try nextLine()
        }
    }

    /// The next line's bytes (without `\n` or `\r\n`), `nil` past the range; an over-long line
    /// comes back empty with `tooLong` set.
    mutating func nextLine() throws -> (bytes: ArraySlice<UInt8>, tooLong: Bool)? {
        guard let (range, tooLong) = try nextLineRange() else { return nil }
        return (buffer[range], tooLong)
    }

    /// The next line as a range of ``buffer`` (valid until the next call); see ``nextLine()``.
    mutating func nextLineRange() throws -> (range: Range<Int>, tooLong: Bool)? {
        guard !finished else { return nil }
        if lineOffset >= end {
            finished = true
            return nil
        }
        var searchFrom = cursor
        var tooLong = false
        while true {
            if let newline = buffer[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = cursor..<newline
                cursor = newline + 1
                return (tooLong ? cursor..<cursor : trimmingCarriageReturn(line), tooLong)
            }
            if atEOF {
                guard cursor < buffer.count else {
                    finished = true
                    return nil
                }
                let line = cursor..<buffer.count
                cursor = buffer.count
                return (tooLong ? cursor..<cursor : trimmingCarriageReturn(line), tooLong)
            }
            if buffer.count - cursor > Self.maximumLineLength {
                // Drop what is buffered of this line and go on looking for its end.
                tooLong = true
                bufferOffset += buffer.count
                buffer.removeAll(keepingCapacity: true)
                cursor = 0
            }
            searchFrom = buffer.count - cursor
            try refill()
            searchFrom += cursor
        }
    }

    /// Drops consumed bytes and reads the next chunk.
    private mutating func refill() throws {
        if cursor > 0 {
            bufferOffset += cursor
            buffer.removeFirst(cursor)
            cursor = 0
        }
        let data: Data?
        do {
            data = try handle.read(upToCount: Self.chunkSize)
        } catch {
            throw JobError(.datasetUnavailable, "cannot read at offset \(bufferOffset + buffer.count): \(error)")
        }
        guard let data, !data.isEmpty else {
            atEOF = true
            return
        }
        buffer.append(contentsOf: data)
    }

    private func trimmingCarriageReturn(_ line: Range<Int>) -> Range<Int> {
        !line.isEmpty && buffer[line.upperBound - 1] == UInt8(ascii: "\r") ? line.lowerBound..<(line.upperBound - 1) : line
    }

    func close() {
        try? handle.close()
    }
}
