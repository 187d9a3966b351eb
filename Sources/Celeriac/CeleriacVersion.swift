import RESP

/// The version of Celeriac.
public enum CeleriacVersion {
    /// The release number, e.g. `0.1.0`.
    public static let number = "0.1.0"

    /// The line `--version` prints for an executable, e.g. `celeriac-worker 0.1.0 (hiredis 0.14.1)`.
    public static func line(for executable: String) -> String {
        "\(executable) \(number) (hiredis \(RESPLibrary.hiredisVersion))"
    }
}
