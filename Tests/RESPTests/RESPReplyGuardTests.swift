@testable import RESP
import Testing

/// The reply guard, fed bytes in every split: limits hold however the bytes arrive.
@Suite struct RESPReplyGuardTests {
    private func scan(_ text: String, limits: RESPReplyLimits = .standard, chunk: Int) -> RESPReplyGuard.Violation? {
        var replyGuard = RESPReplyGuard(limits: limits)
        let bytes = Array(text.utf8)
        do {
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                try bytes[start..<min(start + chunk, bytes.count)].withUnsafeBytes { try replyGuard.scan($0) }
            }
            return nil
        } catch let violation as RESPReplyGuard.Violation {
            return violation
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test(arguments: [1, 2, 3, 7, 1000]) func realRepliesPass(chunk: Int) {
        let replies = "+OK\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*0\r\n*-1\r\n*2\r\n$3\r\nfoo\r\n*2\r\n:1\r\n$0\r\n\r\n-ERR no\r\n"
        #expect(scan(String(repeating: replies, count: 3), limits: RESPReplyLimits(maximumElements: 4, maximumDepth: 2), chunk: chunk) == nil)
    }

    @Test(arguments: [1, 5, 1000]) func limitsAreKept(chunk: Int) {
        #expect(scan("$2000\r\n", limits: RESPReplyLimits(maximumBulkLength: 1999), chunk: chunk) != nil)
        #expect(scan("*3\r\n:1\r\n*3\r\n", limits: RESPReplyLimits(maximumElements: 5), chunk: chunk) != nil)
        #expect(scan("*1\r\n*1\r\n*1\r\n", limits: RESPReplyLimits(maximumDepth: 2), chunk: chunk) != nil)
        #expect(scan("+" + String(repeating: "x", count: 100) + "\r\n", limits: RESPReplyLimits(maximumLineLength: 50), chunk: chunk) != nil)
        #expect(scan("*99999999999999999999999\r\n", chunk: chunk) != nil)  // hiredis would wrap it around
        #expect(scan("*9223372036854775807\r\n", chunk: chunk) != nil)
    }

    /// Element counts start again with each top-level reply.
    @Test func countsArePerReply() {
        let reply = "*3\r\n:1\r\n:2\r\n:3\r\n"
        #expect(scan(String(repeating: reply, count: 10), limits: RESPReplyLimits(maximumElements: 3), chunk: 4) == nil)
    }

    /// Found by the fuzzer: a bare CR made this scan end a status line where hiredis does not,
    /// so the scan took `*2147483647` for bulk payload while hiredis reserved 16 GiB for it.
    @Test(arguments: [1, 3, 1000]) func lineEndsOnlyAtCRLF(chunk: Int) {
        #expect(scan("+abc\r\u{8}$11\r\n*2147483647\r\n$0\r\n\r\n", chunk: chunk) != nil)
        #expect(scan("+a\rb\r\n", chunk: chunk) != nil)
    }

    /// Lengths hiredis would read differently (a sign, text, a bare CR, below -1) are refused.
    @Test(arguments: [1, 1000]) func lengthsAreStrict(chunk: Int) {
        for header in ["$+5", "$5x", "$", "*-2", "$-0x", "*+1", "$1 "] {
            #expect(scan(header + "\r\n", chunk: chunk) != nil, "\(header)")
        }
        #expect(scan("$-1\r\n*-1\r\n$0\r\n\r\n", chunk: chunk) == nil)
    }
}
