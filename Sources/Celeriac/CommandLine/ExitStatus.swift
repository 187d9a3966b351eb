import Foundation

/// Exit statuses shared by the Celeriac executables.
public enum ExitStatus {
    /// Success.
    public static let success: Int32 = 0
    /// The operation failed (Redis unreachable, a task failed, ...).
    public static let failure: Int32 = 1
    /// The command line was wrong.
    public static let usage: Int32 = 2
}

/// Writing to the terminal from the executables.
public enum StandardStreams {
    /// Writes a line to standard output.
    public static func printLine(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes text to standard output as it is (no newline added).
    public static func print(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes `program: message` to standard error, control characters escaped (messages quote
    /// server errors and stored values; see ``TerminalText``).
    public static func printError(_ message: String, program: String) {
        FileHandle.standardError.write(Data("\(program): \(TerminalText.safe(message, keepNewlines: true))\n".utf8))
    }
}
