import Celeriac
import Foundation

/// `celeriac-bench codec`: the CPU cost of the message layer alone, no Redis: building a task
/// message as `send` does, encoding it to the envelope bytes, and decoding an envelope as the
/// worker does. Encoding is measured on one message again and again (all in cache) and on as many
/// distinct messages built beforehand, as `sendMany` gets them. Each figure is the median of
/// `rounds` runs over `messages` messages.
struct CodecBenchmark {
    var messages = 100_000
    var rounds = 9

    struct Row {
        let name: String
        let perSecond: Double
    }

    func run() -> [Row] {
        let origin = "gen1234@bench"
        let replyTo = CeleryID.random()
        let sample = TaskMessage(task: "celeriac.examples.noop", origin: origin, replyTo: replyTo)
        let envelope = sample.encoded()
        var build: [Double] = []
        var encode: [Double] = []
        var decode: [Double] = []
        var encodeDistinct: [Double] = []
        var sink = 0
        // As `sendMany` gets them: built beforehand, each its own set of objects in memory.
        let distinct = (0..<messages).map { _ in TaskMessage(task: "celeriac.examples.noop", origin: origin, replyTo: replyTo) }
        var output: [UInt8] = []
        for _ in 0..<rounds {
            var start = ContinuousClock.now
            for index in 0..<messages {
                let message = TaskMessage(
                    task: "celeriac.examples.noop", args: index & 1 == 0 ? [] : [.integer(index)], origin: origin,
                    replyTo: replyTo)
                sink &+= message.headers.count
            }
            build.append(Double(messages) / (ContinuousClock.now - start).seconds)
            start = ContinuousClock.now
            for _ in 0..<messages { sink &+= sample.encoded().count }
            encode.append(Double(messages) / (ContinuousClock.now - start).seconds)
            start = ContinuousClock.now
            for message in distinct {
                output.removeAll(keepingCapacity: true)
                message.encode(into: &output)
                sink &+= output.count
            }
            encodeDistinct.append(Double(messages) / (ContinuousClock.now - start).seconds)
            start = ContinuousClock.now
            for _ in 0..<messages { sink &+= (try? TaskMessage(decoding: envelope))?.args.count ?? 0 }
            decode.append(Double(messages) / (ContinuousClock.now - start).seconds)
        }
        if sink == 42 { print("") }  // keeps the work observable
        return [
            Row(name: "build a no-op task message", perSecond: median(build)),
            Row(name: "encode it to envelope bytes", perSecond: median(encode)),
            Row(name: "encode distinct messages built beforehand", perSecond: median(encodeDistinct)),
            Row(name: "decode an envelope (worker)", perSecond: median(decode)),
        ]
    }
}
