import CHiredis

/// Facts about the client library itself.
public enum RESPLibrary {
    /// The version of the hiredis library the client was built against, e.g. `0.14.1`.
    public static let hiredisVersion = "\(HIREDIS_MAJOR).\(HIREDIS_MINOR).\(HIREDIS_PATCH)"
}
