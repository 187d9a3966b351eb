import Foundation

/// Draws a job's progress: a redrawn line with a bar on a terminal, a plain line at most every
/// two seconds elsewhere (logs stay readable), or nothing (`--json`).
final class JobProgressDisplay {
    private let quiet: Bool
    private let label: String
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    private var lastPlain = ContinuousClock.now - .seconds(10)
    private var drew = false

    init(label: String, quiet: Bool) {
        self.label = label
        self.quiet = quiet
    }

    func show(_ status: JobStatus) {
        guard !quiet else { return }
        let line = Self.line(label: label, status, width: isTerminal ? 30 : 0)
        if isTerminal {
            StandardStreams.print("\r\u{1B}[2K" + line + (status.state.isFinished ? "\n" : ""))
            drew = !status.state.isFinished
        } else if status.state.isFinished || ContinuousClock.now - lastPlain >= .seconds(2) {
            StandardStreams.printLine(line)
            lastPlain = ContinuousClock.now
        }
    }

    func finish() {
        if drew { StandardStreams.print("\n") }
        drew = false
    }

    /// `validation [##########..........] 50% 4/8 partitions 500,000/1,000,000 items 412.3k/s ETA 1s running`.
    static func line(label: String, _ status: JobStatus, width: Int) -> String {
        var parts = [label]
        if width > 0 {
            let filled = min(width, max(0, Int((status.fraction * Double(width)).rounded(.down))))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]")
        }
        parts.append("\(Int((status.fraction * 100).rounded(.down)))%")
        parts.append("\(status.partitionsDone)/\(status.partitionsTotal) partitions")
        parts.append("\(grouped(status.itemsProcessed))/\(grouped(status.itemsTotal)) items")
        parts.append(rate(status.itemsPerSecond))
        if let eta = status.eta, eta.isFinite, eta < 1e12 { parts.append("ETA \(Int(eta.rounded(.up)))s") }
        if status.failedItems > 0 { parts.append("\(grouped(status.failedItems)) failed") }
        if status.partitionsFailed > 0 { parts.append("\(status.partitionsFailed) partitions failed") }
        parts.append(status.state.rawValue)
        return parts.joined(separator: " ")
    }

    /// `1,234,567`.
    static func grouped(_ number: Int) -> String {
        let digits = String(number.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (number < 0 ? "-" : "") + out
    }

    /// `412.3k items/s`.
    static func rate(_ perSecond: Double) -> String {
        guard perSecond.isFinite, perSecond > 0 else { return "0 items/s" }
        if perSecond >= 1_000_000 { return String(format: "%.2fM items/s", perSecond / 1_000_000) }
        if perSecond >= 1000 { return String(format: "%.1fk items/s", perSecond / 1000) }
        return String(format: "%.0f items/s", perSecond)
    }
}

extension JSONValue {
    /// The value as indented JSON, keys in their order.
    func prettyPrinted(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .array(let values) where !values.isEmpty:
            return "[\n" + values.map { inner + $0.prettyPrinted(indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let object) where !object.isEmpty:
            return "{\n"
                + object.map { inner + JSONValue.string($0.key).serializedString + ": " + $0.value.prettyPrinted(indent: inner) }
                .joined(separator: ",\n") + "\n\(indent)}"
        default:
            return serializedString
        }
    }
}
